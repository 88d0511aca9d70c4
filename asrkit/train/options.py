"""The options every training YAML shares: what the one training loop (asrkit/train/loop.py) reads.

Each trainer's config (asr, lm, tts, tle, avsr train; adapt run) is a LoopOptions with its own fields added and, where
its models want them, other defaults (a field redeclared with a new default keeps the meaning written here). Each also
declares `kind` (what its exp dir holds, for asrkit/expdir.py, whose RANKING says which valid figure `keep_nbest` and
`patience` rank by) and `max_epoch` (epochs to train; a resumed run continues up to it).
"""

from dataclasses import dataclass, field


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
