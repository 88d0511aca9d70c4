"""The Debian TTS engines as voices: espeak-ng, flite and festival, each driven as a subprocess.

A voice is built from the voice part of a spec (`en-us+f3`, `slt`, `kal_diphone`) and checks that the engine
has it installed when built, so a typo fails before any audio is written. Speaking rate and pitch are applied the
same way for every engine, by sox (`tempo` keeps the pitch, `pitch` keeps the tempo), so a factor means the same
thing whichever engine spoke (the engines' own controls disagree in range and some voices ignore them), and sox
brings every engine's audio to 16 kHz in the same call.
"""

from __future__ import annotations

import functools
import math
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile

from asrkit.errors import AsrkitError

FESTIVAL_VOICE_ROOTS = (Path("/usr/share/festival/voices"), Path("/usr/lib/festival/voices"))
OUTPUT_RATE = 16000
# flite's awb_time is a limited-domain voice: it can only say the time of day.
FLITE_LIMITED_DOMAIN = {"awb_time"}
DIGIT_WORDS = "zero one two three four five six seven eight nine".split()
# Printed after every festival command so the reader knows where the command's output ends.
FESTIVAL_DONE = "@@asrkit-done@@"


class VoiceError(AsrkitError):
    """A voice spec names an engine or voice that is not available, or an engine failed."""


class Voice:
    """Speech from one engine voice; subclasses implement _speak (raw engine output as a wav file)."""

    def __init__(self, spec: str):
        self.spec = spec
        self.version = ""  # what else the audio depends on besides spec (a model voice: its model file's sha256)

    def prepare_text(self, text: str) -> str:
        """What the engine is given to say for a transcript: each digit as its word, so "407" is "four zero
        seven" (engines would read it as a number); the transcript itself stays as it was."""
        return " ".join(re.sub(r"\d", lambda digit: f" {DIGIT_WORDS[int(digit.group())]} ", text).split())

    def synthesize(self, text: str, rate: float = 1.0, pitch: float = 1.0) -> tuple[np.ndarray, int]:
        """Mono float32 samples at 16 kHz and that rate; rate > 1 speaks faster, pitch > 1 higher (factors)."""
        with tempfile.TemporaryDirectory(prefix="asrkit-synth-") as tmp:
            raw = Path(tmp) / "raw.wav"
            self._speak(text, raw, Path(tmp))
            return _sox_rate_pitch_resample(raw, rate, pitch, self.spec)

    def _speak(self, text: str, wav: Path, tmp: Path):
        raise NotImplementedError

    def close(self):
        """Release engine processes (festival keeps one open per voice)."""


def _sox_rate_pitch_resample(wav: Path, rate: float, pitch: float, spec: str) -> tuple[np.ndarray, int]:
    # The same sox call resamples to the toolkit's rate: far cheaper than torchaudio at ratios like 22050:16000.
    effects = ["rate", "-v", str(OUTPUT_RATE)]
    if rate != 1.0:
        effects = ["tempo", "-s", f"{rate:.4f}"] + effects
    if pitch != 1.0:
        effects = ["pitch", f"{1200 * math.log2(pitch):.1f}"] + effects
    out = wav.with_name("out.wav")
    # -R: sox dithers its 16-bit output with a fresh random seed on every call unless told to repeat itself, and a
    # synthesized corpus must come out the same on every run.
    _run(["sox", "-R", "-q", str(wav), str(out), *effects], spec)
    try:
        samples, sample_rate = soundfile.read(out, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError) as error:
        raise VoiceError(f"{spec}: the engine wrote no readable audio: {error}") from None
    if len(samples) == 0:
        raise VoiceError(f"{spec}: the engine wrote empty audio")
    return np.ascontiguousarray(samples[:, 0]), sample_rate


def _run(command: list[str], spec: str) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True)
    except FileNotFoundError:
        raise VoiceError(f"{spec}: `{command[0]}` is not installed (run `make system-deps`)") from None
    if result.returncode != 0:
        raise VoiceError(f"{spec}: `{' '.join(command)}` failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def _text_file(text: str, tmp: Path) -> Path:
    """The text as a file for an engine to read: on the command line, a text starting with "-" would be an option."""
    path = tmp / "text.txt"
    path.write_text(text, encoding="utf-8")
    return path


def _require(name: str, available, spec: str, what: str):
    if name not in available:
        raise VoiceError(f"{spec}: {what} '{name}' is not installed; installed: {' '.join(sorted(available))}")


# ---------------------------------------------------------------- espeak-ng


class EspeakVoice(Voice):
    """espeak-ng `LANGUAGE[+VARIANT]`, e.g. `en-us+f3` (`espeak-ng --voices`, `espeak-ng --voices=variant`)."""

    engine = "espeak-ng"

    def __init__(self, voice: str):
        super().__init__(f"{self.engine}:{voice}")
        language, _, variant = voice.partition("+")
        _require(language, _espeak_languages(), self.spec, "espeak-ng language")
        if variant:
            _require(variant, _espeak_variants(), self.spec, "espeak-ng variant")
        self.voice = voice

    def _speak(self, text, wav, tmp):
        _run(["espeak-ng", "-v", self.voice, "-f", str(_text_file(text, tmp)), "-w", str(wav)], self.spec)


@functools.cache
def _espeak_languages() -> set[str]:
    # Columns: Pty Language Age/Gender VoiceName File Other; mbrola voices (mb/...) need mbrola, not installed.
    rows = [line.split() for line in _run(["espeak-ng", "--voices"], "espeak-ng").splitlines()[1:]]
    return {row[1] for row in rows if len(row) >= 5 and not row[4].startswith("mb/")}


@functools.cache
def _espeak_variants() -> set[str]:
    rows = [line.split() for line in _run(["espeak-ng", "--voices=variant"], "espeak-ng").splitlines()[1:]]
    return {row[4].removeprefix("!v/") for row in rows if len(row) >= 5}


# ---------------------------------------------------------------- flite


class FliteVoice(Voice):
    """flite's compiled-in voices (`flite -lv`): kal, kal16, awb, rms, slt."""

    engine = "flite"

    def __init__(self, voice: str):
        super().__init__(f"{self.engine}:{voice}")
        _require(voice, _flite_voices(), self.spec, "flite voice")
        self.voice = voice

    def _speak(self, text, wav, tmp):
        # flite falls back to its default voice for an unknown name; the constructor has checked it.
        _run(["flite", "-voice", self.voice, "-f", str(_text_file(text, tmp)), "-o", str(wav)], self.spec)


@functools.cache
def _flite_voices() -> set[str]:
    listing = _run(["flite", "-lv"], "flite")  # "Voices available: kal awb_time kal16 awb rms slt"
    return set(listing.partition(":")[2].split()) - FLITE_LIMITED_DOMAIN


# ---------------------------------------------------------------- festival


class FestivalVoice(Voice):
    """A festival voice by its directory name, e.g. kal_diphone, ked_diphone, cmu_us_slt_arctic_hts.

    Festival takes a second or more to start and load a voice, so one `festival --pipe` process per voice
    serves every utterance; commands go to its stdin, and a marker on stderr ends each command's output.
    """

    engine = "festival"

    def __init__(self, voice: str):
        super().__init__(f"{self.engine}:{voice}")
        _require(voice, festival_voices(), self.spec, "festival voice")
        self.voice = voice
        self._process = None

    def _speak(self, text, wav, tmp):
        if self._process is None:
            if shutil.which("festival") is None:
                raise VoiceError(f"{self.spec}: `festival` is not installed (run `make system-deps`)")
            self._process = subprocess.Popen(["festival", "--pipe"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.PIPE, text=True)
            self._command(f"(voice_{self.voice})")
        self._command(f"(utt.save.wave (utt.synth (Utterance Text {_scheme_string(text)})) {_scheme_string(str(wav))} 'riff)")

    def _command(self, command: str):
        self._process.stdin.write(f'{command}\n(format stderr "{FESTIVAL_DONE}\\n")\n')
        self._process.stdin.flush()
        output = []
        for line in self._process.stderr:
            if line.strip() == FESTIVAL_DONE:
                break
            output.append(line)
        else:
            raise VoiceError(f"{self.spec}: festival exited: {''.join(output).strip()}")
        errors = [line.strip() for line in output if "ERROR" in line]
        if errors:
            raise VoiceError(f"{self.spec}: festival: {errors[0]} (command: {command})")

    def close(self):
        if self._process is not None:
            self._process.stdin.close()
            self._process.wait()
            self._process = None


def festival_voices() -> set[str]:
    return {voice.name for root in FESTIVAL_VOICE_ROOTS if root.is_dir() for voice in root.glob("*/*") if voice.is_dir()}


def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
