#!/usr/bin/env python3
"""Mixed precision and gradient accumulation in `asrkit train` on this CPU.

    .venv/bin/python bench/amp.py [--max-utts 200] [--rounds 10] [--batch-utts 32] [--accum-epochs 4] [--num-threads 2]

Data: the FSDD training takes with fbank features, as bench/memory.py prepares them (--max-utts utterances spread
over digits and speakers; validation: a third of the official test takes).

- amp: training steps (forward, backward, Adam) of a small E-Branchformer (2 blocks, 128 dims, about 1 M parameters)
  on one batch of --batch-utts real utterances, in fp32 and under torch.autocast to bfloat16 as the loop runs them
  (`amp: bf16`), the two alternating for --rounds rounds after a warm-up round, in one process, so that a shared
  machine's drifting load hits both alike. Figures: the median step of each, utterances per second, and the speed-up
  (bf16 pays when it is above 1).
- accum_grad: `asrkit train` runs of a tiny model with `batch_frames: 2F` (the large batch), `batch_frames: F,
  accum_grad: 2` (the same update size from half batches) and `batch_frames: F` (the small batch alone, twice the
  optimizer steps, as a yardstick). The figures are the largest relative gaps, over epochs, of the train and of
  the valid loss to the large batch's; accumulation keeps the large batch's curve when its gap is within TOLERANCE and well
  below the small batch's.
"""

import os
import shutil
import statistics
import sys
import time

import yaml
from common import OUT, emit, parser, start
from memory import base_corpus
from train import run_measured

from asrkit.data.datadir import read_dict
from asrkit.data.features import compute_cmvn_stats
from asrkit.data.tokens import build_token_list

# the throughput model, and the tiny one of the accumulation runs
MODEL = {"input_size": 80, "encoder": {"output_size": 128, "attention_heads": 4, "num_blocks": 2, "linear_units": 256,
                                       "cgmlp_linear_units": 256, "cgmlp_conv_kernel": 15},
         "decoder": {"attention_heads": 4, "linear_units": 256, "num_blocks": 1}}
ACCUM_MODEL = {"input_size": 80, "encoder": {"output_size": 32, "attention_heads": 2, "num_blocks": 1, "linear_units": 64,
                                             "cgmlp_linear_units": 64, "cgmlp_conv_kernel": 7},
               "decoder": {"attention_heads": 2, "linear_units": 64, "num_blocks": 1}}
BATCH_FRAMES = 2000  # F: the small batch; the large one is 2F
TOLERANCE = 0.05  # the largest relative loss gap per epoch that still counts as "the same curve"


def train(name: str, options: dict, data: dict, env: dict) -> list[dict]:
    """`asrkit train` with ACCUM_MODEL and `options`; returns its history (per-epoch train and valid stats)."""
    import torch

    root = OUT / "amp"
    conf, exp = root / f"{name}.yaml", root / f"exp_{name}"
    conf.write_text(yaml.safe_dump({"seed": 0, "warmup_steps": 5, "keep_nbest": 1, "model": ACCUM_MODEL, **options}))
    shutil.rmtree(exp, ignore_errors=True)
    command = [sys.executable, "-m", "asrkit.cli", "train", "--config", str(conf), "--train-data", str(data["train"]),
               "--valid-data", str(data["test"]), "--token-dir", str(data["tokens"]), "--cmvn", str(data["cmvn"]),
               "--exp-dir", str(exp)]
    run_measured(command, root / f"{name}.log", env)
    return torch.load(exp / "checkpoint.pth", weights_only=False)["history"]


def step_times(data: dict, rounds: int, batch_utts: int) -> dict[str, list[float]]:
    """Seconds per training step of MODEL in fp32 ("none") and under bf16 autocast, alternating (module doc)."""
    import torch

    from asrkit.asr.batching import FeatureSet
    from asrkit.asr.model import ASRModel, ModelConfig
    from asrkit.data.tokens import Tokenizer

    tokens = Tokenizer.from_dir(data["tokens"])
    features = FeatureSet.from_data_dir(data["train"], tokens)
    batch = features.batch(sorted(features.num_frames)[:batch_utts])
    torch.manual_seed(0)
    model = ASRModel(ModelConfig.from_dict(MODEL), tokens.vocab_size, cmvn_stats=str(data["cmvn"])).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, fused=True)
    times = {"none": [], "bf16": []}
    for round_ in range(rounds + 1):  # round 0 warms both up (oneDNN picks its kernels on first use)
        for amp in times:
            start = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp == "bf16"):
                loss = model(*batch)["loss"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if round_:
                times[amp].append(time.perf_counter() - start)
    return times


def largest_gap(history: list[dict], reference: list[dict], split: str) -> float:
    """The largest relative gap of a split's loss (train: the epoch's running mean; valid: after the epoch) to the
    reference's, over epochs."""
    return max(abs(h[split]["loss"] - r[split]["loss"]) / r[split]["loss"] for h, r in zip(history, reference))


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--max-utts", type=int, default=200, help="FSDD training utterances")
    p.add_argument("--rounds", type=int, default=10, help="alternating fp32/bf16 step pairs timed")
    p.add_argument("--batch-utts", type=int, default=32, help="utterances in the timed batch")
    p.add_argument("--accum-epochs", type=int, default=4, help="epochs of each accumulation run")
    args = p.parse_args()
    start(args)
    train_dir, test_dir = base_corpus(OUT / "amp" / f"corpus{args.max_utts}", args.max_utts)
    data = {"train": train_dir, "test": test_dir, "tokens": build_token_list(train_dir / "text", train_dir / "tokens", "word").parent,
            "cmvn": compute_cmvn_stats(train_dir, train_dir / "cmvn.npz")}
    env = {**os.environ, "OMP_NUM_THREADS": str(args.num_threads)}
    emit("amp.utterances", len(read_dict(train_dir / "utt2num_frames")), "utt")
    times = step_times(data, args.rounds, args.batch_utts)
    for amp, seconds in times.items():
        emit(f"amp.{amp}.step", statistics.median(seconds), "s")
        emit(f"amp.{amp}.throughput", args.batch_utts / statistics.median(seconds), "utt/s")
    emit("amp.bf16_speedup", statistics.median(times["none"]) / statistics.median(times["bf16"]), "x")
    large = train("large", {"max_epoch": args.accum_epochs, "batch_frames": 2 * BATCH_FRAMES}, data, env)
    accumulated = train("accum2", {"max_epoch": args.accum_epochs, "batch_frames": BATCH_FRAMES, "accum_grad": 2}, data, env)
    small = train("small", {"max_epoch": args.accum_epochs, "batch_frames": BATCH_FRAMES}, data, env)
    for name, history in (("large", large), ("accum2", accumulated), ("small", small)):
        print(f"# {name}: train loss {[round(h['train']['loss'], 3) for h in history]} "
              f"valid loss {[round(h['valid']['loss'], 3) for h in history]}")
    for split in ("train", "valid"):
        emit(f"accum.{split}_gap_accum2_to_large", 100 * largest_gap(accumulated, large, split), "%")
        emit(f"accum.{split}_gap_small_to_large", 100 * largest_gap(small, large, split), "%")
    emit("accum.tolerance", 100 * TOLERANCE, "%")


if __name__ == "__main__":
    main()
