"""Feature batches for training and decoding: length-sorted buckets capped by total padded frames."""

import random
from pathlib import Path

import kaldiio
import numpy as np
import torch

from asrkit.datadir import DataDirError, read_dict
from asrkit.model import IGNORE_ID


def bucket_batches(num_frames: dict[str, int], batch_frames: int) -> list[list[str]]:
    """Group utterances sorted by length so that (longest utterance x batch size) stays within batch_frames.

    An utterance longer than batch_frames gets a batch of its own rather than being dropped.
    """
    batches, current = [], []
    for utt in sorted(num_frames, key=lambda u: (-num_frames[u], u)):
        longest = num_frames[current[0]] if current else num_frames[utt]
        if current and longest * (len(current) + 1) > batch_frames:
            batches.append(current)
            current = []
        current.append(utt)
    if current:
        batches.append(current)
    return batches


def epoch_order(batches: list, seed: int, epoch: int, rank: int = 0, world_size: int = 1) -> list:
    """This rank's batches for an epoch: a shuffle fixed by (seed, epoch), so a resumed run sees the same order."""
    order = list(batches)
    random.Random(seed * 1000 + epoch).shuffle(order)
    usable = len(order) - len(order) % world_size or len(order)
    return order[rank:usable:world_size]


class FeatureSet:
    """A data dir's features (feats.scp), lengths (utt2num_frames) and, when present, token targets."""

    def __init__(self, data_dir, tokenizer=None):
        data_dir = Path(data_dir)
        for name in ("feats.scp", "utt2num_frames"):
            if not (data_dir / name).exists():
                raise DataDirError(f"{data_dir / name}: missing; run the fbank stage first")
        self.feats = kaldiio.load_scp(str(data_dir / "feats.scp"))
        self.num_frames = {utt: int(n) for utt, n in read_dict(data_dir / "utt2num_frames").items()}
        self.targets = None
        if tokenizer is not None:
            text = read_dict(data_dir / "text")
            self.targets = {utt: tokenizer.encode(text[utt]) for utt in self.num_frames}

    def __len__(self):
        return len(self.num_frames)

    def batch(self, utts: list[str]):
        """Padded (feats, feats_lens[, ys, ys_lens]) tensors for the given utterances."""
        mats = [self._load(utt) for utt in utts]
        feats, feats_lens = pad([torch.from_numpy(m) for m in mats], 0.0)
        if self.targets is None:
            return feats, feats_lens
        ys, ys_lens = pad([torch.tensor(self.targets[u], dtype=torch.long) for u in utts], IGNORE_ID)
        return feats, feats_lens, ys, ys_lens

    def _load(self, utt: str) -> np.ndarray:
        try:
            return np.asarray(self.feats[utt], dtype=np.float32)
        except Exception as error:
            raise DataDirError(f"cannot read features of utterance '{utt}': {error}") from error


def pad(tensors: list[torch.Tensor], value) -> tuple[torch.Tensor, torch.Tensor]:
    lens = torch.tensor([len(t) for t in tensors])
    return torch.nn.utils.rnn.pad_sequence(tensors, batch_first=True, padding_value=value), lens
