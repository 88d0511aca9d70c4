"""espnet2's FastSpeech2 with its targets normalised: the model a TTS exp dir holds.

FastSpeech2 regresses log-mel frames, per-token log F0 and energy; all three are normalised to zero mean and unit
variance with statistics of the training set (as ESPnet's global_mvn does), so no loss term dominates by its scale.
The input vocabulary is the aligner's char token list: 0 is padding (`<blank>`), the last id is FastSpeech2's eos.

Speaker conditioning (`speakers: true`): espnet2's `spks` speaker-id embedding, one per speaker of the training
data dir's utt2spk; the speakers, sorted, are numbered from 0 in EXP/spk2sid (`speaker index`), and the resolved
config's model.spks is their count. Without it (the default) the model is single-speaker and reads no speaker id.

exp/tts_<tag>/ holds config.yaml (resolved, `kind: tts`), the aligner's token dir (tokens.txt, token_type), stats.npz,
spk2sid (speaker-conditioned models only), checkpoint.pth, <N>epoch.pth (n-best by validation loss),
valid.loss.ave.pth (their average), train.log and images/loss.png.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from asrkit.data.datadir import read_dict
from asrkit.expdir import MODEL_FILES
from asrkit.train.options import LoopOptions
from asrkit.train.params import load_training_config
from asrkit.tts.features import TTSFeatureConfig

MODEL_FILE = MODEL_FILES["tts"]
SPK2SID = "spk2sid"  # EXP/spk2sid: `speaker index` of a speaker-conditioned model


@dataclass(kw_only=True)
class TTSConfig(LoopOptions):
    kind: str = "tts"  # what the exp dir holds, for the exp-dir loader (asrkit/expdir.py)
    model: dict = field(default_factory=dict)  # espnet2 FastSpeech2 arguments (adim, elayers, ...)
    features: dict = field(default_factory=dict)  # TTSFeatureConfig: sample rate, hop, mel bins, F0 range
    vocoder: dict = field(default_factory=dict)  # TTSVocoder (griffin_lim_iters)
    max_epoch: int = 30  # epochs to train (a resumed run continues up to it)
    batch_frames: int = 6000  # cap on padded mel frames per batch (longest utterance x batch size)
    grad_clip: float = 1.0
    valid_utts: int = 20  # the last utterances (sorted ids) are held out to validate
    inputs: dict = field(default_factory=dict)  # filled in the exp dir's copy: where the data came from
    speakers: bool = False  # condition on the data dir's utt2spk speakers (espnet2 `spks`, ids in EXP/spk2sid)
    align_trim_db: float = 0.0  # > 0: `tts align` aligns only the speech region (asrkit/data/vad.py speech_region,
    #   frames this many dB above the noise floor); 0: the whole utterance

    @classmethod
    def load(cls, path) -> "TTSConfig":
        return load_training_config(cls, path, "TTS", "tts", "`asrkit tts train`")

    @property
    def feature_config(self) -> TTSFeatureConfig:
        return TTSFeatureConfig(**self.features)


def read_spk2sid(exp_dir) -> dict[str, int]:
    """EXP/spk2sid of a speaker-conditioned TTS exp dir: speaker -> index."""
    return {spk: int(sid) for spk, sid in read_dict(Path(exp_dir) / SPK2SID).items()}


class Normalizer(nn.Module):
    """Mean/std of one target, kept as buffers so they travel with the state dict."""

    def __init__(self, mean: np.ndarray, std: np.ndarray):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32))

    def forward(self, x):
        return (x - self.mean) / self.std

    def inverse(self, x):
        return x * self.std + self.mean


class TTSModel(nn.Module):
    def __init__(self, config: TTSConfig, vocab_size: int, stats: dict[str, np.ndarray]):
        super().__init__()
        from espnet2.tts.fastspeech2.fastspeech2 import FastSpeech2

        n_mels = config.feature_config.n_mels
        self.fastspeech2 = FastSpeech2(idim=vocab_size, odim=n_mels, **config.model)
        self.mel_norm = Normalizer(stats["mel_mean"], stats["mel_std"])
        self.pitch_norm = Normalizer(stats["pitch_mean"], stats["pitch_std"])
        self.energy_norm = Normalizer(stats["energy_mean"], stats["energy_std"])

    def forward(self, text, text_lens, mel, mel_lens, durations, pitch, energy, sids=None) -> dict:
        """durations, pitch, energy: (B, tokens + 1) with FastSpeech2's eos last; sids: (B,) speaker indices (read
        only by a speaker-conditioned model); returns the loss and its parts."""
        token_lens = text_lens + 1
        loss, stats, _ = self.fastspeech2(
            text, text_lens, self.mel_norm(mel), mel_lens, durations, token_lens,
            self.pitch_norm(pitch).unsqueeze(-1), token_lens, self.energy_norm(energy).unsqueeze(-1), token_lens,
            sids=sids)
        return {"loss": loss, **{k: float(v) for k, v in stats.items() if k.endswith("_loss")}}

    @torch.no_grad()
    def synthesize(self, token_ids: list[int], speed: float = 1.0, pitch_shift: float = 1.0,
                   sid: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(frames, n_mels) log-mel and the per-token durations it was generated with (eos last).

        speed > 1 speaks faster, pitch_shift scales F0: both change the predictions, which a second pass then renders
        (espnet2's own alpha would not report the durations it really used). sid: the speaker's index (spk2sid),
        for a speaker-conditioned model.
        """
        text = torch.tensor(token_ids, dtype=torch.long)
        sids = None if sid is None else torch.tensor([sid], dtype=torch.long)
        out = self.fastspeech2.inference(text, sids=sids)
        if speed != 1.0 or pitch_shift != 1.0:
            durations = torch.round(out["duration"].float() / speed).long()
            log_f0 = self.pitch_norm.inverse(out["pitch"]) + float(np.log(pitch_shift))
            out = self.fastspeech2.inference(text, durations=durations, pitch=self.pitch_norm(log_f0),
                                             energy=out["energy"], sids=sids, use_teacher_forcing=True)
            out["duration"] = durations
        return self.mel_norm.inverse(out["feat_gen"]), out["duration"]
