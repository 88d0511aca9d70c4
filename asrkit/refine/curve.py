"""Confidence against the truth, after the fact: how precise the pseudo-labels are at each acceptance rate.

Reads a labels stage dir (its `confidence` and decode/text) and the hidden true labels, which refine itself never
reads. Utterances sorted by confidence, most confident first (ties by id); accepting the first k gives
    acceptance  k / all
    precision   the fraction of the k whose pseudo-label is exactly the true label
    wer         the WER (%) of the k pseudo-labels
OUT/curve.tsv holds one line per k, OUT/kept.json the same three for the stage's kept set (kept/), and
OUT/precision.png the curve (asrkit/plots.py).
"""

import json
from pathlib import Path

from asrkit.data.datadir import read_dict
from asrkit.fileio import atomic_write
from asrkit.plots import plot_precision_curve
from asrkit.scoring import Counts, align


def curve_points(confidence: dict[str, float], hyps: dict[str, str], refs: dict[str, str]) -> list[dict]:
    """One point per acceptance count k = 1..N (module docstring)."""
    order = sorted(confidence, key=lambda utt: (-confidence[utt], utt))
    counts = {a.uttid: a.counts() for a in align({u: refs[u] for u in order}, hyps, "wer")}
    points, total, right = [], Counts(), 0
    for k, utt in enumerate(order, 1):
        total, right = total + counts[utt], right + (counts[utt].errors == 0)
        points.append({"acceptance": k / len(order), "precision": right / k, "confidence": confidence[utt],
                       "wer": 100 * total.errors / max(1, total.ref_tokens)})
    return points


def kept_point(kept: list[str], hyps: dict[str, str], refs: dict[str, str], total: int) -> dict:
    counts = [a.counts() for a in align({u: refs[u] for u in kept}, hyps, "wer")]
    summed = sum(counts, Counts())
    return {"kept": len(kept), "acceptance": len(kept) / total,
            "precision": sum(c.errors == 0 for c in counts) / max(1, len(kept)),
            "wer": 100 * summed.errors / max(1, summed.ref_tokens)}


def write_curve(labels_dir: Path, ref_text: Path, out_dir: Path) -> Path:
    """curve.tsv, kept.json and precision.png under OUT; returns the tsv."""
    labels_dir, out_dir = Path(labels_dir), Path(out_dir)
    confidence = {utt: float(c) for utt, c in read_dict(labels_dir / "confidence").items()}
    hyps = read_dict(labels_dir / "decode" / "text", allow_empty_value=True)
    refs = read_dict(ref_text)
    points = curve_points(confidence, hyps, refs)
    with atomic_write(out_dir / "curve.tsv") as f:
        f.write("acceptance\tprecision\twer\tconfidence\n")
        f.writelines(f"{p['acceptance']:.4f}\t{p['precision']:.4f}\t{p['wer']:.2f}\t{p['confidence']:.4f}\n" for p in points)
    kept = sorted(read_dict(labels_dir / "kept" / "utt2spk"))
    with atomic_write(out_dir / "kept.json") as f:
        json.dump(kept_point(kept, hyps, refs, len(confidence)), f, indent=2)
    plot_precision_curve(points, out_dir / "precision.png")
    return out_dir / "curve.tsv"
