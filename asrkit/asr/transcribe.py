"""`asrkit transcribe`: audio files in, text out, with the model of an exp dir or of a pack (asrkit/pack.py).

A file is read with whatever reads it (libsndfile, else ffmpeg: asrkit/data/audio.py), its first channel taken and
resampled to the model's fbank rate. A file longer than `window` seconds is cut into fixed windows that overlap by
`overlap` seconds (window k starts at k x (window - overlap); the last one ends with the file and is as long as the
others, so it may overlap more). A file's windows are decoded in batches and stitched by token times: in the overlap
of two windows the cut is at its midpoint, and each window keeps the 1-best tokens whose centre lies on its side of
the cut. The stitched text is the tokenizer's text of the kept tokens, token times count from the file's start, and
the confidence is the mean of the kept tokens' confidences (with no token kept, the mean of the windows'). A window
whose 1-best CTC cannot emit has no token times (asrkit/asr/recognize.py), so it adds nothing to a stitched
transcript.
"""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from asrkit.asr.decoding import DecodeConfig, load_decode_config
from asrkit.asr.recognize import Recognition, Recognizer, TokenTime
from asrkit.data.audio import AudioError, read_audio
from asrkit.data.features import fbank
from asrkit.errors import AsrkitError, ConfigError
from asrkit.expdir import fbank_config
from asrkit.pack import DECODE_CONFIG, unpacked


@dataclass
class WindowConfig:
    window: float = 30.0  # seconds of audio decoded at once; longer files are cut into windows
    overlap: float = 4.0  # seconds two neighbouring windows share (the stitching cut lies in its middle)

    def __post_init__(self):
        if not 0 <= self.overlap < self.window:
            raise ConfigError(f"window {self.window} s and overlap {self.overlap} s: need 0 <= overlap < window")


@dataclass
class Window:
    start: float  # seconds from the file's start
    end: float  # seconds from the file's start
    recognition: Recognition  # what the model said about this window (times from the window's start)


@dataclass
class Transcript:
    text: str  # the stitched 1-best
    confidence: float  # in [0, 1]
    token_times: list[TokenTime]  # the stitched 1-best's tokens, seconds from the file's start
    windows: list[Window]  # every window with its n-best

    def to_json(self, path: Path) -> dict:
        return {
            "file": str(path), "text": self.text, "confidence": round(self.confidence, 4),
            "tokens": [{"token": t.token, "start": round(t.start, 3), "end": round(t.end, 3),
                        "confidence": round(t.confidence, 4)} for t in self.token_times],
            "windows": [{"start": round(w.start, 3), "end": round(w.end, 3),
                         "nbest": [{"text": h.text, "tokens": h.tokens, "score": round(h.score, 4)}
                                   for h in w.recognition.nbest]} for w in self.windows],
        }


def load_recognizer(model: Path, decode_config: Path | None = None) -> Recognizer:
    """The model of an exp dir or pack; decode options from decode_config, else the pack's decode.yaml, else defaults."""
    with unpacked(model) as exp_dir:
        packed = exp_dir / DECODE_CONFIG
        path = decode_config or (packed if packed.is_file() else None)
        fbank_config(exp_dir)  # transcribe reads audio: a lip-reading model is refused here, naming the exp dir
        return Recognizer.from_exp_dir(exp_dir, load_decode_config(path) if path else DecodeConfig())


def transcribe_files(recognizer: Recognizer, paths: list[Path], windows: WindowConfig
                     ) -> Iterator[tuple[Path, Transcript | AsrkitError]]:
    """Each file's transcript, or the error that stopped it (a missing, unreadable or empty file), in order."""
    for path in paths:
        try:
            yield path, transcribe(recognizer, read_file(path, recognizer.features.fs), windows, str(path))
        except AsrkitError as error:
            yield path, error


def read_file(path: Path, fs: int) -> np.ndarray:
    samples, _ = read_audio(str(path), fs)
    if len(samples) == 0:
        raise AudioError(f"{path}: no audio (0 samples)")
    return samples


def transcribe(recognizer: Recognizer, samples: np.ndarray, windows: WindowConfig, name: str) -> Transcript:
    """One file's samples (at the model's fbank rate), window by window, stitched; name: what an error calls it."""
    fs = recognizer.features.fs
    spans = window_spans(len(samples) / fs, windows)
    feats = [fbank(samples[round(start * fs):round(end * fs)], recognizer.features) for start, end in spans]
    step, said = recognizer.config.batch_size, []
    for i in range(0, len(feats), step):
        said += recognizer.recognize(feats[i : i + step], [name] * step)  # zip stops at the batch's end
    decoded = [Window(start, end, r) for (start, end), r in zip(spans, said)]
    if len(decoded) == 1:
        only = decoded[0].recognition
        return Transcript(only.text, only.confidence, only.token_times, decoded)
    return _stitch(decoded, recognizer)


def window_spans(duration: float, windows: WindowConfig) -> list[tuple[float, float]]:
    """(start, end) seconds of the windows covering `duration`; one window when it fits. The last window ends with the
    file and is as long as the others (so it overlaps its neighbour by `overlap` or more), never a sliver."""
    if duration <= windows.window:
        return [(0.0, duration)]
    hop = windows.window - windows.overlap
    count = math.ceil((duration - windows.window) / hop) + 1
    starts = [k * hop for k in range(count - 1)] + [duration - windows.window]
    return [(start, start + windows.window) for start in starts]


def _stitch(decoded: list[Window], recognizer: Recognizer) -> Transcript:
    kept = []
    for k, w in enumerate(decoded):
        low = (w.start + decoded[k - 1].end) / 2 if k > 0 else -math.inf
        high = (decoded[k + 1].start + w.end) / 2 if k + 1 < len(decoded) else math.inf
        for t in w.recognition.token_times:
            moved = TokenTime(t.token, t.start + w.start, t.end + w.start, t.confidence)
            if low <= (moved.start + moved.end) / 2 < high:
                kept.append(moved)
    tokenizer = recognizer.tokenizer
    text = tokenizer.decode([tokenizer.token_to_id[t.token] for t in kept])
    confidences = [t.confidence for t in kept] or [w.recognition.confidence for w in decoded]
    return Transcript(text, float(np.mean(confidences)), kept, decoded)
