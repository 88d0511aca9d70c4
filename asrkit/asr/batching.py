"""Feature batches for training and decoding: length-sorted buckets capped by total padded frames."""

from collections.abc import Mapping
from pathlib import Path

import kaldiio
import numpy as np
import torch

from asrkit.asr.model import IGNORE_ID
from asrkit.data.audio import iter_utterance_audio
from asrkit.data.datadir import DataDirError, load_data_dir, read_dict
from asrkit.data.features import (
    FBANK,
    FbankConfig,
    FeatureKind,
    check_features_fit,
    fbank,
    job_share,
    load_fbank_config,
    reads_feature_table,
)
from asrkit.progress import progress_bar


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


class FeatureSet:
    """Features by utterance (lazy from feats.scp, or computed from audio), their lengths and, optionally, targets."""

    def __init__(self, feats: Mapping[str, np.ndarray], num_frames: dict[str, int], targets: dict | None = None):
        self.feats = feats
        self.num_frames = num_frames
        self.targets = targets

    @classmethod
    def from_data_dir(cls, data_dir, tokenizer=None, kind: FeatureKind = FBANK) -> "FeatureSet":
        """DATA/feats.scp and DATA/utt2num_frames (the fbank stage's output; another kind's tables for other
        features, e.g. roi.scp); targets from DATA/text."""
        data_dir = Path(data_dir)
        for name in (kind.scp, kind.num_frames):
            if not (data_dir / name).exists():
                raise DataDirError(f"{data_dir / name}: missing; run `{kind.stage}` first")
        num_frames = {utt: int(n) for utt, n in read_dict(data_dir / kind.num_frames).items()}
        targets = None
        if tokenizer is not None:
            text = read_dict(data_dir / "text")
            targets = {utt: tokenizer.encode(text[utt]) for utt in num_frames}
        return cls(kaldiio.load_scp(str(data_dir / kind.scp)), num_frames, targets)

    @classmethod
    def from_audio(cls, data_dir, fbank_config: FbankConfig, nj: int = 1, job: int = 1) -> "FeatureSet":
        """Fbank computed from DATA/wav.scp now (job J of N's share of the utterances), for data dirs that skipped
        the fbank stage."""
        data = load_data_dir(data_dir)
        data.utt_ids = job_share(data.utt_ids, nj, job)
        audio = iter_utterance_audio(data, fbank_config.fs)
        feats = {utt: fbank(samples, fbank_config)
                 for utt, samples in progress_bar(audio, total=len(data.utt_ids), description="fbank")}
        return cls(feats, {utt: len(mat) for utt, mat in feats.items()})

    @classmethod
    def for_model(cls, data_dir, model_config_yaml: Path, nj: int = 1, job: int = 1,
                  kind: FeatureKind = FBANK) -> tuple["FeatureSet", list[str]]:
        """Job J of N's share of DATA as a model whose features model_config_yaml (EXP/fbank.yaml) describes reads
        it, and the share's sorted ids: DATA/feats.scp when the fbank stage ran (refused unless made with that
        config), else fbank computed now from DATA/wav.scp, for the share only. Other kinds of features (a VSR
        model's EXP/roi.yaml) are read from their tables only."""
        if reads_feature_table(data_dir, kind):
            check_features_fit(data_dir, model_config_yaml, kind)
            data = cls.from_data_dir(data_dir, kind=kind)
            return data, job_share(sorted(data.num_frames), nj, job)
        data = cls.from_audio(data_dir, load_fbank_config(model_config_yaml), nj, job)
        return data, sorted(data.num_frames)

    def __len__(self):
        return len(self.num_frames)

    def batch(self, utts: list[str]):
        """Padded (feats, feats_lens[, ys, ys_lens]) tensors for the given utterances."""
        feats, feats_lens = pad([torch.from_numpy(self.load(utt)) for utt in utts], 0.0)
        if self.targets is None:
            return feats, feats_lens
        ys, ys_lens = pad([torch.tensor(self.targets[u], dtype=torch.long) for u in utts], IGNORE_ID)
        return feats, feats_lens, ys, ys_lens

    def load(self, utt: str) -> np.ndarray:
        try:
            return np.array(self.feats[utt], dtype=np.float32)
        except Exception as error:
            raise DataDirError(f"cannot read features of utterance '{utt}': {error}") from error


def pad(tensors: list[torch.Tensor], value) -> tuple[torch.Tensor, torch.Tensor]:
    lens = torch.tensor([len(t) for t in tensors])
    return torch.nn.utils.rnn.pad_sequence(tensors, batch_first=True, padding_value=value), lens
