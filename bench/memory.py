#!/usr/bin/env python3
"""Peak memory of an `asrkit train` epoch against corpus size: does the data loader hold every feature in memory?

    .venv/bin/python bench/memory.py [--scales 1 3 10] [--max-utts N] [--num-threads 2]

The corpus is FSDD (all 3000 recordings, fbank computed once) copied `scale` times under new ids (`c<k>-<utt>`),
each copy's features written anew to its own ark, so a scale-10 corpus holds ten times the feature bytes on disk.
For each scale a tiny model trains one epoch as its own `asrkit train` process (validation: FSDD's official test
takes), and the process tree's peak RSS is sampled. A loader that kept every feature matrix would grow by the
feature bytes per scale step; training reads feats.scp per batch (asrkit/asr/batching.py), so it should not.
"""

import os
import shutil
import sys
from pathlib import Path

import kaldiio
import yaml
from common import OUT, emit, parser, start
from train import run_measured

from asrkit.config import save_config
from asrkit.data.datadir import read_dict, write_table
from asrkit.data.features import FbankConfig, compute_cmvn_stats, compute_fbank_job, merge_feature_jobs
from asrkit.data.fsdd import OFFICIAL_TEST_TAKES, read_recordings, write_recordings
from asrkit.data.tokens import build_token_list

FSDD = Path(os.environ.get("FSDD", OUT.parents[2] / "shared" / "data" / "fsdd" / "recordings"))
TINY = {"seed": 0, "max_epoch": 1, "batch_frames": 4000, "warmup_steps": 100, "keep_nbest": 1,
        "model": {"input_size": 80, "encoder": {"output_size": 32, "attention_heads": 2, "num_blocks": 1,
                                                "linear_units": 64, "cgmlp_linear_units": 64, "cgmlp_conv_kernel": 7},
                  "decoder": {"attention_heads": 2, "linear_units": 64, "num_blocks": 1}}}


def base_corpus(root: Path, max_utts: int) -> tuple[Path, Path]:
    """FSDD's training takes (max_utts of them, spread over digits and speakers; 0: all) and a third of the official
    test takes as data dirs with fbank features (computed once)."""
    recordings = read_recordings(FSDD)
    train = [r for r in recordings if r.take not in OFFICIAL_TEST_TAKES]
    test = [r for r in recordings if r.take in OFFICIAL_TEST_TAKES]
    # every k-th recording: the names sort by digit, so a prefix would hold only the first digits
    sets = {"train": train[:: max(1, len(train) // max_utts)][:max_utts] if max_utts else train, "test": test[::3]}
    for name, recs in sets.items():
        data = root / name
        if not (data / "feats.scp").exists():
            write_recordings(data, recs)
            compute_fbank_job(data, root / "fbank", FbankConfig())
            merge_feature_jobs(data, root / "fbank", 1)
    return root / "train", root / "test"


def copies(base: Path, out: Path, scale: int) -> int:
    """`scale` copies of a data dir's features under new ids, written to out/feats.ark; returns its bytes."""
    if not (out / "feats.scp").exists():
        out.mkdir(parents=True, exist_ok=True)
        feats, frames, text = kaldiio.load_scp(str(base / "feats.scp")), read_dict(base / "utt2num_frames"), read_dict(base / "text")
        ids = {f"c{k}-{utt}": utt for k in range(scale) for utt in sorted(feats)}
        with kaldiio.WriteHelper(f"ark,scp:{out / 'feats.ark'},{out / 'feats.scp.tmp'}") as writer:
            for new, utt in ids.items():
                writer(new, feats[utt])
        write_table(out / "utt2num_frames", {new: frames[utt] for new, utt in ids.items()})
        write_table(out / "text", {new: text[utt] for new, utt in ids.items()})
        save_config(FbankConfig(), out / "fbank.yaml")
        (out / "feats.scp.tmp").rename(out / "feats.scp")
    return (out / "feats.ark").stat().st_size


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--scales", type=int, nargs="+", default=[1, 3, 10], help="corpus sizes, in copies of FSDD train")
    p.add_argument("--max-utts", type=int, default=0, help="FSDD training utterances per copy (0: all 2700)")
    args = p.parse_args()
    start(args)
    root = OUT / "memory"
    train, test = base_corpus(root, args.max_utts)
    tokens = build_token_list(train / "text", root / "tokens", "word")
    cmvn = compute_cmvn_stats(train, root / "cmvn.npz")
    (root / "train.yaml").write_text(yaml.safe_dump(TINY))
    env = {**os.environ, "OMP_NUM_THREADS": str(args.num_threads)}
    for scale in args.scales:
        data = root / f"x{scale}"
        feature_bytes = copies(train, data, scale)
        shutil.rmtree(root / f"exp_x{scale}", ignore_errors=True)
        command = [sys.executable, "-m", "asrkit.cli", "train", "--config", str(root / "train.yaml"),
                   "--train-data", str(data), "--valid-data", str(test), "--token-dir", str(tokens.parent),
                   "--cmvn", str(cmvn), "--exp-dir", str(root / f"exp_x{scale}")]
        peak_kb = run_measured(command, root / f"train_x{scale}.log", env)
        emit(f"memory.x{scale}.utterances", len(read_dict(data / "utt2num_frames")), "utt")
        emit(f"memory.x{scale}.feature_bytes", feature_bytes / 2**20, "MiB")
        emit(f"memory.x{scale}.peak_rss", peak_kb / 2**10, "MiB")


if __name__ == "__main__":
    main()
