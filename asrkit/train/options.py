"""The options every training YAML shares: what the one training loop (asrkit/train/loop.py) reads.

Each trainer's config (asr, lm, tts, tle, avsr train; adapt run) is a LoopOptions with its own fields added and, where
its models want them, other defaults (a field redeclared with a new default keeps the meaning written here). Each also
declares `kind` (what its exp dir holds, for asrkit/expdir.py, whose RANKING says which valid figure `keep_nbest` and
`patience` rank by) and `max_epoch` (epochs to train; a resumed run continues up to it).

Every trainer records its resolved options and inputs in EXP/config.yaml (write_exp_config), and first, before it
writes anything into EXP, refuses to let a resumed run (EXP/checkpoint.pth there) continue under other options or
inputs than those it was trained with (check_resumable): only RESUMABLE (and what the trainer names) may change.
"""

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from asrkit.config import changed_values
from asrkit.errors import ConfigError
from asrkit.fileio import atomic_write

# What a resumed run may change: how long it goes on and which snapshots it keeps; anything else would make the
# checkpoints a mix of two runs.
RESUMABLE = ("max_epoch", "patience", "keep_nbest")


@dataclass(kw_only=True)
class LoopOptions:
    seed: int = 0  # seeds initialisation, and with the epoch number each epoch's batch order, dropout and draws
    lr: float = 0.002  # Adam's peak learning rate, reached at the end of the warm-up
    weight_decay: float = 0.0  # Adam's L2 weight decay
    warmup_steps: int = 200  # optimizer steps of espnet2's WarmupLR linear warm-up (then decay as step^-0.5)
    grad_clip: float = 5.0  # cap on the global L2 norm of the gradients of each step
    amp: str = "none"  # mixed precision: bf16 (CPU or CUDA), fp16 (CUDA, with a gradient scaler) or none (fp32)
    accum_grad: int = 1  # batches whose gradients add up to one optimizer step (each loss divided by it)
    keep_nbest: int = 3  # epochs (best by the kind's valid figure) whose snapshots are kept and averaged
    patience: int = 0  # epochs in a row without a better valid figure before stopping early (0: never stop early)
    freeze_param: list = field(default_factory=list)  # parameter-name prefixes left untrained (asrkit/train/params.py)
    init_param: list = field(default_factory=list)  # "src_file:src_key:dst_key:exclude_keys" entries to start from
    save_frozen: bool = True  # false: checkpoints hold only trainable tensors, the frozen ones come from init_param


def check_resumable(exp_dir: Path, resolved: dict, resume: bool, may_change: tuple[str, ...] = ()):
    """With resume and a checkpoint in EXP to continue, every option and input recorded in EXP/config.yaml must equal
    `resolved`'s (the trainer's options, its inputs under `inputs`), RESUMABLE and the trainer's own `may_change`
    aside (dotted names: `decode`, `inputs.cache_dir`): a ConfigError names those that differ. Reads only: a trainer
    calls it before it writes anything into EXP."""
    config_file = Path(exp_dir) / "config.yaml"
    if not (resume and (Path(exp_dir) / "checkpoint.pth").is_file() and config_file.is_file()):
        return
    old = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    new = yaml.safe_load(yaml.safe_dump(resolved))  # as it would be written: tuples become lists
    changed = changed_values(old, new, (*RESUMABLE, *may_change), sections=("inputs",))  # inputs: named by asrkit
    if changed:
        raise ConfigError(f"{exp_dir}: resuming would continue a run trained with other {', '.join(changed)} "
                          f"(see {config_file}); give another exp dir, remove this one, or restore them")


def write_exp_config(exp_dir: Path, resolved: dict):
    """EXP/config.yaml: the resolved options and inputs, as check_resumable reads them back."""
    with atomic_write(Path(exp_dir) / "config.yaml") as f:
        yaml.safe_dump(resolved, f, sort_keys=False)
