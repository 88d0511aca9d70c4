"""Stage 5, summary: one row per round, in ROUND/summary/row.json and, every round so far, in OUT/summary.tsv.

Columns: round, arm; unlabeled, kept, acceptance (kept / unlabeled), kept_confidence (mean confidence of the kept);
synthetic (utterances synthesized), readable (kept by re-recognition), tts_wer (the current model's WER on the
synthetic speech, `asrkit tts eval`'s intelligibility), mix_new, mix_original (fine-tuning utterances); dev_wer (the
fine-tuned model on dev_data, when given; its decode dir is summary/dev); seconds_<stage> (wall time of each stage).
Pseudo-label WER and precision need the hidden labels: recipes add them after the fact (`asrkit refine curve`).
"""

import json
from pathlib import Path

from asrkit.data.datadir import read_dict
from asrkit.fileio import atomic_write
from asrkit.refine.config import RefineConfig

COLUMNS = ("round", "arm", "unlabeled", "kept", "acceptance", "kept_confidence", "synthetic", "readable", "tts_wer",
           "mix_new", "mix_original", "dev_wer", "seconds_labels", "seconds_tts", "seconds_synth", "seconds_finetune")


def summary_stage(config: RefineConfig, round_dir: Path, model: Path, seconds: dict[str, float], stage_dir: Path) -> Path:
    """Write the round's row (module docstring) and refresh OUT/summary.tsv; returns the row's file."""
    labels = round_dir / "labels"
    confidence = {utt: float(c) for utt, c in read_dict(labels / "confidence").items()}
    kept = read_dict(labels / "kept" / "utt2spk")
    row = {"round": int(round_dir.name.removeprefix("round")), "arm": config.arm, "unlabeled": len(confidence),
           "kept": len(kept), "acceptance": round(len(kept) / len(confidence), 4),
           "kept_confidence": round(sum(confidence[u] for u in kept) / len(kept), 4)}
    synth = round_dir / "synth"
    if (synth / "raw" / "text").is_file():
        row |= {"synthetic": len(read_dict(synth / "raw" / "text")), "readable": len(read_dict(synth / "readable" / "text")),
                "tts_wer": _wer(synth / "decode")}
    mix = json.loads((round_dir / "finetune" / "mix.json").read_text())
    row |= {"mix_new": mix["new"], "mix_original": mix["original"]}
    if config.dev_data:  # finetune's copy of it: its features are the model's
        from asrkit.asr.decode_dir import decode_and_score

        row["dev_wer"] = decode_and_score(model, round_dir / "finetune" / "dev", stage_dir / "dev",
                                          config.decode_config)["wer"]
    row |= {f"seconds_{stage}": round(s, 1) for stage, s in seconds.items()}
    with atomic_write(stage_dir / "row.json") as f:
        json.dump(row, f, indent=2)
    write_table_tsv(round_dir.parent)
    return stage_dir / "row.json"


def _wer(decode_dir: Path) -> float:
    return json.loads((decode_dir / "score_wer" / "summary.json").read_text())["wer"]


def write_table_tsv(out_dir: Path) -> Path:
    """OUT/summary.tsv from every OUT/round*/summary/row.json, in round order; a missing value is empty."""
    rows = [json.loads(p.read_text()) for p in Path(out_dir).glob("round*/summary/row.json")]
    rows.sort(key=lambda row: row["round"])
    with atomic_write(Path(out_dir) / "summary.tsv") as f:
        f.write("\t".join(COLUMNS) + "\n")
        for row in rows:
            f.write("\t".join(str(row.get(column, "")) for column in COLUMNS) + "\n")
    return Path(out_dir) / "summary.tsv"
