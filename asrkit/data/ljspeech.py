"""LJSpeech sentences: the transcript file, a split of its sentence ids, and recordings of its sentences read aloud.

Files: `metadata.csv`, one `ID|normalized text` line per sentence (13,100 ids LJ001-0001 ... LJ050-0278), or
LJSpeech-1.1's own `ID|raw text|normalized text`: the last field is the sentence either way (numbers and
abbreviations spelled out, punctuation and case kept). A read-aloud folder (`lj_read/`) holds one folder per
speaker, each with `ID.flac` (or `.wav`) files named by sentence id; their transcripts come from metadata.csv.
Used by egs/lj_synth/asr1, whose engine voices speak the sentences and whose real test set is the read-aloud folder.
"""

import random
import re
from pathlib import Path
from typing import NamedTuple

from asrkit.data.datadir import write_data_dir
from asrkit.data.text import normalize_text
from asrkit.errors import AsrkitError

SENTENCE_ID = re.compile(r"LJ\d{3}-\d{4}")
AUDIO_SUFFIXES = (".flac", ".wav")


def read_metadata(path) -> dict[str, str]:
    """Sentence id -> sentence (as written, punctuation kept), in file order; a malformed line or a repeated id is an
    error naming FILE:LINE."""
    sentences = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split("|")
        if len(fields) not in (2, 3) or not SENTENCE_ID.fullmatch(fields[0]) or not fields[-1].strip():
            raise AsrkitError(f"{path}:{number}: not an LJSpeech metadata line (ID|text or ID|raw|normalized)")
        if fields[0] in sentences:
            raise AsrkitError(f"{path}:{number}: sentence id {fields[0]} repeated")
        sentences[fields[0]] = fields[-1].strip()
    if not sentences:
        raise AsrkitError(f"{path}: no sentences")
    return sentences


def split_sentences(ids, counts: dict[str, int], seed: int = 0, exclude=()) -> dict[str, list[str]]:
    """Disjoint sets of sentence ids, each sorted: the ids not in `exclude`, shuffled with `seed`, cut into
    consecutive shares of counts[name] ids in the order of `counts`; a count of 0 takes every id left. With the
    larger sets last, changing their size leaves the earlier ones (the test set) as they were."""
    pool = sorted(set(ids) - set(exclude))
    random.Random(seed).shuffle(pool)
    sets, start = {}, 0
    for name, count in counts.items():
        end = len(pool) if count == 0 else start + count
        if end > len(pool):
            raise AsrkitError(f"{sum(counts.values())} sentences asked for ({name}: {count}), {len(pool)} available")
        sets[name], start = sorted(pool[start:end]), end
    return sets


class Recording(NamedTuple):
    path: Path
    speaker: str  # the speaker's folder name
    sentence_id: str

    @property
    def utt_id(self) -> str:
        return f"{self.speaker}_{self.sentence_id}"  # speaker first, as Kaldi sorts utt2spk


def read_recordings(read_dir) -> list[Recording]:
    """Every recording under READ_DIR/<speaker>/<ID>.flac|wav, sorted by utterance id; a file whose name is not a
    sentence id is an error naming it."""
    recordings = []
    for speaker in sorted(p for p in Path(read_dir).resolve().iterdir() if p.is_dir()):
        for audio in sorted(p for p in speaker.iterdir() if p.suffix in AUDIO_SUFFIXES):
            if not SENTENCE_ID.fullmatch(audio.stem):
                raise AsrkitError(f"{audio}: not named by an LJSpeech sentence id (LJ###-####)")
            recordings.append(Recording(audio, speaker.name, audio.stem))
    if not recordings:
        raise AsrkitError(f"{read_dir}: no recordings (<speaker>/LJ###-####.flac)")
    return sorted(recordings, key=lambda r: r.utt_id)


def write_recordings(data_dir, recordings: list[Recording], sentences: dict[str, str]) -> None:
    """A Kaldi data dir of the recordings with their normalised sentences; a recording of a sentence that
    metadata.csv lacks is an error naming it."""
    missing = [r.path for r in recordings if r.sentence_id not in sentences]
    if missing:
        raise AsrkitError(f"{missing[0]}: sentence {missing[0].stem} is not in the metadata")
    write_data_dir(data_dir, {r.utt_id: str(r.path) for r in recordings},
                   {r.utt_id: normalize_text(sentences[r.sentence_id]) for r in recordings},
                   {r.utt_id: r.speaker for r in recordings})
