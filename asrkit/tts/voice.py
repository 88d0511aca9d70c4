"""A trained TTS exp dir as a voice: text -> FastSpeech2 log-mel -> Griffin-Lim waveform.

It is an asrkit.tts.voices.Voice (`synthesize(text, rate, pitch) -> (float32 samples, sample rate)`), so the synth
registry serves it as engine `model` with the exp dir as the voice: `asrkit synth --voice model:exp/tts_train`.
A speaker-conditioned model (`speakers: true`) speaks as the speaker named after `@`: `model:exp/tts_train@george`
(a speaker of its EXP/spk2sid); a single-speaker model takes no `@SPEAKER`.
"""

import functools
from pathlib import Path

import numpy as np

from asrkit.errors import AsrkitError
from asrkit.expdir import load_tts, model_path, read_config
from asrkit.fileio import file_key
from asrkit.tts.align import tts_token_ids
from asrkit.tts.model import MODEL_FILE, read_spk2sid
from asrkit.tts.vocoder import GriffinLim
from asrkit.tts.voices import Voice, VoiceError


@functools.lru_cache(maxsize=4)
def _load(exp_dir: Path, model_file: str, version: str):
    """load_tts, once for all the voices (one per speaker) of a model file as it is now (`version`: the sha256 of its
    contents, so a retrained file is read again); the model is only ever run in eval mode, so sharing it is safe."""
    return load_tts(exp_dir, model_file)


def _digest(model: Path) -> str:
    """sha256 of the model file's contents, not its mtime: a copy keeps its digest, a retrained file gets another."""
    stat = model.stat()
    return _hashed(model, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _hashed(model: Path, mtime_ns: int, size: int) -> str:
    """file_key of the model, once per process for the file as it is now (every speaker's voice shares it)."""
    return file_key([model])


class ModelVoice(Voice):
    def __init__(self, voice: str, model_file: str = MODEL_FILE):
        super().__init__(f"model:{voice}")
        exp_dir, _, speaker = str(voice).rpartition("@") if "@" in str(voice) else (str(voice), "", "")
        try:
            read_config(Path(exp_dir), "tts")  # a tts exp dir at all, before its model file is looked for
            version = _digest(model_path(Path(exp_dir), "tts", model_file))
            self.model, self.tokenizer, config = _load(Path(exp_dir), model_file, version)
            self.version = version[:16]  # a retrained model makes new audio (synth.py)
        except AsrkitError as error:
            raise VoiceError(f"voice {self.spec}: {error}") from None
        self.sid = self._speaker_index(Path(exp_dir), speaker, config.speakers)
        self.features = config.feature_config
        self.vocoder = GriffinLim(self.features, **config.vocoder)

    def _speaker_index(self, exp_dir: Path, speaker: str, conditioned: bool) -> int | None:
        if not conditioned:
            if speaker:
                raise VoiceError(f"voice {self.spec}: {exp_dir} is a single-speaker model; drop '@{speaker}'")
            return None
        speakers = read_spk2sid(exp_dir)
        if speaker not in speakers:
            raise VoiceError(f"voice {self.spec}: name a speaker of {exp_dir / 'spk2sid'} after '@', one of "
                             f"{' '.join(sorted(speakers)[:10])}")
        return speakers[speaker]

    def synthesize_with_durations(self, text: str, rate: float = 1.0, pitch: float = 1.0) -> tuple[np.ndarray, int, list[int]]:
        """Samples, their rate, and the per-token durations (in frames, eos last) the samples were made from."""
        log_mel, durations = self.model.synthesize(tts_token_ids(self.tokenizer, text), speed=rate, pitch_shift=pitch,
                                                   sid=self.sid)
        return self.vocoder(log_mel.numpy()), self.features.fs, durations.tolist()

    def synthesize(self, text: str, rate: float = 1.0, pitch: float = 1.0) -> tuple[np.ndarray, int]:
        samples, fs, _ = self.synthesize_with_durations(text, rate, pitch)
        return samples, fs
