"""The fine-tuning set: the round's new data (synthetic and/or labelled real speech) plus a seeded sample of the
original training data, `original_ratio` original utterances per new one (all of it at most).

The parts are data dirs refine wrote itself (labels/kept, synth/data) and the labelled train_data; none may hold
`segments` (the mix is of whole recordings), and an utterance id in two parts is an error naming it.
"""

import random
from pathlib import Path

from asrkit.data.datadir import load_data_dir, write_data_dir
from asrkit.errors import AsrkitError


def mix_data_dir(parts: list[Path], train_data: Path | None, original_ratio: float, seed: int, dst: Path) -> dict:
    """Write DST; returns the utterance count from each source (`new`, `original`)."""
    wav_scp, text, utt2spk = {}, {}, {}
    for part in parts:
        _add(load_data_dir(part), None, wav_scp, text, utt2spk)
    new = len(text)
    original = 0
    if train_data and original_ratio > 0:
        data = load_data_dir(train_data)
        count = min(len(data.utt_ids), round(original_ratio * new))
        sample = sorted(random.Random(f"{seed}/mix").sample(data.utt_ids, count))
        _add(data, sample, wav_scp, text, utt2spk)
        original = count
    write_data_dir(dst, wav_scp, text, utt2spk)
    return {"new": new, "original": original}


def _add(data, utts: list[str] | None, wav_scp: dict, text: dict, utt2spk: dict):
    if data.segments is not None:
        raise AsrkitError(f"{data.path}/segments: the fine-tuning mix takes whole recordings only")
    if data.text is None:
        raise AsrkitError(f"{data.path}/text: missing; the fine-tuning mix needs labels")
    for utt in utts if utts is not None else data.utt_ids:
        if utt in text:
            raise AsrkitError(f"utterance '{utt}' of {data.path}: already in the fine-tuning mix from another part")
        wav_scp[utt], text[utt], utt2spk[utt] = data.wav_scp[utt], data.text[utt], data.utt2spk[utt]
