"""Concatenation of short utterances: Twister's remedy for synthetic speech shorter than the real utterances.

Utterances of one speaker shorter than `below` seconds are taken in id order, `count` at a time; each group becomes one
utterance: the audio joined with `gap` seconds of silence between parts, the transcripts joined with a space, the
id `<first id>+<number of parts>`. The joined audio is written as 16-bit wav under AUDIO_DIR (atomically); longer
utterances, and a group's left-over single utterance, are kept as they are.
"""

from pathlib import Path

import numpy as np
import soundfile

from asrkit.data.audio import audio_duration, read_audio
from asrkit.data.datadir import load_data_dir, write_data_dir
from asrkit.errors import AsrkitError
from asrkit.fileio import atomic_path


def concatenate_short(src: Path, dst: Path, below: float, count: int, gap: float, audio_dir: Path | None = None) -> int:
    """Write DST from SRC (no segments) with short utterances concatenated; returns the number of utterances."""
    data = load_data_dir(src)
    if data.segments is not None:
        raise AsrkitError(f"{src}/segments: concatenation reads whole recordings; this data dir has segments")
    short = [utt for utt in data.utt_ids if audio_duration(data.wav_scp[utt]) < below]  # headers, not samples
    audio = {utt: read_audio(data.wav_scp[utt]) for utt in short}
    groups = _groups(short, data.utt2spk, count)
    wav_scp, text, utt2spk = {}, {}, {}
    for utt in data.utt_ids:
        if utt not in short:
            wav_scp[utt], text[utt], utt2spk[utt] = data.wav_scp[utt], data.text[utt], data.utt2spk[utt]
    audio_dir = Path(audio_dir or Path(dst) / "audio").resolve()
    for group in groups:
        new = group[0] if len(group) == 1 else f"{group[0]}+{len(group)}"
        wav_scp[new] = data.wav_scp[group[0]] if len(group) == 1 else _join(audio, group, gap, audio_dir / f"{new}.wav")
        text[new], utt2spk[new] = " ".join(data.text[u] for u in group), data.utt2spk[group[0]]
    write_data_dir(dst, wav_scp, text, utt2spk)
    return len(text)


def _groups(utts: list[str], utt2spk: dict[str, str], count: int) -> list[list[str]]:
    by_speaker: dict[str, list[str]] = {}
    for utt in utts:
        by_speaker.setdefault(utt2spk[utt], []).append(utt)
    return [spk_utts[i : i + count] for spk_utts in by_speaker.values() for i in range(0, len(spk_utts), count)]


def _join(audio: dict[str, tuple[np.ndarray, int]], group: list[str], gap: float, path: Path) -> str:
    rate = audio[group[0]][1]
    if any(audio[utt][1] != rate for utt in group):
        raise AsrkitError(f"utterance '{group[0]}': its group mixes sample rates; synthesize at one rate")
    silence = np.zeros(round(gap * rate), dtype=np.float32)
    parts = [piece for utt in group for piece in (audio[utt][0], silence)][:-1]
    with atomic_path(path) as tmp:
        soundfile.write(tmp, np.concatenate(parts), rate, format="WAV", subtype="PCM_16")
    return str(path)
