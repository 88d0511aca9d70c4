"""The one training loop: epochs over batches a model kind hands it, validation, checkpoints, resume, n-best average.

A trainer (asrkit/asr/train.py, asrkit/tts/train.py, ...) builds the model and its batches and calls train_loop with
a step function: step(model, batch) -> {"loss": tensor to minimise, <stat>: number, ...}. A batch is any sized
collection of utterances: its len weighs its stats in the epoch averages. The loop knows nothing else about the model.

The loop, in EXP: applies the config's init_param and freeze_param (asrkit/train/params.py), trains the unfrozen
parameters with Adam and espnet2's WarmupLR, validates after every epoch, writes checkpoint.pth, the n-best
<N>epoch.pth snapshots and their average (asrkit/train/checkpoint.py), train.log's epoch lines and
images/<stat>.png. `amp` runs each step under torch.autocast (bf16, or fp16 with a gradient scaler on CUDA);
`accum_grad` sums the gradients of that many batches (each loss divided by the group's size) into one optimizer and
scheduler step, the last group of an epoch possibly smaller, so no gradient crosses an epoch boundary. Every epoch's
randomness (batch order, dropout, SpecAug) is seeded from (seed, epoch), so a run resumed from checkpoint.pth after a
kill retraces exactly the epochs an uninterrupted run would have made. Under DDP (asrkit/train/distributed.py) every
rank takes its share of each epoch's batches and rank 0 writes the files.
With `patience` > 0 the loop stops early once that many epochs in a row have not beaten the best one by the ranking
stat (a resumed run checks before its first epoch). Its options: asrkit/train/options.py (LoopOptions, which every
trainer's config extends with `kind` and `max_epoch`).
"""

import contextlib
import logging
import random
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from espnet2.schedulers.warmup_lr import WarmupLR

from asrkit.errors import ConfigError
from asrkit.expdir import MODEL_FILES, RANKING
from asrkit.plots import plot_history
from asrkit.progress import make_progress
from asrkit.train.checkpoint import TrainingState, average_nbest
from asrkit.train.distributed import Distributed
from asrkit.train.options import LoopOptions
from asrkit.train.params import Frozen, freeze, init_params

log = logging.getLogger("asrkit.train")


AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "none": None}
Step = Callable[[torch.nn.Module, object], dict]


def train_loop(exp_dir: Path, model: torch.nn.Module, config: LoopOptions, step: Step, train_batches: list,
               valid_batches: list, dist_env: Distributed, origin: Path, resume: bool = False) -> Path:
    """Train `model` (on dist_env.device) as `config` says; returns the averaged model file. `origin` is the
    training YAML, named in errors."""
    if not valid_batches:
        raise ConfigError(f"{origin}: nothing to validate on (no validation utterances)")
    precision = Precision(config, dist_env.device, origin)
    model.to(dist_env.device)
    frozen = _init_and_freeze(model, config, origin)
    trainable = [p for p in model.parameters() if p.requires_grad]
    # fused: one kernel for all parameters instead of a dozen small ops per parameter tensor
    optimizer = torch.optim.Adam(trainable, lr=config.lr, weight_decay=config.weight_decay, fused=True)
    scheduler = WarmupLR(optimizer, warmup_steps=config.warmup_steps)
    state = TrainingState(*RANKING[config.kind])
    frozen_from = None if config.save_frozen else list(config.init_param)
    checkpoint = exp_dir / "checkpoint.pth"
    if resume and checkpoint.exists():
        state.restore(checkpoint, model, optimizer, scheduler, precision.scaler, frozen_from, frozen.keys)
        log.info(f"resumed from {checkpoint} after epoch {state.epoch}")
    log.info(f"{sum(p.numel() for p in trainable) / 1e6:.3f} M of {sum(p.numel() for p in model.parameters()) / 1e6:.3f} "
             f"M parameters train; world size {dist_env.world_size}")
    wrapped = dist_env.wrap(model)
    updater = Updater(optimizer, scheduler, precision, config.grad_clip, config.accum_grad)
    amp_step = precision.wrap(step)
    for epoch in range(state.epoch + 1, config.max_epoch + 1):
        if _stalled(state, config.patience):
            log.info(f"early stop: no better valid {state.rank_by} in the last {config.patience} epochs")
            break
        seed_everything(config.seed * 1000 + epoch)
        batches = epoch_order(train_batches, config.seed, epoch, dist_env.rank, dist_env.world_size)
        wrapped.train()
        frozen.keep_eval(model)
        train_stats = _train_epoch(wrapped, amp_step, batches, updater, epoch, state.rank_by)
        valid_stats = validate(model, amp_step, valid_batches)
        state.record(epoch, dist_env.mean(train_stats), dist_env.mean(valid_stats))
        log.info(f"epoch {epoch}: train {_fmt(state.history[-1]['train'])} | valid {_fmt(state.history[-1]['valid'])}")
        if dist_env.is_main:
            model_state = model.state_dict() if config.save_frozen else frozen.trainable_state(model)
            state.save(exp_dir, model_state, optimizer, scheduler, precision.scaler, config.keep_nbest, frozen_from)
            plot_history(state.history, exp_dir / "images")
    average = exp_dir / MODEL_FILES[config.kind]
    if dist_env.is_main:
        average_nbest(exp_dir, state.nbest(config.keep_nbest), average)
    return average


def _init_and_freeze(model, config: LoopOptions, origin) -> Frozen:
    """init_param, then freeze_param; without save_frozen every frozen tensor must come from init_param."""
    loaded = init_params(model, config.init_param, origin)
    frozen = freeze(model, config.freeze_param, origin)
    if not any(p.requires_grad for p in model.parameters()):
        raise ConfigError(f"{origin}: freeze_param: {config.freeze_param} freezes every parameter; nothing would train")
    unsourced = sorted(frozen.keys - loaded)
    if not config.save_frozen and unsourced:
        raise ConfigError(f"{origin}: save_frozen: false, but {len(unsourced)} frozen tensors come from no init_param "
                          f"source (e.g. {unsourced[0]}): a checkpoint without them could not be resumed")
    return frozen


def _stalled(state: TrainingState, patience: int) -> bool:
    """Early stopping: none of the last `patience` epochs beat the best before them (0: never stop)."""
    if not patience or len(state.history) <= patience:
        return False
    sign = 1 if state.higher_better else -1
    values = [sign * h["valid"][state.rank_by] for h in state.history]
    return max(values[-patience:]) <= max(values[:-patience])


class Precision:
    """config.amp on `device`: the autocast around each step and the gradient scaler (enabled for fp16 only)."""

    def __init__(self, config: LoopOptions, device: torch.device, origin):
        if config.amp not in AMP_DTYPES:
            raise ConfigError(f"{origin}: amp: {config.amp}; choose one of {', '.join(AMP_DTYPES)}")
        if config.amp == "fp16" and device.type != "cuda":
            raise ConfigError(f"{origin}: amp: fp16 needs a CUDA device (this run is on {device.type}); "
                              "use amp: bf16 or none")
        if config.accum_grad < 1:
            raise ConfigError(f"{origin}: accum_grad: {config.accum_grad}; it must be 1 or more")
        self.device, self.dtype = device, AMP_DTYPES[config.amp]
        self.scaler = torch.amp.GradScaler(device.type, enabled=config.amp == "fp16")

    def wrap(self, step: Step) -> Step:
        """`step` under autocast to self.dtype (unchanged for amp: none)."""
        def autocast_step(model, batch):
            with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None):
                return step(model, batch)
        return autocast_step


class Updater:
    """Backward passes and the optimizer/scheduler steps they add up to: one step per `accum_grad` batches."""

    def __init__(self, optimizer, scheduler, precision: Precision, grad_clip: float, accum_grad: int):
        self.optimizer, self.scheduler, self.scaler = optimizer, scheduler, precision.scaler
        self.grad_clip, self.accum_grad = grad_clip, accum_grad

    def backward(self, model, loss: torch.Tensor, index: int, count: int):
        """Batch `index` of `count`: add its gradient; step when its group of accum_grad (or the epoch) ends."""
        stepping = (index + 1) % self.accum_grad == 0 or index + 1 == count
        group_start = index - index % self.accum_grad
        group_size = min(self.accum_grad, count - group_start)  # the epoch's last group may be smaller
        # Under DDP, skip the gradient all-reduce for batches that do not end a group.
        sync = contextlib.nullcontext() if stepping or not hasattr(model, "no_sync") else model.no_sync()
        with sync:
            self.scaler.scale(loss / group_size).backward()
        if stepping:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), self.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.scheduler.step()
            self.optimizer.zero_grad()


def _train_epoch(model, step: Step, batches: list, updater: Updater, epoch: int, shown: str) -> dict:
    totals, count, start = {}, 0, time.time()
    updater.optimizer.zero_grad()
    with make_progress() as progress:
        task = progress.add_task(f"epoch {epoch}", total=len(batches), status="")
        for index, batch in enumerate(batches):
            stats = step(model, batch)
            updater.backward(model, stats["loss"], index, len(batches))
            _accumulate(totals, stats, len(batch))
            count += len(batch)
            status = " ".join(f"{key} {totals[key] / count:.3f}" for key in dict.fromkeys(["loss", shown]) if key in totals)
            progress.update(task, advance=1, status=f"{status} {count / (time.time() - start):.0f} utt/s")
    return {key: value / max(count, 1) for key, value in totals.items()}


@torch.no_grad()
def validate(model: torch.nn.Module, step: Step, batches: list) -> dict[str, float]:
    """Stats of `step` over `batches` in eval mode, averaged over utterances."""
    model.eval()
    totals = {}
    for batch in batches:
        _accumulate(totals, step(model, batch), len(batch))
    count = sum(len(batch) for batch in batches)
    return {key: value / count for key, value in totals.items()}


def _accumulate(totals: dict, stats: dict, weight: int):
    for key, value in stats.items():
        value = value.detach() if torch.is_tensor(value) else value
        totals[key] = totals.get(key, 0.0) + float(value) * weight


def seed_everything(seed: int):
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def epoch_order(batches: list, seed: int, epoch: int, rank: int = 0, world_size: int = 1) -> list:
    """This rank's batches for an epoch: a shuffle fixed by (seed, epoch), so a resumed run sees the same order."""
    if len(batches) < world_size:
        raise ConfigError(f"{len(batches)} batches cannot feed {world_size} ranks: lower batch_frames")
    order = list(batches)
    random.Random(seed * 1000 + epoch).shuffle(order)
    # Every rank must take the same number of steps, or DDP's all-reduce waits forever.
    usable = len(order) - len(order) % world_size
    return order[rank:usable:world_size]


def set_up_logging(log_file: Path, is_main: bool):
    """INFO to stderr on every rank, and to EXP/train.log on rank 0."""
    handlers = [logging.StreamHandler()]
    if is_main:
        handlers.append(logging.FileHandler(log_file))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", handlers=handlers, force=True)


def _fmt(stats: dict) -> str:
    return " ".join(f"{k} {v:.4f}" for k, v in stats.items())
