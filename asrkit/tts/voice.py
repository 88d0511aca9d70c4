"""A trained TTS exp dir as a voice: text -> FastSpeech2 log-mel -> Griffin-Lim waveform.

It is an asrkit.tts.voices.Voice (`synthesize(text, rate, pitch) -> (float32 samples, sample rate)`), so the synth
registry serves it as engine `model` with the exp dir as the voice: `asrkit synth --voice model:exp/tts_train`.
"""

from pathlib import Path

import numpy as np

from asrkit.errors import AsrkitError
from asrkit.expdir import load_tts
from asrkit.tts.align import tts_token_ids
from asrkit.tts.model import MODEL_FILE
from asrkit.tts.vocoder import GriffinLim
from asrkit.tts.voices import Voice, VoiceError


class ModelVoice(Voice):
    def __init__(self, exp_dir: str, model_file: str = MODEL_FILE):
        super().__init__(f"model:{exp_dir}")
        try:
            self.model, self.tokenizer, config = load_tts(Path(exp_dir), model_file)
        except AsrkitError as error:
            raise VoiceError(f"voice {self.spec}: {error}") from None
        self.features = config.feature_config
        self.vocoder = GriffinLim(self.features, **config.vocoder)

    def synthesize_with_durations(self, text: str, rate: float = 1.0, pitch: float = 1.0) -> tuple[np.ndarray, int, list[int]]:
        """Samples, their rate, and the per-token durations (in frames, eos last) the samples were made from."""
        log_mel, durations = self.model.synthesize(tts_token_ids(self.tokenizer, text), speed=rate, pitch_shift=pitch)
        return self.vocoder(log_mel.numpy()), self.features.fs, durations.tolist()

    def synthesize(self, text: str, rate: float = 1.0, pitch: float = 1.0) -> tuple[np.ndarray, int]:
        samples, fs, _ = self.synthesize_with_durations(text, rate, pitch)
        return samples, fs
