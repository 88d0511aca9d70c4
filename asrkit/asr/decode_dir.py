"""Decode an exp dir on a data dir, write what it said as a decode dir, and merge the decode dirs of parallel jobs.

Input: DATA/feats.scp when the fbank stage ran (refused when DATA/fbank.yaml differs from EXP/fbank.yaml), else
fbank computed now from DATA/wav.scp with EXP/fbank.yaml; a lip-reading model (`frontend: video_roi`) reads
DATA/roi.scp (refused when DATA/roi.yaml differs from EXP/roi.yaml). Job J of N decodes the J-th contiguous share
of the sorted utterance ids (asrkit/data/features.py job_share), as the fbank jobs split them.

A decode dir holds Kaldi-style tables, sorted by utterance id (LC_ALL=C):
    text         uttid transcript (the 1-best; an empty transcript is the bare uttid)
    token        uttid tokens of the 1-best, space-separated, as tokens.txt spells them
    score        uttid beam search score of the 1-best
    confidence   uttid utterance confidence in [0, 1] (asrkit/asr/recognize.py says how it is computed)
    ctm          one line per 1-best token, NIST CTM with the utterance as the file and the model's tokens as words:
                 `uttid 1 start duration token confidence` (seconds from the utterance start, token confidence)
    <k>best_recog/{text,token,score}   the k-th best hypothesis for k = 2..nbest (absent for an utterance with
                 fewer hypotheses; the files exist even when empty, so every job writes the same set)
`text` is written last, so its presence marks a finished decode. A job of `asrkit decode --nj N --job J` writes its
decode dir to DIR/logdir/output.J; merge_decode_jobs gathers every table of every job into DIR.
"""

import shutil
from pathlib import Path

from asrkit.asr.batching import FeatureSet
from asrkit.asr.decoding import DecodeConfig
from asrkit.asr.recognize import Recognition, Recognizer
from asrkit.data.datadir import write_table
from asrkit.errors import AsrkitError
from asrkit.expdir import feature_kind, read_config
from asrkit.fileio import atomic_write

FINISHED_MARK = "text"  # the table written last


def decode_data_dir(exp_dir: Path, data_dir: Path, config: DecodeConfig | None = None, model_file: str | None = None,
                    nj: int = 1, job: int = 1) -> dict[str, Recognition]:
    """Decode job J of N's share of DATA with the model of EXP (its model_file, default valid.acc.ave.pth)."""
    recognizer = Recognizer.from_exp_dir(exp_dir, config, model_file)
    kind = feature_kind(read_config(exp_dir, "asr"))
    data, utts = FeatureSet.for_model(data_dir, Path(exp_dir) / kind.config, nj, job, kind)
    return recognizer.recognize_set(data, utts)


def write_decode_dir(results: dict[str, Recognition], out_dir: Path, nbest: int = 1):
    """The decode dir tables of the module docstring; nbest: how many k-best dirs to write (the decode config's)."""
    out_dir = Path(out_dir)
    (out_dir / "text").unlink(missing_ok=True)  # unfinished until the 1-best is written again
    for stale in out_dir.glob("*best_recog"):  # k-best dirs of an earlier run with a larger nbest
        if int(stale.name.removesuffix("best_recog")) > nbest:
            shutil.rmtree(stale)
    for k in range(nbest - 1, -1, -1):  # the 1-best last: its `text` marks the decode finished
        k_dir = out_dir if k == 0 else out_dir / f"{k + 1}best_recog"
        kth = {utt: r.nbest[k] for utt, r in results.items() if len(r.nbest) > k}
        write_table(k_dir / "token", {u: " ".join(h.tokens) for u, h in kth.items()})
        write_table(k_dir / "score", {u: f"{h.score:.4f}" for u, h in kth.items()})
        if k == 0:
            write_table(out_dir / "confidence", {u: f"{r.confidence:.4f}" for u, r in results.items()})
            _write_ctm(out_dir / "ctm", results)
        write_table(k_dir / "text", {u: h.text for u, h in kth.items()})


def _write_ctm(path: Path, results: dict[str, Recognition]):
    with atomic_write(path) as f:
        for utt in sorted(results):
            for t in results[utt].token_times:
                f.write(f"{utt} 1 {t.start:.3f} {t.end - t.start:.3f} {t.token} {t.confidence:.4f}\n")


def decode_and_score(exp_dir: Path, data_dir: Path, out_dir: Path, decode_config: Path | None = None) -> dict:
    """Decode DATA with EXP (decode_config, a YAML, or the defaults) into decode dir OUT and score it against
    DATA/text as `asrkit score` does; returns the WER summary."""
    from asrkit.asr.decoding import load_decode_config
    from asrkit.scoring import score_decode_dir

    config = load_decode_config(decode_config) if decode_config else DecodeConfig()
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    write_decode_dir(decode_data_dir(Path(exp_dir), data_dir, config), out_dir, config.nbest)
    return score_decode_dir(data_dir / "text", out_dir / "text", out_dir, data_dir / "utt2spk")


def merge_decode_jobs(decode_dir: Path, nj: int) -> int:
    """Gather every table of DIR/logdir/output.{1..N} (k-best dirs included) into DIR; returns the utterance count.

    A job without its `text` did not finish, and a job lacking a table another job wrote is incomplete: both are
    errors naming the job, and nothing is written then.
    """
    decode_dir = Path(decode_dir)
    jobs = [decode_dir / "logdir" / f"output.{job}" for job in range(1, nj + 1)]
    for job, job_dir in enumerate(jobs, 1):
        if not (job_dir / FINISHED_MARK).is_file():
            raise AsrkitError(f"{job_dir / FINISHED_MARK}: missing; decode job {job} of {nj} did not finish")
    names = _tables(jobs[0])
    for job, job_dir in enumerate(jobs, 1):
        differ = names ^ _tables(job_dir)
        if differ:
            raise AsrkitError(f"{job_dir}: decode job {job} of {nj} and job 1 differ in {', '.join(sorted(differ))}; "
                              f"re-run the decode jobs with one config")
    for name in sorted(names - {FINISHED_MARK}) + [FINISHED_MARK]:
        lines = [line for job_dir in jobs for line in (job_dir / name).read_text(encoding="utf-8").splitlines()]
        # Stable by utterance id: a ctm's tokens stay in time order (one job wrote all of an utterance's lines).
        lines.sort(key=lambda line: line.split(maxsplit=1)[0])
        with atomic_write(decode_dir / name) as f:
            f.writelines(line + "\n" for line in lines)
    return len(lines)


def _tables(job_dir: Path) -> set[str]:
    """Relative paths of a job's tables (hidden files are temp files of a write that never finished)."""
    return {str(p.relative_to(job_dir)) for p in job_dir.rglob("*") if p.is_file() and not p.name.startswith(".")}
