#!/usr/bin/env python3
"""Fbank extraction throughput: `asrkit fbank` over the FSDD training set with --nj 1 and --nj 2.

    .venv/bin/python bench/features.py [--max-utts N] [--nj 1 2]

Each run starts its N jobs at once, as stage 4 of the recipes does, into a fresh feature dir; the wall time covers
the whole stage (process start-up, audio reading and resampling to 16 kHz, fbank, ark/scp writing).
"""

import os
import shutil
import subprocess
import sys
import time

from common import OUT, REPO, emit, fsdd_recipe, parser, start

from asrkit.data.audio import audio_duration
from asrkit.data.datadir import load_data_dir, write_data_dir


def subset(data_dir, out_dir, max_utts: int):
    data = load_data_dir(data_dir)
    utts = data.utt_ids[: max_utts or None]
    write_data_dir(out_dir, {u: data.wav_scp[u] for u in utts}, {u: data.text[u] for u in utts},
                   {u: data.utt2spk[u] for u in utts})
    return out_dir, sum(audio_duration(data.wav_scp[u]) for u in utts), len(utts)


def run_jobs(data_dir, feat_dir, nj: int) -> float:
    shutil.rmtree(feat_dir, ignore_errors=True)
    command = [sys.executable, "-m", "asrkit.cli", "fbank", "--config", str(REPO / "egs" / "fsdd" / "asr1" / "conf" / "fbank.yaml"),
               "--nj", str(nj)]
    begin = time.perf_counter()
    jobs = [subprocess.Popen(command + ["--job", str(j), str(data_dir), str(feat_dir)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"})
            for j in range(1, nj + 1)]
    if any(job.wait() for job in jobs):
        raise RuntimeError(f"asrkit fbank failed: {' '.join(command)}")
    return time.perf_counter() - begin


def main():
    p = parser(__doc__.splitlines()[1])
    p.add_argument("--max-utts", type=int, default=0, help="only the first N utterances (0: all)")
    p.add_argument("--nj", type=int, nargs="+", default=[1, 2])
    args = p.parse_args()
    start(args)
    out = OUT / "features"
    data_dir, audio_s, count = subset(fsdd_recipe() / "data" / "train", out / "data", args.max_utts)
    emit("features.utterances", count, "utt")
    emit("features.audio", audio_s, "s")
    for nj in args.nj:
        wall = run_jobs(data_dir, out / f"fbank_nj{nj}", nj)
        emit(f"features.nj{nj}.wall", wall, "s")
        emit(f"features.nj{nj}.throughput", count / wall, "utt/s")
        emit(f"features.nj{nj}.rtf", wall / audio_s, "")


if __name__ == "__main__":
    main()
