#!/usr/bin/env python3
"""Training speed and memory, asrkit vs espnet2.bin.asr_train: same model, data, batches and optimiser.

    .venv/bin/python bench/train.py [--epochs 3] [--repeats 2] [--max-utts N] [--num-threads 2]

Both train the FSDD recipe's model (without its DeCRED head, which ESPnet lacks) on the recipe's fbank features
(ESPnet reads the same feats.scp as kaldi_ark) with the same global CMVN, Adam + warm-up schedule and batches of at
most `batch_frames` padded frames (ESPnet: numel batches of batch_frames x 80 elements). Each runs as its own
process with --num-threads threads. An epoch's time is the time between consecutive epoch ends in each toolkit's log
(start-up excluded, validation and checkpointing included); the toolkits take turns --repeats times, and each
figure is the median epoch over all of a toolkit's runs, so that a shared VM's drifting speed hits both alike.
Peak RSS is the whole process tree's, sampled, the highest over the runs.
"""

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import yaml
from common import OUT, emit, fsdd_recipe, parser, start

from asrkit.asr.train import TrainConfig
from asrkit.data.datadir import read_dict, write_table
from asrkit.interop.espnet import espnet_config_from

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def subset(data_dir: Path, out_dir: Path, max_utts: int) -> Path:
    """The first max_utts utterances of a data dir with features (all when 0)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    utts = sorted(read_dict(data_dir / "feats.scp"))[: max_utts or None]
    for name in ("feats.scp", "utt2num_frames", "text"):
        table = read_dict(data_dir / name, allow_empty_value=True)
        write_table(out_dir / name, {u: table[u] for u in utts})
    shutil.copyfile(data_dir / "fbank.yaml", out_dir / "fbank.yaml")  # train takes the features' config from here
    return out_dir


def tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants (ESPnet's data loader workers included)."""
    children: dict[int, list[int]] = {}
    rss = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * PAGE_KB
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


def run_measured(command: list[str], log: Path, env: dict) -> int:
    """Run a command to completion; returns its process tree's peak RSS in kB."""
    with open(log, "w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        peak = 0
        while process.poll() is None:
            peak = max(peak, tree_rss_kb(process.pid))
            time.sleep(0.2)
    if process.returncode:
        raise RuntimeError(f"{' '.join(command[:4])} ... failed; see {log}")
    return peak


def epoch_seconds(log: Path, pattern: str, stamp_format: str) -> list[float]:
    """Times between consecutive epoch ends, from the log's timestamps."""
    stamps = [datetime.strptime(m.group(1), stamp_format) for m in re.finditer(pattern, log.read_text(), re.MULTILINE)]
    if len(stamps) < 2:
        raise RuntimeError(f"{log}: fewer than two epochs logged; use --epochs 2 or more")
    return [(later - earlier).total_seconds() for earlier, later in zip(stamps, stamps[1:])]


def asrkit_run(config: TrainConfig, train, valid, recipe, out, env):
    conf = out / "asrkit.yaml"
    conf.write_text(yaml.safe_dump({**{k: v for k, v in config.__dict__.items() if k not in ("inputs", "kind")},
                                    "model": {**config.model, "decred": {}}}))
    exp = out / "asrkit_exp"
    shutil.rmtree(exp, ignore_errors=True)
    inputs = config.inputs
    command = [sys.executable, "-m", "asrkit.cli", "train", "--config", str(conf), "--train-data", str(train),
               "--valid-data", str(valid), "--token-dir", str(recipe / inputs["token_dir"]),
               "--cmvn", str(recipe / inputs["cmvn"]),
               "--exp-dir", str(exp)]
    peak = run_measured(command, out / "asrkit.log", env)
    return peak, epoch_seconds(exp / "train.log", r"^(\S+ \S+) INFO epoch \d+:", "%Y-%m-%d %H:%M:%S,%f")


def shape_files(data_dir: Path, out_dir: Path, vocab: int, feat_dim: int) -> tuple[Path, Path]:
    """ESPnet's speech_shape (frames,dim) and text_shape (tokens,vocab) for a data dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = read_dict(data_dir / "utt2num_frames")
    text = read_dict(data_dir / "text", allow_empty_value=True)
    write_table(out_dir / "speech_shape", {u: f"{n},{feat_dim}" for u, n in frames.items()})
    write_table(out_dir / "text_shape", {u: f"{max(1, len(text[u].split()))},{vocab}" for u in frames})
    return out_dir / "speech_shape", out_dir / "text_shape"


def espnet_run(config: TrainConfig, epochs, train, valid, recipe, out, env):
    model_dir = out / "espnet_model"
    model_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(recipe / config.inputs["token_dir"] / "tokens.txt", model_dir / "tokens.txt")
    shutil.copyfile(recipe / config.inputs["cmvn"], model_dir / "feats_stats.npz")
    token_type = (recipe / config.inputs["token_dir"] / "token_type").read_text().strip()
    espnet = {**espnet_config_from(config.model, token_type, model_dir),
              "optim": "adam", "optim_conf": {"lr": config.lr, "weight_decay": config.weight_decay},
              "scheduler": "warmuplr", "scheduler_conf": {"warmup_steps": config.warmup_steps},
              "grad_clip": config.grad_clip, "max_epoch": epochs, "seed": config.seed,
              "batch_type": "numel", "batch_bins": config.batch_frames * config.model.get("input_size", 80),
              "keep_nbest_models": config.keep_nbest, "best_model_criterion": [["valid", "acc", "max"]],
              "use_tensorboard": False, "use_matplotlib": False, "num_att_plot": 0, "ngpu": 0}
    conf = out / "espnet.yaml"
    conf.write_text(yaml.safe_dump(espnet))
    exp = out / "espnet_exp"
    shutil.rmtree(exp, ignore_errors=True)
    vocab, dim = len(espnet["token_list"]), espnet["input_size"]
    command = [sys.executable, "-m", "espnet2.bin.asr_train", "--config", str(conf), "--output_dir", str(exp)]
    for split, data in (("train", train), ("valid", valid)):
        speech_shape, text_shape = shape_files(data, out / "shapes" / split, vocab, dim)
        command += [f"--{split}_data_path_and_name_and_type", f"{data / 'feats.scp'},speech,kaldi_ark",
                    f"--{split}_data_path_and_name_and_type", f"{data / 'text'},text,text",
                    f"--{split}_shape_file", str(speech_shape), f"--{split}_shape_file", str(text_shape)]
    peak = run_measured(command, out / "espnet.log", env)
    return peak, epoch_seconds(out / "espnet.log", r"^\[\S+\] (\S+ \S+) \(trainer:\d+\) INFO: \d+epoch results",
                               "%Y-%m-%d %H:%M:%S,%f")


def main():
    p = parser(__doc__.splitlines()[1])
    p.add_argument("--epochs", type=int, default=3, help="epochs each toolkit trains (at least 2)")
    p.add_argument("--max-utts", type=int, default=0, help="train on the first N utterances only (0: all)")
    p.add_argument("--repeats", type=int, default=2, help="times each toolkit trains, taking turns")
    args = p.parse_args()
    start(args)
    recipe = fsdd_recipe()
    out = OUT / "train"
    config = TrainConfig.load(recipe / "exp" / "asr_train" / "config.yaml")
    config.max_epoch = args.epochs
    train = subset(recipe / config.inputs["train_data"], out / "data" / "train", args.max_utts)
    valid = recipe / config.inputs["valid_data"]
    utts = len(read_dict(train / "utt2num_frames"))
    env = {**os.environ, "OMP_NUM_THREADS": str(args.num_threads)}
    runs = {"asrkit": lambda: asrkit_run(config, train, valid, recipe, out, env),
            "espnet": lambda: espnet_run(config, args.epochs, train, valid, recipe, out, env)}
    peaks, epochs = {name: 0 for name in runs}, {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, run in runs.items():
            peak_kb, epoch_s = run()
            peaks[name] = max(peaks[name], peak_kb)
            epochs[name] += epoch_s
    emit("train.utterances", utts, "utt")
    epoch = {name: statistics.median(seconds) for name, seconds in epochs.items()}
    for name in runs:
        emit(f"train.{name}.epoch", epoch[name], "s")
        emit(f"train.{name}.throughput", utts / epoch[name], "utt/s")
        emit(f"train.{name}.peak_rss", peaks[name] / 1024**2, "GiB")
    emit("train.throughput_ratio", epoch["espnet"] / epoch["asrkit"], "x")
    emit("train.peak_rss_ratio", peaks["asrkit"] / peaks["espnet"], "x")


if __name__ == "__main__":
    main()
