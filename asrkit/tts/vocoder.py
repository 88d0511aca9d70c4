"""Griffin-Lim: log-mel back to a waveform with no training (espnet2's Spectrogram2Waveform).

With a centred STFT, T frames become (T - 1) * hop_length samples.
"""

import numpy as np
import torch

from asrkit.tts.features import TTSFeatureConfig


class GriffinLim:
    def __init__(self, features: TTSFeatureConfig, griffin_lim_iters: int = 32):
        from espnet2.utils.griffin_lim import Spectrogram2Waveform

        self.fs = features.fs
        self.to_wave = Spectrogram2Waveform(
            n_fft=features.n_fft, n_shift=features.hop_length, fs=features.fs, n_mels=features.n_mels,
            fmin=features.fmin, fmax=features.fmax, griffin_lim_iters=griffin_lim_iters)

    def __call__(self, log_mel: np.ndarray) -> np.ndarray:
        """(frames, n_mels) log10-mel -> float32 samples in [-1, 1] at self.fs."""
        wave = self.to_wave(torch.as_tensor(log_mel, dtype=torch.float32)).numpy().astype(np.float32)
        peak = np.abs(wave).max()
        # Griffin-Lim's level follows the mel magnitudes, which can exceed full scale: never clip.
        return wave / peak * 0.9 if peak > 0.9 else wave
