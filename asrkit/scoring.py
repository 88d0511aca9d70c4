"""Score a decode dir the way sclite does (WER and CER), and gather the scores into RESULTS.md.

Layout, as in ESPnet:
    <decode_dir>/score_wer/result.txt     per-speaker table + per-utterance alignments
    <decode_dir>/score_wer/summary.json   the Sum/Avg row, machine readable
    <decode_dir>/score_cer/...            the same over characters (spaces removed)
RESULTS.md also gathers the decoders' internal-LM perplexities, EXP/ilm_ppl/<set>/summary.json (asrkit/asr/ilm.py).

Comparing two decode dirs of the same data dir (`asrkit compare`): a paired bootstrap over utterances (Bisani & Ney
2004). Each resample draws the test set's utterances with replacement, the same draw for both systems, and recomputes
the corpus WER difference B - A (percentage points). Figures:
    diff                 WER(B) - WER(A) on the test set itself
    diff_low, diff_high  the 2.5th and 97.5th percentiles of the resampled differences (95 % interval)
    p_value              two-sided, under no difference: the resampled differences centred on zero, the share at
                         least as far from zero as `diff` ((hits + 1) / (resamples + 1), so never 0; 1 when A = B)
    detectable           the smallest |diff| that would reach p < 0.05 with these two systems on this test set: the
                         95th percentile of the centred |resampled difference| (the interval's half-width under no
                         difference). It grows with how often the systems disagree and shrinks with more words.
"""

import dataclasses
import datetime
import importlib.metadata
import json
import logging
import platform
import re
from itertools import zip_longest
from pathlib import Path

import jiwer
import numpy as np

import asrkit
from asrkit.data.datadir import read_dict
from asrkit.errors import AsrkitError
from asrkit.fileio import atomic_write

log = logging.getLogger(__name__)

# metric -> (jiwer aligner, how a transcript becomes that aligner's input)
METRICS = {
    "wer": (jiwer.process_words, lambda text: " ".join(text.split())),
    "cer": (jiwer.process_characters, lambda text: "".join(text.split())),
}

_OPS = {"equal": "C", "substitute": "S", "delete": "D", "insert": "I"}
ILM_DIR = "ilm_ppl"  # EXP/ilm_ppl/<set>/summary.json: `asrkit ilm-ppl` output


@dataclasses.dataclass
class Counts:
    sentences: int = 0
    sentence_errors: int = 0
    hits: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0

    @property
    def ref_tokens(self):
        return self.hits + self.substitutions + self.deletions

    @property
    def errors(self):
        return self.substitutions + self.deletions + self.insertions

    def __add__(self, other):
        return Counts(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other))))


@dataclasses.dataclass
class Alignment:
    uttid: str
    columns: list[tuple[str | None, str | None, str]]  # (ref token, hyp token, op in CSDI); None is a gap

    def counts(self):
        ops = [op for _, _, op in self.columns]
        return Counts(
            sentences=1,
            sentence_errors=int(any(op != "C" for op in ops)),
            hits=ops.count("C"),
            substitutions=ops.count("S"),
            deletions=ops.count("D"),
            insertions=ops.count("I"),
        )


def score_decode_dir(ref_text: Path, hyp_text: Path, out_dir: Path, utt2spk: Path | None = None) -> dict:
    """Write score_wer/ and score_cer/ under `out_dir`; return the WER summary."""
    # an empty transcript is legitimate on both sides: silence in the reference, nothing decoded in the hypothesis
    refs, hyps = read_dict(ref_text, allow_empty_value=True), read_dict(hyp_text, allow_empty_value=True)
    if not refs:
        raise AsrkitError(f"{ref_text}: no utterances to score against")
    _check_hyp_ids(refs, hyps, hyp_text)
    speakers = _speakers(refs, utt2spk)
    summaries = {}
    for metric in METRICS:
        alignments = align(refs, hyps, metric)
        score_dir = Path(out_dir) / f"score_{metric}"
        with atomic_write(score_dir / "result.txt") as f:
            f.write(format_result(alignments, speakers))
        summaries[metric] = summarize(metric, sum((a.counts() for a in alignments), Counts()))
        with atomic_write(score_dir / "summary.json") as f:
            json.dump(summaries[metric], f, indent=2)
            f.write("\n")
    return summaries["wer"]


@dataclasses.dataclass
class Comparison:
    """Decode dir B against decode dir A on one test set (figures in the module docstring)."""
    utterances: int  # test utterances, each resampled as a unit
    words: int  # reference words
    wer_a: float  # WER of A, percent
    wer_b: float  # WER of B, percent
    diff: float  # WER(B) - WER(A), percentage points
    diff_low: float  # 2.5th percentile of the resampled differences, percentage points
    diff_high: float  # 97.5th percentile, percentage points
    p_value: float  # two-sided p of `diff` under no difference
    detectable: float  # smallest |diff| reaching p < 0.05 for this pair on this set, percentage points
    resamples: int  # bootstrap resamples drawn

    def figures(self) -> list[tuple[str, float, str]]:
        """(name, value, unit) for each figure, one stdout line each."""
        points = ("wer_diff", "wer_diff_low", "wer_diff_high", "detectable_diff")
        values = (self.diff, self.diff_low, self.diff_high, self.detectable)
        return [("utterances", self.utterances, "utts"), ("words", self.words, "words"),
                ("wer_a", round(self.wer_a, 2), "%"), ("wer_b", round(self.wer_b, 2), "%"),
                *((name, round(value, 3), "points") for name, value in zip(points, values)),
                ("p_value", round(self.p_value, 5), "p"), ("resamples", self.resamples, "draws")]


BOOTSTRAP_CHUNK = 500  # resamples drawn at once: bounds the (chunk, utterances) draw-count matrix in memory


def compare_decode_dirs(dir_a: Path, dir_b: Path, data_dir: Path, resamples: int = 10000, seed: int = 0) -> Comparison:
    """Paired bootstrap of B's WER against A's, both decode dirs' `text` scored against DATA/text."""
    ref_text = Path(data_dir) / "text"
    refs = read_dict(ref_text, allow_empty_value=True)
    if not refs:
        raise AsrkitError(f"{ref_text}: no utterances to score against")
    errors = []
    for decode_dir in (dir_a, dir_b):
        hyp_text = Path(decode_dir) / "text"
        hyps = read_dict(hyp_text, allow_empty_value=True)
        _check_hyp_ids(refs, hyps, hyp_text)
        counts = [a.counts() for a in align(refs, hyps, "wer")]
        errors.append(np.array([c.errors for c in counts]))
        words = np.array([c.ref_tokens for c in counts])  # the reference's: the same for A and B
    if not words.sum():
        raise AsrkitError(f"{ref_text}: no reference words, so no WER to compare")
    return paired_bootstrap(errors[0], errors[1], words, resamples, seed)


def paired_bootstrap(errors_a: np.ndarray, errors_b: np.ndarray, words: np.ndarray, resamples: int = 10000,
                     seed: int = 0) -> Comparison:
    """Per-utterance word errors of A and B and reference words (same utterance order) -> the comparison."""
    total = int(words.sum())
    diff = 100 * float(errors_b.sum() - errors_a.sum()) / total
    rng, n = np.random.default_rng(seed), len(words)
    per_utt = np.stack([errors_b - errors_a, words]).T  # (n, 2): error difference and words of each utterance
    diffs = []
    for start in range(0, resamples, BOOTSTRAP_CHUNK):
        # how often each utterance is drawn in each resample: the same draw for A and B is what pairs them
        draws = rng.multinomial(n, np.full(n, 1 / n), size=min(BOOTSTRAP_CHUNK, resamples - start))
        delta, resampled_words = (draws @ per_utt).T
        diffs.append(100 * delta / np.maximum(resampled_words, 1))
    diffs = np.concatenate(diffs)
    # centred on zero, the resampled differences are the test set's spread of differences under no difference
    centred = np.abs(diffs - diff)
    hits = np.count_nonzero(centred >= abs(diff) - 1e-9)  # tolerance: A = B gives 0 >= 0 exactly, floats aside
    low, high = np.percentile(diffs, [2.5, 97.5])
    return Comparison(utterances=n, words=total, wer_a=100 * float(errors_a.sum()) / total,
                      wer_b=100 * float(errors_b.sum()) / total, diff=diff, diff_low=float(low),
                      diff_high=float(high), p_value=float(hits + 1) / (resamples + 1),
                      detectable=float(np.percentile(centred, 95)), resamples=resamples)


def align(refs: dict[str, str], hyps: dict[str, str], metric: str) -> list[Alignment]:
    """Levenshtein-align every reference utterance over words ("wer") or non-space characters ("cer")."""
    process, prepare = METRICS[metric]
    out = process([prepare(text) for text in refs.values()], [prepare(hyps.get(uttid, "")) for uttid in refs])
    alignments = []
    for uttid, ref_tokens, hyp_tokens, chunks in zip(refs, out.references, out.hypotheses, out.alignments):
        columns = []
        for chunk in chunks:
            chunk_refs = ref_tokens[chunk.ref_start_idx : chunk.ref_end_idx]
            chunk_hyps = hyp_tokens[chunk.hyp_start_idx : chunk.hyp_end_idx]
            columns += [(r, h, _OPS[chunk.type]) for r, h in zip_longest(chunk_refs, chunk_hyps)]
        alignments.append(Alignment(uttid, columns))
    return alignments


def summarize(metric: str, counts: Counts) -> dict:
    """Rates in percent (2 decimals) plus the raw counts they come from."""
    def rate(part, whole):
        return round(_percent(part, whole), 2)

    summary = {
        metric: rate(counts.errors, counts.ref_tokens),
        "n_sent": counts.sentences,
        "n_words": counts.ref_tokens,  # reference tokens: words for WER, characters for CER
        "corr": rate(counts.hits, counts.ref_tokens),
        "sub": rate(counts.substitutions, counts.ref_tokens),
        "del": rate(counts.deletions, counts.ref_tokens),
        "ins": rate(counts.insertions, counts.ref_tokens),
        "sent_err": rate(counts.sentence_errors, counts.sentences),
        "counts": {
            "corr": counts.hits,
            "sub": counts.substitutions,
            "del": counts.deletions,
            "ins": counts.insertions,
            "err": counts.errors,
            "sent_err": counts.sentence_errors,
        },
    }
    if metric == "cer":
        summary["n_chars"] = counts.ref_tokens
    return summary


def format_result(alignments: list[Alignment], speakers: dict[str, str]) -> str:
    """sclite-style report: per-speaker table with a Sum/Avg row, then every utterance's alignment."""
    per_speaker = {}
    for a in alignments:
        spk = speakers[a.uttid]
        per_speaker[spk] = per_speaker.get(spk, Counts()) + a.counts()
    total = sum(per_speaker.values(), Counts())
    width = max(len(spk) for spk in [*per_speaker, "Sum/Avg"])
    header = f"| {'SPKR':<{width}} | {'# Snt':>6} {'# Wrd':>8} | {'Corr':>6} {'Sub':>6} {'Del':>6} {'Ins':>6} {'Err':>6} {'S.Err':>6} |"
    lines = [
        "," + "-" * (len(header) - 2) + ".",
        header,
        "|" + "-" * (len(header) - 2) + "|",
        *(_table_row(spk, counts, width) for spk, counts in sorted(per_speaker.items())),
        "|" + "=" * (len(header) - 2) + "|",
        _table_row("Sum/Avg", total, width),
        "`" + "-" * (len(header) - 2) + "'",
        "",
    ]
    for a in alignments:
        lines += [*_alignment_block(a), ""]
    return "\n".join(lines)


def write_results_md(recipe_dir: Path, exp_root: Path | None = None) -> Path:
    """Gather every exp/<asr_exp>/decode_*[/<test_set>]/score_{wer,cer}/summary.json and
    exp/<asr_exp>/ilm_ppl/<set>/summary.json into RESULTS.md."""
    recipe_dir = Path(recipe_dir)
    exp_root = Path(exp_root) if exp_root is not None else recipe_dir / "exp"
    if not exp_root.is_dir():
        raise AsrkitError(f"{exp_root}: no such directory; run a recipe's stages first (RESULTS.md gathers exp/*/decode_*)")
    found = {exp_dir: (scored_dirs(exp_dir), sorted(exp_dir.glob(f"{ILM_DIR}/*/summary.json")))
             for exp_dir in sorted(exp_root.iterdir()) if exp_dir.is_dir()}
    found = {exp_dir: dirs for exp_dir, dirs in found.items() if any(dirs)}
    if not found:
        raise AsrkitError(f"no decode_*/score_wer/summary.json nor {ILM_DIR}/*/summary.json under {exp_root}/*/")
    lines = ["# RESULTS", "", *_environment(), ""]
    for exp_dir, (scored, ilm_summaries) in found.items():
        lines += [f"## {exp_dir.name}", ""]
        if scored:
            for metric in METRICS:
                lines += [f"### {metric.upper()}", "", *results_table(metric, exp_dir, scored), ""]
        if ilm_summaries:
            lines += ["### ILM perplexity", "", *_ilm_table(ilm_summaries), ""]
    path = recipe_dir / "RESULTS.md"
    with atomic_write(path) as f:
        f.write("\n".join(lines))
    return path


def _check_hyp_ids(refs: dict[str, str], hyps: dict[str, str], hyp_text: Path):
    unknown = [uttid for uttid in hyps if uttid not in refs]
    if unknown:
        raise AsrkitError(f"{hyp_text}: utterance {unknown[0]!r} is not in the reference ({len(unknown)} unknown ids)")
    for uttid in refs:
        if uttid not in hyps:
            log.warning("%s: no hypothesis for %s, scoring it as all deletions", hyp_text, uttid)


def _speakers(refs: dict[str, str], utt2spk: Path | None) -> dict[str, str]:
    """uttid -> speaker, from utt2spk, else the Kaldi uttid prefix, else one speaker "all"."""
    if utt2spk is not None:
        mapping = read_dict(utt2spk)
        missing = [uttid for uttid in refs if uttid not in mapping]
        if missing:
            raise AsrkitError(f"{utt2spk}: no speaker for utterance {missing[0]!r}")
        return {uttid: mapping[uttid] for uttid in refs}
    prefixes = {uttid: re.split(r"[-_]", uttid, maxsplit=1) for uttid in refs}
    # a prefix is only a speaker if every uttid follows the `<spk>-<rest>` convention
    if all(len(parts) == 2 for parts in prefixes.values()):
        return {uttid: parts[0] for uttid, parts in prefixes.items()}
    return {uttid: "all" for uttid in refs}


def _percent(part: int, whole: int) -> float:
    return 100 * part / whole if whole else 0.0


def _table_row(name: str, c: Counts, width: int) -> str:
    n = c.ref_tokens
    rates = [_percent(x, n) for x in (c.hits, c.substitutions, c.deletions, c.insertions, c.errors)]
    rates.append(_percent(c.sentence_errors, c.sentences))
    return f"| {name:<{width}} | {c.sentences:>6} {n:>8} | " + " ".join(f"{r:>6.1f}" for r in rates) + " |"


def _alignment_block(a: Alignment) -> list[str]:
    """sclite/ESPnet: correct tokens in lower case, errors in UPPER case, gaps as ***."""
    c = a.counts()
    ref_cells, hyp_cells, eval_cells = [], [], []
    for ref, hyp, op in a.columns:
        ref, hyp = (_cell(tok, op) for tok in (ref, hyp))
        width = max(len(ref or ""), len(hyp or ""), 3 if None in (ref, hyp) else 0)
        ref_cells.append((ref or "*" * width).ljust(width))
        hyp_cells.append((hyp or "*" * width).ljust(width))
        eval_cells.append(("" if op == "C" else op).ljust(width))
    return [
        f"id: ({a.uttid})",
        f"Scores: (#C #S #D #I) {c.hits} {c.substitutions} {c.deletions} {c.insertions}",
        ("REF:  " + " ".join(ref_cells)).rstrip(),
        ("HYP:  " + " ".join(hyp_cells)).rstrip(),
        ("Eval: " + " ".join(eval_cells)).rstrip(),
    ]


def _cell(token: str | None, op: str) -> str | None:
    if token is None:
        return None
    return token.lower() if op == "C" else token.upper()


def scored_dirs(exp_dir: Path) -> list[Path]:
    """Decode dirs holding score_wer/, either decode_* itself or decode_*/<test_set>."""
    summaries = [*exp_dir.glob("decode_*/score_wer/summary.json"), *exp_dir.glob("decode_*/*/score_wer/summary.json")]
    return sorted(summary.parent.parent for summary in summaries)


def results_table(metric: str, exp_dir: Path, dirs: list[Path]) -> list[str]:
    lines = ["|dataset|Snt|Wrd|Corr|Sub|Del|Ins|Err|S.Err|", "|---|---|---|---|---|---|---|---|---|"]
    for d in dirs:
        summary_json = d / f"score_{metric}" / "summary.json"
        if not summary_json.exists():
            continue
        s = json.loads(summary_json.read_text(encoding="utf-8"))
        rates = "|".join(f"{s[key]:.1f}" for key in ("corr", "sub", "del", "ins", metric, "sent_err"))
        lines.append(f"|{d.relative_to(exp_dir).as_posix()}|{s['n_sent']}|{s['n_words']}|{rates}|")
    return lines


def _ilm_table(summary_files: list[Path]) -> list[str]:
    """One row per text: counts, then the mean and corpus perplexity of the final layer and of each DeCRED head."""
    summaries = [(path.parent.name, json.loads(path.read_text(encoding="utf-8"))) for path in summary_files]
    outputs = list(dict.fromkeys(name for _, s in summaries for name in s["perplexity"]))
    lines = ["|set|Snt|OOV Snt|Tok|" + "".join(f"{name} mean|{name} corpus|" for name in outputs),
             "|---|---|---|---|" + "---|---|" * len(outputs)]
    for name, s in summaries:
        ppl = s["perplexity"]
        cells = "".join(f"{ppl[o]['mean']:.2f}|{ppl[o]['corpus']:.2f}|" if o in ppl else "||" for o in outputs)
        lines.append(f"|{name}|{s['utterances']}|{s['oov_utterances']}|{s['tokens']}|{cells}")
    return lines


def _environment() -> list[str]:
    lines = [
        "## Environments",
        f"- date: `{datetime.datetime.now().astimezone():%a %b %d %H:%M:%S %Z %Y}`",
        f"- python version: `{platform.python_version()}`",
        f"- asrkit version: `{asrkit.__version__}`",
    ]
    # metadata, not import: importing torch takes seconds and may not be installed where results are gathered
    try:
        lines.append(f"- pytorch version: `{importlib.metadata.version('torch')}`")
    except importlib.metadata.PackageNotFoundError:
        pass
    return lines
