"""Free Spoken Digit Dataset: recordings named {digit}_{speaker}_{take}.wav, each one digit spoken as a word.

Shared by the recipes that read FSDD (egs/fsdd: its own split; egs/tts_digits: the official test takes as real speech).
"""

from pathlib import Path
from typing import NamedTuple

from asrkit.data.datadir import write_data_dir
from asrkit.errors import AsrkitError
from asrkit.tts.voices import DIGIT_WORDS

OFFICIAL_TEST_TAKES = range(5)  # takes 0-4 are the official test set, 5-49 training


class Recording(NamedTuple):
    path: Path
    digit: int
    speaker: str
    take: int

    @property
    def utt_id(self) -> str:
        return f"{self.speaker}_{self.digit}_{self.take:02d}"  # speaker first, as Kaldi sorts utt2spk

    @property
    def word(self) -> str:
        return DIGIT_WORDS[self.digit]


def read_recordings(recordings_dir: Path) -> list[Recording]:
    """Every recording in the folder, sorted by file name; a name that does not parse is an error naming it."""
    recordings = []
    for wav in sorted(Path(recordings_dir).resolve().glob("*.wav")):
        parts = wav.stem.split("_")
        if len(parts) != 3 or not (parts[0].isdigit() and len(parts[0]) == 1 and parts[2].isdigit()):
            raise AsrkitError(f"{wav}: not an FSDD name ({{digit}}_{{speaker}}_{{take}}.wav)")
        recordings.append(Recording(wav, int(parts[0]), parts[1], int(parts[2])))
    if not recordings:
        raise AsrkitError(f"{recordings_dir}: no FSDD recordings (*.wav)")
    return recordings


def write_recordings(data_dir: Path, recordings: list[Recording]) -> None:
    """A Kaldi data dir (wav.scp, text, utt2spk, spk2utt) of the recordings; 8 kHz audio is resampled by fbank."""
    write_data_dir(data_dir, {r.utt_id: str(r.path) for r in recordings}, {r.utt_id: r.word for r in recordings},
                   {r.utt_id: r.speaker for r in recordings})
