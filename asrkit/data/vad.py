"""Energy voice activity detection: where in a recording the speech is, as Kaldi `segments`.

speech_region finds the span from the first to the last run of loud frames (energy a threshold above the recording's
own noise floor); speech_segments turns the regions of a data dir's recordings, widened by a margin, into a segments
table (`utterance -> recording start end`), which every reader of audio (features, on-the-fly fbank, decoding) honours.

Why: a corpus whose recordings carry as much silence as speech (GRID: ~0.55 s before and ~0.95 s after a ~1.5 s
command) spends half of each epoch on silence, and a recognizer trained on one fixed layout learns to emit each word at
a fixed frame instead of where it is spoken (egs/grid/asr1/README.md). The detector needs no labels, so a test set is
cut by the same rule as training.

Limits: only the first and last runs of >= 80 ms count, so a quiet word ending in shorter bursts lies outside the
region and is kept only by the margin (GRID s1 at 10 dB and 0.15 s: 3 of 1000 segments end 0.2-0.27 s before the end
of GRID's last word, tests/test_vad.py).
"""

from collections.abc import Mapping

import numpy as np

from asrkit.data.audio import AudioError, read_audio
from asrkit.progress import progress_bar


def speech_region(samples: np.ndarray, fs: int, trim_db: float, min_run_s: float = 0.08) -> tuple[int, int]:
    """(first, last + 1) sample of the speech in `samples`: from the first to the last run of >= min_run_s whose
    energy (20 ms windows every 10 ms, smoothed over 50 ms) lies trim_db above the noise floor (the 10th percentile of
    the frame energies). The whole utterance when no run qualifies."""
    hop = fs // 100
    if len(samples) < 3 * hop:
        return 0, len(samples)
    frames = np.lib.stride_tricks.sliding_window_view(samples.astype(np.float64), 2 * hop)[::hop]
    energy_db = np.convolve(10 * np.log10(np.sum(frames**2, axis=1) + 1e-10), np.ones(5) / 5, mode="same")
    loud = np.concatenate([[False], energy_db > np.percentile(energy_db, 10) + trim_db, [False]])
    edges = np.flatnonzero(np.diff(loud.astype(int)))  # run i spans edges[2i] .. edges[2i+1] (exclusive)
    runs = [(a, b) for a, b in zip(edges[::2], edges[1::2]) if b - a >= min_run_s * 100]
    if not runs:
        return 0, len(samples)
    return runs[0][0] * hop, min(len(samples), runs[-1][1] * hop + 2 * hop)


def speech_segments(wav_scp: Mapping[str, str], trim_db: float, margin_s: float,
                    description: str = "vad") -> dict[str, tuple[str, float, float]]:
    """Segments of recordings that are one utterance each (wav.scp's keys are the utterance ids): each utterance the
    speech region of its recording, margin_s wider on both sides (within the recording), in seconds."""
    segments = {}
    for utt, value in progress_bar(wav_scp.items(), total=len(wav_scp), description=description):
        samples, fs = read_audio(value)
        if len(samples) == 0:  # a segment of nothing would fail later, far from its cause
            raise AudioError(f"utterance '{utt}': {value.strip()}: no audio (0 samples)")
        start, end = speech_region(samples, fs, trim_db)
        segments[utt] = (utt, max(0.0, start / fs - margin_s), min(len(samples) / fs, end / fs + margin_s))
    return segments
