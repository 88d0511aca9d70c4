"""The training loop's files in an exp dir, all written atomically:

checkpoint.pth   everything after the last finished epoch: model, optimizer, scheduler, gradient scaler (amp: fp16), epoch, history (per-epoch
                 train/valid stats), and `frozen_from`: None for a full model, else the init_param entries its frozen
                 part comes from (the model then holds only the tensors training changes: `save_frozen: false`)
<N>epoch.pth     the model's state dict after epoch N, kept for the n-best epochs by the kind's ranking stat
<average>        the n-best snapshots averaged (expdir.MODEL_FILES: valid.acc.ave.pth, valid.loss.ave.pth)
"""

import logging
from pathlib import Path

import torch

from asrkit.errors import AsrkitError
from asrkit.fileio import atomic_path

log = logging.getLogger("asrkit.train")


class TrainingState:
    """Epochs done and their statistics, and which epochs are the n best by `rank_by` (a valid stat)."""

    def __init__(self, rank_by: str, higher_better: bool, epoch: int = 0, history: list | None = None):
        self.rank_by = rank_by
        self.higher_better = higher_better
        self.epoch = epoch
        self.history = history or []

    def record(self, epoch, train_stats, valid_stats):
        self.epoch = epoch
        self.history.append({"epoch": epoch, "train": train_stats, "valid": valid_stats})

    def nbest(self, n: int) -> list[int]:
        """The n best epochs by the ranking stat; a tie goes to the later epoch. On a small dev set accuracy ties
        often (3 yesno utterances: epochs 1-3 all at 0.52), and the later epoch has trained longer."""
        sign = -1 if self.higher_better else 1
        ranked = sorted(self.history, key=lambda h: (sign * h["valid"][self.rank_by], -h["epoch"]))
        return [h["epoch"] for h in ranked[:n]]

    def save(self, exp_dir: Path, model_state: dict, optimizer, scheduler, scaler, keep_nbest: int,
             frozen_from: list | None):
        """<epoch>epoch.pth and checkpoint.pth; snapshots of epochs that left the n best are deleted."""
        with atomic_path(exp_dir / f"{self.epoch}epoch.pth") as tmp:
            torch.save(model_state, tmp)
        with atomic_path(exp_dir / "checkpoint.pth") as tmp:
            torch.save({"model": model_state, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                        "scaler": scaler.state_dict(), "epoch": self.epoch, "history": self.history, "frozen_from": frozen_from}, tmp)
        keep = set(self.nbest(keep_nbest))
        for h in self.history:
            if h["epoch"] not in keep:
                (exp_dir / f"{h['epoch']}epoch.pth").unlink(missing_ok=True)

    def restore(self, checkpoint: Path, model, optimizer, scheduler, scaler, frozen_from: list | None,
                frozen_keys: set[str]):
        """Continue from checkpoint.pth: the model, optimizer, scheduler and scaler as they were after its epoch.

        A checkpoint without its frozen part needs that part already loaded (init_param) from the same sources.
        """
        saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
        if saved.get("frozen_from") != frozen_from:
            raise AsrkitError(f"{checkpoint}: saved with frozen part from {saved.get('frozen_from')}, the config now "
                              f"says {frozen_from} (save_frozen, init_param): resume with the config it was saved with")
        missing, unexpected = model.load_state_dict(saved["model"], strict=False)
        absent = set(missing) - (frozen_keys if frozen_from is not None else set())
        if absent or unexpected:
            raise AsrkitError(f"{checkpoint}: does not fit the configured model: missing {sorted(absent)[:5]}, "
                              f"unexpected {unexpected[:5]}")
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        if saved.get("scaler"):  # empty unless amp: fp16; absent from checkpoints older than amp
            scaler.load_state_dict(saved["scaler"])
        self.epoch, self.history = saved["epoch"], saved["history"]


def average_nbest(exp_dir: Path, epochs: list[int], out: Path):
    """Average the parameters of the given epochs' snapshots (ESPnet's valid.acc.ave). A snapshot deleted earlier
    (a run resumed with a larger keep_nbest than it was saved under) is left out with a warning."""
    gone = [e for e in epochs if not (exp_dir / f"{e}epoch.pth").is_file()]
    if gone:
        log.warning(f"{exp_dir}: snapshots of epochs {sorted(gone)} are gone (deleted under a smaller keep_nbest); "
                    "averaging the others")
    epochs = [e for e in epochs if e not in gone]
    if not epochs:
        raise AsrkitError(f"{exp_dir}: no snapshot of the n-best epochs is left to average")
    states = [torch.load(exp_dir / f"{e}epoch.pth", map_location="cpu") for e in epochs]
    average = {}
    for key, value in states[0].items():
        stacked = torch.stack([s[key] for s in states])
        average[key] = stacked.float().mean(0).to(value.dtype) if value.is_floating_point() else value
    with atomic_path(out) as tmp:
        torch.save(average, tmp)
    log.info(f"averaged epochs {sorted(epochs)} into {out}")
