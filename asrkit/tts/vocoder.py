"""Griffin-Lim: log-mel back to a waveform with no training (espnet2's Spectrogram2Waveform, with seeded phases).

With a centred STFT, T frames become (T - 1) * hop_length samples. espnet2's Spectrogram2Waveform starts librosa's
Griffin-Lim from phases of an unseeded generator, so one log-mel gave different samples on every call; here the same
steps (espnet2's logmel2linear, librosa.griffinlim) start from phases of a fixed seed, so a synthesized corpus comes
out the same on every run.
"""

import functools

import numpy as np

from asrkit.tts.features import TTSFeatureConfig

PHASE_SEED = 0  # seed of Griffin-Lim's initial random phases


class GriffinLim:
    def __init__(self, features: TTSFeatureConfig, griffin_lim_iters: int = 32):
        from espnet2.utils.griffin_lim import logmel2linear

        self.fs = features.fs
        self.hop_length, self.iters = features.hop_length, griffin_lim_iters
        self.to_linear = functools.partial(logmel2linear, fs=features.fs, n_fft=features.n_fft, n_mels=features.n_mels,
                                           fmin=features.fmin, fmax=features.fmax)

    def __call__(self, log_mel: np.ndarray) -> np.ndarray:
        """(frames, n_mels) log10-mel -> float32 samples in [-1, 1] at self.fs."""
        import librosa

        linear = np.abs(self.to_linear(np.asarray(log_mel, dtype=np.float32)).T)  # (bins, frames)
        wave = librosa.griffinlim(S=linear, n_iter=self.iters, hop_length=self.hop_length, window="hann",
                                  center=linear.shape[1] > 1, random_state=PHASE_SEED).astype(np.float32)
        peak = np.abs(wave).max()
        # Griffin-Lim's level follows the mel magnitudes, which can exceed full scale: never clip.
        return wave / peak * 0.9 if peak > 0.9 else wave
