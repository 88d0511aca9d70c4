"""Audio for wav.scp values: a file path, or a Kaldi pipe `command ... |` that writes audio to stdout.

Files are read with libsndfile (WAV, FLAC, OGG, ...), and with ffmpeg when libsndfile cannot read them (MP3, M4A, ...).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np
import soundfile

from asrkit.errors import AsrkitError

if TYPE_CHECKING:
    from asrkit.data.datadir import DataDir

# Kaldi accepts a segment that ends this far past its recording (rounding in the segmenter).
SEGMENT_END_TOLERANCE_S = 0.01


class AudioError(AsrkitError):
    """Audio could not be read; the message names what was being read."""


def read_audio(wav_scp_value: str, fs: int | None = None) -> tuple[np.ndarray, int]:
    """Mono float32 samples and their rate, resampled to fs when fs is given."""
    samples, rate = _decode(wav_scp_value.strip())
    if fs is not None and fs != rate:
        samples, rate = resample(samples, rate, fs), fs
    return samples, rate


def audio_duration(wav_scp_value: str) -> float:
    """Length in seconds; a file's header is enough, a pipe has to be decoded."""
    value = wav_scp_value.strip()
    if is_pipe(value):
        samples, rate = _decode(value)
        return len(samples) / rate
    if not Path(value).is_file():
        raise AudioError(f"no such audio file: {value}")
    try:
        info = soundfile.info(value)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as e:
        raise AudioError(f"cannot read {value}: {e}") from None
    return info.frames / info.samplerate


def is_pipe(wav_scp_value: str) -> bool:
    """Whether a wav.scp value is a shell command whose stdout is the audio."""
    return wav_scp_value.rstrip().endswith("|")


def iter_utterance_audio(data_dir: DataDir, fs: int) -> Iterator[tuple[str, np.ndarray]]:
    """Yield (utterance id, samples at fs) in data_dir.utt_ids order, cutting out segments."""
    loaded_recording, recording_samples = None, None
    for utt in data_dir.utt_ids:
        if data_dir.segments is None:
            yield utt, _read_for_utterance(data_dir, utt, utt, fs)
            continue
        recording, start, end = data_dir.segments[utt]
        # Segments of one recording sort together, so each recording is decoded once per run.
        if recording != loaded_recording:
            recording_samples = _read_for_utterance(data_dir, utt, recording, fs)
            loaded_recording = recording
        yield utt, _cut(recording_samples, fs, start, end, utt, data_dir.wav_scp[recording])


def _read_for_utterance(data_dir: DataDir, utt: str, recording: str, fs: int) -> np.ndarray:
    if recording not in data_dir.wav_scp:
        raise AudioError(f"utterance '{utt}': recording '{recording}' is not in {data_dir.path}/wav.scp")
    value = data_dir.wav_scp[recording]
    try:
        return read_audio(value, fs)[0]
    except AudioError as e:
        raise AudioError(f"utterance '{utt}' (wav.scp: {value}): {e}") from None


def _cut(samples: np.ndarray, fs: int, start: float, end: float, utt: str, wav_scp_value: str) -> np.ndarray:
    duration = len(samples) / fs
    if end > duration + SEGMENT_END_TOLERANCE_S:
        raise AudioError(
            f"utterance '{utt}' (wav.scp: {wav_scp_value}): segment ends at {end:.2f} s "
            f"but the recording lasts {duration:.2f} s"
        )
    return samples[round(start * fs):round(end * fs)]


def _decode(value: str) -> tuple[np.ndarray, int]:
    if is_pipe(value):
        source = io.BytesIO(_run_pipe(value[:-1].strip()))
    elif Path(value).is_file():
        source = value
    else:
        # libsndfile would only say "System error".
        raise AudioError(f"no such audio file: {value}")
    try:
        samples, rate = soundfile.read(source, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, OSError) as e:
        if is_pipe(value) or shutil.which("ffmpeg") is None:
            raise AudioError(f"cannot decode {value}: {e}") from None
        samples, rate = _decode_with_ffmpeg(value)
    return np.ascontiguousarray(samples[:, 0]), rate


def _decode_with_ffmpeg(path: str) -> tuple[np.ndarray, int]:
    """A file libsndfile cannot read (MP3 with older libsndfile, AAC, Opus in MP4, ...) through ffmpeg, as WAV."""
    result = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "wav", "-c:a", "pcm_f32le", "-"], capture_output=True)
    if result.returncode != 0:
        stderr = result.stderr.decode("utf-8", errors="replace").strip().splitlines() or ["ffmpeg failed"]
        raise AudioError(f"cannot decode {path}: {stderr[-1].removeprefix(f'{path}: ')}")
    return soundfile.read(io.BytesIO(result.stdout), dtype="float32", always_2d=True)


def _run_pipe(command: str) -> bytes:
    # pipefail: in `sox a.wav -t wav - | cat` a failing sox must not pass as empty audio.
    result = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True)
    if result.returncode != 0:
        stderr = result.stderr.decode("utf-8", errors="replace").strip()
        raise AudioError(f"command failed with exit status {result.returncode}: {command}: {stderr}")
    return result.stdout


def resample(samples: np.ndarray, rate: int, fs: int) -> np.ndarray:
    # Imported here: torch takes seconds to import and only resampling needs it.
    import torch
    import torchaudio.functional

    return torchaudio.functional.resample(torch.from_numpy(samples), rate, fs).numpy()
