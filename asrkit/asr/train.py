"""The one trainer: YAML config in, ESPnet-like exp dir out.

exp/<name>/ holds config.yaml (resolved, `kind: asr`), the token dir's files (tokens.txt, token_type, bpe.model),
cmvn.npz, fbank.yaml (TRAIN_DATA's, as merge-fbank wrote it), checkpoint.pth (the full state after the last finished
epoch), <N>epoch.pth for the n-best epochs by valid accuracy,
valid.acc.ave.pth (their average), train.log and images/{loss,acc}.png.

Every epoch's randomness (batch order, dropout, SpecAug) is seeded from (seed, epoch), so a run resumed
from checkpoint.pth after a kill retraces exactly the epochs an uninterrupted run would have made.
Under torchrun (WORLD_SIZE > 1), or as one rank per `srun` task (SLURM_NTASKS > 1), the same command trains with
DDP: gloo on CPU, nccl on GPU.
"""

import logging
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import yaml
from espnet2.schedulers.warmup_lr import WarmupLR

from asrkit.asr.batching import FeatureSet, bucket_batches, epoch_order
from asrkit.asr.model import ASRModel
from asrkit.config import load_config
from asrkit.data.datadir import DATA_FBANK_CONFIG, DataDirError
from asrkit.data.features import check_features_fit
from asrkit.data.tokens import copy_token_dir
from asrkit.errors import AsrkitError
from asrkit.expdir import build_asr
from asrkit.fileio import atomic_path, atomic_write, copy_file
from asrkit.plots import plot_history
from asrkit.progress import make_progress

log = logging.getLogger("asrkit.train")


@dataclass
class TrainConfig:
    model: dict
    kind: str = "asr"  # what the exp dir holds, for the exp-dir loader (asrkit/expdir.py)
    seed: int = 0
    max_epoch: int = 20
    batch_frames: int = 20000
    lr: float = 0.002
    weight_decay: float = 1e-6
    warmup_steps: int = 500
    grad_clip: float = 5.0
    keep_nbest: int = 5
    inputs: dict = field(default_factory=dict)  # filled in the exp dir's copy: where the data came from

    @classmethod
    def load(cls, path) -> "TrainConfig":
        return load_config(cls, path, "training")


@dataclass
class Inputs:
    train_data: Path  # data dir with feats.scp, utt2num_frames, text and fbank.yaml (merge-fbank's)
    valid_data: Path  # the same, features made with the same config
    token_dir: Path  # `asrkit tokens` output: tokens.txt, token_type (+ bpe.model)
    cmvn: Path  # global CMVN stats of the training features (compute-cmvn's .npz)


class Distributed:
    """Rank and world size from torchrun's environment variables, or from Slurm's for one rank per `srun` task;
    a no-op for one process."""

    def __init__(self):
        if "WORLD_SIZE" not in os.environ and "SLURM_STEP_ID" in os.environ:
            _torchrun_env_from_slurm(os.environ)
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.device = torch.device("cpu")
        if self.world_size > 1:
            backend = "nccl" if torch.cuda.is_available() else "gloo"
            if backend == "nccl":
                self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
                torch.cuda.set_device(self.device)
            dist.init_process_group(backend)
        elif torch.cuda.is_available():
            self.device = torch.device("cuda")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def wrap(self, model):
        if self.world_size == 1:
            return model
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=[self.device] if self.device.type == "cuda" else None)

    def mean(self, values: dict[str, float]) -> dict[str, float]:
        if self.world_size == 1:
            return values
        tensor = torch.tensor(list(values.values()), dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return dict(zip(values, (tensor / self.world_size).tolist()))

    def close(self):
        if self.world_size > 1:
            dist.destroy_process_group()
            # gloo workers sometimes abort in interpreter teardown ("terminate called without an active
            # exception") after a successful run; leave before teardown.
            logging.shutdown()
            os._exit(0)


def _torchrun_env_from_slurm(env):
    """What torchrun would set, for a process that `srun` started as one of SLURM_NTASKS ranks.

    Rank 0 runs on the node srun was launched from (srun's block distribution), so that node is the rendezvous
    address unless MASTER_ADDR says otherwise; the port follows from the job id so that jobs sharing a node differ.
    """
    env.setdefault("WORLD_SIZE", env.get("SLURM_NTASKS", "1"))
    env.setdefault("RANK", env.get("SLURM_PROCID", "0"))
    env.setdefault("LOCAL_RANK", env.get("SLURM_LOCALID", "0"))
    env.setdefault("MASTER_ADDR", env.get("SLURM_LAUNCH_NODE_IPADDR", "127.0.0.1"))
    env.setdefault("MASTER_PORT", str(20000 + int(env.get("SLURM_JOB_ID", "0")) % 20000))


def prepare_exp_dir(exp_dir: Path, config_file: Path, inputs: Inputs) -> TrainConfig:
    """Copy everything decoding needs into the exp dir, so it stands on its own."""
    exp_dir.mkdir(parents=True, exist_ok=True)
    config = TrainConfig.load(config_file)
    copy_token_dir(inputs.token_dir, exp_dir)
    copy_file(inputs.cmvn, exp_dir / "cmvn.npz")
    copy_file(fbank_config_of(inputs), exp_dir / "fbank.yaml")
    resolved = {**config.__dict__, "kind": "asr", "inputs": {k: str(v) for k, v in inputs.__dict__.items()}}
    with atomic_write(exp_dir / "config.yaml") as f:
        yaml.safe_dump(resolved, f, sort_keys=False)
    return config


def fbank_config_of(inputs: Inputs) -> Path:
    """TRAIN_DATA/fbank.yaml (merge-fbank wrote it), checked against VALID_DATA's: a model must not train on features
    decode would not make."""
    fbank_config = Path(inputs.train_data) / DATA_FBANK_CONFIG
    if not fbank_config.is_file():
        raise DataDirError(f"{fbank_config}: missing; run the fbank stage (asrkit merge-fbank writes it)")
    check_features_fit(inputs.valid_data, fbank_config)
    return fbank_config


def init_from(model: ASRModel, model_file: Path):
    """Start from another model's parameters (fine-tuning); DeCRED heads it lacks start fresh."""
    state = torch.load(model_file, map_location="cpu")
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [key for key in missing if not key.startswith("aux_heads.")]
    if missing or unexpected:
        raise AsrkitError(f"{model_file}: does not fit the configured model: "
                         f"missing {missing[:5]}, unexpected {unexpected[:5]}")


def seed_everything(seed: int):
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def train(exp_dir: Path, config_file: Path, inputs: Inputs, resume: bool = False, init: Path | None = None):
    exp_dir = Path(exp_dir)
    dist_env = Distributed()
    config = prepare_exp_dir(exp_dir, config_file, inputs) if dist_env.is_main else None
    if dist_env.world_size > 1:
        dist.barrier()
        config = config or TrainConfig.load(config_file)
    _set_up_logging(exp_dir / "train.log", dist_env.is_main)
    seed_everything(config.seed)
    model, tokenizer = build_asr(exp_dir)
    model = model.to(dist_env.device)
    # fused: one kernel for all parameters instead of a dozen small ops per parameter tensor
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=True)
    scheduler = WarmupLR(optimizer, warmup_steps=config.warmup_steps)
    state = TrainingState()
    checkpoint = exp_dir / "checkpoint.pth"
    if resume and checkpoint.exists():
        state = TrainingState.restore(checkpoint, model, optimizer, scheduler)
        log.info(f"resumed from {checkpoint} after epoch {state.epoch}")
    elif init:
        init_from(model, init)
        log.info(f"initialised from {init}")
    train_set = FeatureSet.from_data_dir(inputs.train_data, tokenizer)
    valid_set = FeatureSet.from_data_dir(inputs.valid_data, tokenizer)
    log.info(f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters; "
             f"{len(train_set)} train / {len(valid_set)} valid utterances; world size {dist_env.world_size}")
    batches = bucket_batches(train_set.num_frames, config.batch_frames)
    ddp_model = dist_env.wrap(model)
    for epoch in range(state.epoch + 1, config.max_epoch + 1):
        seed_everything(config.seed * 1000 + epoch)
        my_batches = epoch_order(batches, config.seed, epoch, dist_env.rank, dist_env.world_size)
        train_stats = _train_epoch(ddp_model, my_batches, train_set, optimizer, scheduler, config, dist_env, epoch)
        valid_stats = dist_env.mean(validate(model, valid_set, config.batch_frames, dist_env.device))
        state.record(epoch, train_stats, valid_stats)
        log.info(f"epoch {epoch}: train {_fmt(train_stats)} | valid {_fmt(valid_stats)}")
        if dist_env.is_main:
            state.save(exp_dir, model, optimizer, scheduler, config.keep_nbest)
            plot_history(state.history, exp_dir / "images")
    if dist_env.is_main:
        average_nbest(exp_dir, state.nbest(config.keep_nbest), exp_dir / "valid.acc.ave.pth")
    dist_env.close()


def _train_epoch(model, batches, data: FeatureSet, optimizer, scheduler, config, dist_env, epoch) -> dict:
    model.train()
    totals, count, start = {"loss": 0.0, "acc": 0.0}, 0, time.time()
    with make_progress() as progress:
        task = progress.add_task(f"epoch {epoch}", total=len(batches), status="")
        for utts in batches:
            feats, feats_lens, ys, ys_lens = (t.to(dist_env.device) for t in data.batch(utts))
            stats = model(feats, feats_lens, ys, ys_lens)
            optimizer.zero_grad()
            stats["loss"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            for key in totals:
                totals[key] += float(stats[key]) * len(utts)
            count += len(utts)
            status = f"loss {totals['loss'] / count:.3f} acc {totals['acc'] / count:.3f} {count / (time.time() - start):.0f} utt/s"
            progress.update(task, advance=1, status=status)
    return dist_env.mean({key: value / max(count, 1) for key, value in totals.items()})


@torch.no_grad()
def validate(model: ASRModel, data: FeatureSet, batch_frames: int, device) -> dict[str, float]:
    model.eval()
    totals, count = {"loss": 0.0, "acc": 0.0}, 0
    for utts in bucket_batches(data.num_frames, batch_frames):
        stats = model(*(t.to(device) for t in data.batch(utts)))
        for key in totals:
            totals[key] += float(stats[key]) * len(utts)
        count += len(utts)
    return {key: value / count for key, value in totals.items()}


class TrainingState:
    """Epochs done and per-epoch statistics; saved with model/optimizer/scheduler in checkpoint.pth."""

    def __init__(self, epoch: int = 0, history: list | None = None):
        self.epoch = epoch
        self.history = history or []

    def record(self, epoch, train_stats, valid_stats):
        self.epoch = epoch
        self.history.append({"epoch": epoch, "train": train_stats, "valid": valid_stats})

    def nbest(self, n: int) -> list[int]:
        ranked = sorted(self.history, key=lambda h: (-h["valid"]["acc"], h["epoch"]))
        return [h["epoch"] for h in ranked[:n]]

    def save(self, exp_dir: Path, model, optimizer, scheduler, keep_nbest: int):
        with atomic_path(exp_dir / f"{self.epoch}epoch.pth") as tmp:
            torch.save(model.state_dict(), tmp)
        with atomic_path(exp_dir / "checkpoint.pth") as tmp:
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "epoch": self.epoch, "history": self.history}, tmp)
        keep = set(self.nbest(keep_nbest))
        for h in self.history:
            if h["epoch"] not in keep:
                (exp_dir / f"{h['epoch']}epoch.pth").unlink(missing_ok=True)

    @classmethod
    def restore(cls, checkpoint: Path, model, optimizer, scheduler) -> "TrainingState":
        saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        return cls(saved["epoch"], saved["history"])


def average_nbest(exp_dir: Path, epochs: list[int], out: Path):
    """Average the parameters of the given epochs' snapshots (ESPnet's valid.acc.ave)."""
    states = [torch.load(exp_dir / f"{e}epoch.pth", map_location="cpu") for e in epochs]
    average = {}
    for key, value in states[0].items():
        stacked = torch.stack([s[key] for s in states])
        average[key] = stacked.float().mean(0).to(value.dtype) if value.is_floating_point() else value
    with atomic_path(out) as tmp:
        torch.save(average, tmp)
    log.info(f"averaged epochs {sorted(epochs)} into {out}")


def _fmt(stats: dict) -> str:
    return " ".join(f"{k} {v:.4f}" for k, v in stats.items())


def _set_up_logging(log_file: Path, is_main: bool):
    handlers = [logging.StreamHandler()]
    if is_main:
        handlers.append(logging.FileHandler(log_file))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", handlers=handlers, force=True)
