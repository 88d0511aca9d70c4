"""Text -> speech data dir: every text spoken by engine voices (or a trained TTS) into a Kaldi data dir.

A voice spec is `ENGINE:VOICE`, e.g. `espeak-ng:en-us+f3`, `flite:slt`, `festival:kal_diphone`. ENGINES maps each
engine to the `module:callable` that builds a voice from the VOICE part; it is imported on first use, so unused
engines cost nothing. A voice is an asrkit.tts.voices.Voice: `prepare_text(text)` (the engine's text normalisation),
`synthesize(text, rate, pitch) -> (float32 samples, sample rate)` and `close()`. Another engine (e.g. `model`, whose
VOICE is a trained TTS exp dir) is one more ENGINES entry.

The work is split like fbank: job J of N synthesizes the J-th contiguous share of the sorted utterance ids. Each
utterance's audio file is written atomically, so it marks that utterance done and a re-run skips it; a run without a
job (after the jobs, or instead of them) fills in whatever is missing and writes the data dir. The file is named
<utt>.<digest>.<format>, the digest of what made it (voice, text, rate, pitch, sample rate, and for a trained TTS
the sha256 of its model file): a re-run with another text or rate under the same utterance id, or with a
retrained model, synthesizes anew instead of reusing the old audio.
"""

from __future__ import annotations

import hashlib
import importlib
import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from asrkit.data.datadir import DataDirError, read_dict, write_data_dir
from asrkit.errors import AsrkitError
from asrkit.fileio import atomic_path
from asrkit.tts.voices import Voice, VoiceError

ENGINES: dict[str, str] = {  # engine -> `module:class` of its Voice, imported on first use
    "espeak-ng": "asrkit.tts.voices:EspeakVoice",
    "flite": "asrkit.tts.voices:FliteVoice",
    "festival": "asrkit.tts.voices:FestivalVoice",
    "model": "asrkit.tts.voice:ModelVoice",  # VOICE: a trained TTS exp dir (asrkit tts train)[@SPEAKER]
}
ASSIGNMENTS = ("every", "round-robin")
AUDIO_FORMATS = {"flac": "FLAC", "wav": "WAV"}


def load_voice(spec: str) -> Voice:
    """Build the voice a spec names; VoiceError (naming what is installed) when the engine or voice is not there."""
    engine, sep, voice = spec.partition(":")
    if not sep or not voice:
        raise VoiceError(f"voice '{spec}': expected ENGINE:VOICE, e.g. espeak-ng:en-us+f3")
    if engine not in ENGINES:
        raise VoiceError(f"voice '{spec}': unknown engine '{engine}'; engines: {' '.join(sorted(ENGINES))}")
    module, _, name = ENGINES[engine].partition(":")
    return getattr(importlib.import_module(module), name)(voice)


def speaker_id(spec: str) -> str:
    """A voice's speaker id: the spec with every run of characters other than letters, digits and '-' as '_'."""
    return re.sub(r"[^A-Za-z0-9-]+", "_", spec).strip("_")


# ---------------------------------------------------------------- inputs


def read_texts(path, plain: bool = False) -> dict[str, str]:
    """`uttid text` lines (a Kaldi text file), or with plain=True one text per line, numbered utt000001, ..."""
    if not plain:
        return read_dict(path)
    texts = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            raise DataDirError(f"{path}:{number}: empty line")
        texts[f"utt{number:06d}"] = " ".join(line.split())
    return texts


def read_voice_specs(path) -> list[str]:
    """One voice spec per line; blank lines and `#` comments are skipped."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


# ---------------------------------------------------------------- what to synthesize


@dataclass(frozen=True)
class Utterance:
    utt_id: str
    speaker: str
    voice: str
    text: str
    rate: float
    pitch: float


@dataclass(frozen=True)
class Jitter:
    """Per-utterance factors drawn uniformly from [1 - x, 1 + x], seeded by (seed, utterance id): reproducible
    whatever the job split."""

    rate: float = 0.0  # x: speaking-rate factor drawn from [1 - x, 1 + x] (0: every utterance at the voice's rate)
    pitch: float = 0.0  # x: pitch factor drawn from [1 - x, 1 + x]
    seed: int = 0  # with the utterance id, seeds each utterance's draw

    def draw(self, utt_id: str) -> tuple[float, float]:
        rng = random.Random(f"{self.seed}/{utt_id}")
        return 1.0 + rng.uniform(-self.rate, self.rate), 1.0 + rng.uniform(-self.pitch, self.pitch)


def plan_utterances(texts: dict[str, str], voices: list[str], assign: str = "every", jitter: Jitter = Jitter(),
                    speakers: dict[str, str] | None = None) -> list[Utterance]:
    """Pair texts with voices, sorted by utterance id `<speaker>-<text id>`.

    every: each text by every voice (compare voices on the same text); round-robin: text i by voice i mod V, in
    file order (as many utterances as texts, spread evenly over the voices). speakers: each voice's speaker id
    (default speaker_id(spec)), e.g. the real speaker a speaker-conditioned model's voice imitates.
    """
    if assign not in ASSIGNMENTS:
        raise AsrkitError(f"assign must be one of {', '.join(ASSIGNMENTS)}, not '{assign}'")
    if not voices:
        raise VoiceError("no voice given")
    speakers = {spec: (speakers or {}).get(spec) or speaker_id(spec) for spec in voices}
    if len(set(speakers.values())) < len(set(voices)):
        raise VoiceError(f"voices {' '.join(voices)} do not give distinct speaker ids: {' '.join(speakers.values())}")
    if assign == "every":
        pairs = [(text_id, spec) for spec in dict.fromkeys(voices) for text_id in texts]
    else:
        pairs = [(text_id, voices[i % len(voices)]) for i, text_id in enumerate(texts)]
    plan = []
    for text_id, spec in pairs:
        utt_id = f"{speakers[spec]}-{text_id}"
        plan.append(Utterance(utt_id, speakers[spec], spec, texts[text_id], *jitter.draw(utt_id)))
    return sorted(plan, key=lambda utt: utt.utt_id)


# ---------------------------------------------------------------- synthesis


def synthesize_data_dir(texts: dict[str, str], voices: list[str], out_dir, *, audio_dir=None, nj: int = 1,
                        job: int | None = None, assign: str = "every", jitter: Jitter = Jitter(), fs: int = 16000,
                        audio_format: str = "flac", speakers: dict[str, str] | None = None) -> int:
    """Synthesize job `job` of `nj` (all when job is None) into AUDIO_DIR/<speaker>/<utt>.<format>; without a job,
    also write the data dir OUT_DIR (wav.scp, text, utt2spk, spk2utt, utt2dur). Returns the utterances synthesized now.
    speakers: the speaker id of each voice (plan_utterances).

    Every voice is loaded, and so checked, before any audio is written.
    """
    from asrkit.data.features import job_share
    from asrkit.progress import progress_bar

    if audio_format not in AUDIO_FORMATS:
        raise AsrkitError(f"audio format must be one of {', '.join(AUDIO_FORMATS)}, not '{audio_format}'")
    plan = plan_utterances(texts, voices, assign, jitter, speakers)
    loaded = {spec: load_voice(spec) for spec in dict.fromkeys(voices)}
    audio_dir = Path(audio_dir or Path(out_dir) / "audio").resolve()
    paths = {utt.utt_id: audio_dir / utt.speaker / f"{utt.utt_id}.{_digest(utt, fs, loaded[utt.voice])}"
             f".{audio_format}" for utt in plan}
    share = job_share(plan, nj, job) if job else plan
    todo = [utt for utt in share if not paths[utt.utt_id].exists()]
    try:
        for utt in progress_bar(todo, total=len(todo), description=f"synth {job or 1}/{nj if job else 1}"):
            samples = _synthesize(loaded[utt.voice], utt, fs)
            with atomic_path(paths[utt.utt_id]) as tmp:
                soundfile.write(tmp, samples, fs, format=AUDIO_FORMATS[audio_format], subtype="PCM_16")
    finally:
        for voice in loaded.values():
            voice.close()
    if job is None:
        _write_data_dir(out_dir, plan, paths)
    return len(todo)


def _digest(utt: Utterance, fs: int, voice: Voice) -> str:
    """Eight hex digits naming what the audio of `utt` is made from (module docstring)."""
    made_of = f"{utt.voice}|{utt.text}|{utt.rate!r}|{utt.pitch!r}|{fs}" + (f"|{voice.version}" if voice.version else "")
    return hashlib.sha256(made_of.encode()).hexdigest()[:8]


def _synthesize(voice: Voice, utt: Utterance, fs: int) -> np.ndarray:
    from asrkit.data.audio import resample

    try:
        samples, rate = voice.synthesize(voice.prepare_text(utt.text), utt.rate, utt.pitch)
    except VoiceError as error:
        raise VoiceError(f"utterance '{utt.utt_id}' ({utt.text}): {error}") from None
    samples = resample(samples, rate, fs) if rate != fs else samples
    # A pitch shift or resampling can overshoot full scale; clip rather than wrap around in 16 bits.
    return np.clip(samples, -1.0, 1.0)


def _write_data_dir(out_dir, plan: list[Utterance], paths: dict[str, Path]):
    write_data_dir(
        out_dir,
        {utt.utt_id: str(paths[utt.utt_id]) for utt in plan},
        {utt.utt_id: utt.text for utt in plan},
        {utt.utt_id: utt.speaker for utt in plan},
        utt2dur={utt.utt_id: soundfile.info(str(paths[utt.utt_id])).duration for utt in plan},
    )
