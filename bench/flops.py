#!/usr/bin/env python3
"""The physical limit for training speed: FLOPs of one forward+backward of an ASR model vs what the CPU does.

    .venv/bin/python bench/flops.py [--steps 10] [--num-threads 2] [--exp EXP] [--batch-frames N]

Counts the FLOPs of one training step (torch.utils.flop_counter) on a typical batch of a training set (by default
the FSDD recipe's; --exp: any `asrkit train` exp dir, its config and the train data it names, e.g. a recipe's
exp/asr_train; a median batch of its buckets of --batch-frames, by default the config's), times the same step (an
untrained model: the speed does not depend on the weights), and times a large float32 matmul as the
CPU's practical peak. `flops.bound` is the utterance rate the model would reach at that peak. Then it profiles the
same steps (torch.profiler) and prints the operators that take the most of a step's time, `flops.op.<name>`.
"""

import time
from pathlib import Path

import torch
from common import emit, fsdd_recipe, parser, start
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from asrkit.asr.batching import FeatureSet, bucket_batches
from asrkit.asr.train import TrainConfig
from asrkit.expdir import build_asr, feature_kind


def training_step(model, batch):
    model.zero_grad()
    model(*batch)["loss"].backward()


def seconds_per_call(fn, repeats: int) -> float:
    fn()  # warm-up: allocator, kernels
    begin = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - begin) / repeats


def top_operators(step, steps: int, count: int = 8) -> list[tuple[str, float]]:
    """The operators with the most self CPU time over `steps` calls of `step`, as (name, % of the total)."""
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(steps):
            step()
    events = profiler.key_averages()
    total = sum(event.self_cpu_time_total for event in events)
    ranked = sorted(events, key=lambda event: -event.self_cpu_time_total)[:count]
    return [(event.key.removeprefix("aten::"), 100 * event.self_cpu_time_total / total) for event in ranked]


def matmul_peak(size: int = 2048, repeats: int = 10) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    return 2 * size**3 / seconds_per_call(lambda: a @ b, repeats)


def main():
    p = parser(__doc__.splitlines()[1])
    p.add_argument("--steps", type=int, default=10, help="training steps timed")
    p.add_argument("--exp", type=Path, help="a trained or training exp dir (default: the FSDD recipe's, trained "
                   "first when absent); its train data is read from the recipe dir two levels up")
    p.add_argument("--batch-frames", type=int, help="padded frames a batch (default: the exp's config)")
    args = p.parse_args()
    start(args)
    exp = (args.exp or fsdd_recipe() / "exp" / "asr_train").absolute()  # not resolved: a linked exp dir's recipe
    config = TrainConfig.load(exp / "config.yaml")
    model, tokenizer = build_asr(exp)
    model.train()
    kind = feature_kind({"model": config.model})  # fbank, or a lip-reading model's ROI features
    data = FeatureSet.from_data_dir(exp.parents[1] / config.inputs["train_data"], tokenizer, kind)
    batch_frames = args.batch_frames or config.batch_frames
    print(f"# {exp}: batch_frames {batch_frames}", flush=True)
    batches = sorted(bucket_batches(data.num_frames, batch_frames), key=len)
    utts = batches[len(batches) // 2]
    batch = data.batch(utts)
    counter = FlopCounterMode(display=False)
    with counter:
        training_step(model, batch)
    flops = counter.get_total_flops()
    step_s = seconds_per_call(lambda: training_step(model, batch), args.steps)
    peak = matmul_peak()
    emit("flops.batch", len(utts), "utt")
    emit("flops.fwd_bwd_per_utt", flops / len(utts) / 1e9, "GFLOP")
    emit("flops.measured_throughput", len(utts) / step_s, "utt/s")
    emit("flops.achieved", flops / step_s / 1e9, "GFLOP/s")
    emit("flops.matmul_peak", peak / 1e9, "GFLOP/s")
    emit("flops.utilisation", 100 * flops / step_s / peak, "%")
    emit("flops.bound", peak / (flops / len(utts)), "utt/s")
    for name, share in top_operators(lambda: training_step(model, batch), args.steps):
        emit(f"flops.op.{name}", share, "%")


if __name__ == "__main__":
    main()
