"""What a FastSpeech2 voice learns to predict: log-mel frames, and per-token pitch and energy.

The log-mel is espnet2's LogMelFbank with log base 10, the scale espnet2's Griffin-Lim (asrkit.tts.vocoder) inverts.
With a centred STFT an utterance of n samples has n // hop_length + 1 frames; durations from `asrkit tts align` sum to
exactly that count. Pitch (log F0, pyworld Dio) and energy are espnet2's extractors averaged over each token's frames.
"""

from dataclasses import asdict, dataclass

import numpy as np
import torch


@dataclass
class TTSFeatureConfig:
    fs: int = 16000  # Hz of the audio the TTS reads and writes
    n_fft: int = 1024  # STFT size in samples (also the window length)
    hop_length: int = 256  # samples between mel frames (16 ms at 16 kHz)
    n_mels: int = 80  # mel bins of the log-mel target
    fmin: int = 80  # Hz, lowest mel filter edge
    fmax: int = 7600  # Hz, highest mel filter edge
    f0min: int = 80  # Hz, lowest F0 the pitch tracker (Dio) searches
    f0max: int = 400  # Hz, highest F0 it searches

    def num_frames(self, num_samples: int) -> int:
        return num_samples // self.hop_length + 1

    def as_dict(self) -> dict:
        return asdict(self)


class TTSFeatureExtractor:
    def __init__(self, config: TTSFeatureConfig):
        from espnet2.tts.feats_extract.dio import Dio
        from espnet2.tts.feats_extract.energy import Energy
        from espnet2.tts.feats_extract.log_mel_fbank import LogMelFbank

        self.config = config
        stft = dict(fs=config.fs, n_fft=config.n_fft, hop_length=config.hop_length)
        self.log_mel = LogMelFbank(**stft, n_mels=config.n_mels, fmin=config.fmin, fmax=config.fmax, log_base=10.0)
        self.pitch = Dio(**stft, f0min=config.f0min, f0max=config.f0max, reduction_factor=1)
        self.energy = Energy(**stft, reduction_factor=1)

    @torch.no_grad()
    def __call__(self, samples: np.ndarray, durations: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(frames, n_mels) log-mel and (tokens,) pitch and energy for one utterance whose token durations are known."""
        wave = torch.from_numpy(samples).float().unsqueeze(0)
        mel, mel_lens = self.log_mel(wave)
        if mel.size(1) != sum(durations):
            raise ValueError(f"{mel.size(1)} mel frames but the durations sum to {sum(durations)}")
        d = torch.tensor([durations])
        d_lens = torch.tensor([len(durations)])
        pitch, _ = self.pitch(wave, feats_lengths=mel_lens, durations=d, durations_lengths=d_lens)
        energy, _ = self.energy(wave, feats_lengths=mel_lens, durations=d, durations_lengths=d_lens)
        return mel[0].numpy(), pitch[0, :, 0].numpy(), energy[0, :, 0].numpy()
