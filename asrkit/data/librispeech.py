"""LibriSpeech (openslr.org/12): the one reader of its tree, for egs/librispeech_100.

A subset's folder (e.g. LibriSpeech/train-clean-100/) holds SPEAKER/CHAPTER/SPEAKER-CHAPTER-NNNN.flac (16 kHz) and
SPEAKER/CHAPTER/SPEAKER-CHAPTER.trans.txt, one `SPEAKER-CHAPTER-NNNN TRANSCRIPT` line per utterance (upper case, no
punctuation; kept as it is, as ESPnet does). Utterance ids are the file stems, speakers are SPEAKER-CHAPTER (Kaldi's
and ESPnet's choice), so every id starts with its speaker. Data dirs are named as ESPnet names them: train_clean_100,
dev_clean, dev_other, test_clean, test_other.
"""

from pathlib import Path
from typing import NamedTuple

from asrkit.data.datadir import write_data_dir
from asrkit.errors import AsrkitError

SUBSETS = ("train-clean-100", "dev-clean", "dev-other", "test-clean", "test-other")  # what egs/librispeech_100 uses


class Utterance(NamedTuple):
    utt_id: str  # SPEAKER-CHAPTER-NNNN
    speaker: str  # SPEAKER-CHAPTER
    audio: Path  # the .flac file
    text: str  # the transcript as trans.txt has it


def data_dir_name(subset: str) -> str:
    """ESPnet's data dir name of a subset: train-clean-100 -> train_clean_100."""
    return subset.replace("-", "_")


def read_subset(subset_dir) -> list[Utterance]:
    """Every transcript line of a subset folder, sorted by id; a line without its .flac is an error naming it."""
    subset_dir = Path(subset_dir)
    transcripts = sorted(subset_dir.glob("*/*/*.trans.txt"))
    if not transcripts:
        raise AsrkitError(f"{subset_dir}: no SPEAKER/CHAPTER/SPEAKER-CHAPTER.trans.txt: not a LibriSpeech subset folder")
    utterances = []
    for trans in transcripts:
        for number, line in enumerate(trans.read_text(encoding="utf-8").splitlines(), 1):
            utt_id, _, text = line.strip().partition(" ")
            if not utt_id or not text.strip():
                raise AsrkitError(f"{trans}:{number}: expected 'SPEAKER-CHAPTER-NNNN TRANSCRIPT'")
            audio = trans.parent / f"{utt_id}.flac"
            if not audio.is_file():
                raise AsrkitError(f"{trans}:{number}: utterance '{utt_id}' has no audio ({audio.name} is absent)")
            utterances.append(Utterance(utt_id, utt_id.rsplit("-", 1)[0], audio.resolve(), " ".join(text.split())))
    return sorted(utterances)


def write_subset(subset_dir, data_dir) -> int:
    """The subset as a Kaldi data dir (wav.scp of .flac paths, text, utt2spk, spk2utt); returns its size."""
    utterances = read_subset(subset_dir)
    write_data_dir(data_dir, {u.utt_id: str(u.audio) for u in utterances}, {u.utt_id: u.text for u in utterances},
                   {u.utt_id: u.speaker for u in utterances})
    return len(utterances)
