"""Mozilla Common Voice, one language's release folder (e.g. cv-corpus-*/en/): the one reader of its TSVs.

The folder holds clips/*.mp3 and tab-separated tables with a header line naming the columns (client_id, path,
sentence, up_votes, ...); train.tsv, dev.tsv and test.tsv are the official splits of validated.tsv. Columns are
found by name, since releases add columns. Utterance ids are `<client_id>-<clip stem>` (every id starts with its
speaker, as Kaldi wants), transcripts are normalize_text's form (asrkit/data/text.py), and wav.scp decodes each MP3
through an ffmpeg pipe to 16 kHz mono WAV. Common Voice is downloaded by hand (commonvoice.mozilla.org asks for an
e-mail address and the terms), so no code here downloads it.
"""

import csv
import shlex
from pathlib import Path
from typing import NamedTuple

from asrkit.data.datadir import write_data_dir
from asrkit.data.text import normalize_text
from asrkit.errors import AsrkitError

SPLITS = ("train", "dev", "test")  # the release's official splits of validated.tsv
COLUMNS = ("client_id", "path", "sentence")  # the columns read
SAMPLE_RATE = 16000  # what the ffmpeg pipe decodes to


class Utterance(NamedTuple):
    utt_id: str  # <client_id>-<clip stem>
    speaker: str  # client_id
    audio: Path  # clips/<path>
    text: str  # normalised sentence


def ffmpeg_pipe(clip: Path) -> str:
    """The wav.scp value that decodes a clip to 16 kHz mono WAV on stdout."""
    return f"ffmpeg -nostdin -v error -i {shlex.quote(str(clip))} -f wav -ar {SAMPLE_RATE} -ac 1 - |"


def read_split(corpus_dir, split: str) -> list[Utterance]:
    """The rows of CORPUS/<split>.tsv, sorted by id; a row whose clip is absent is an error naming its line."""
    corpus_dir = Path(corpus_dir)
    tsv = corpus_dir / f"{split}.tsv"
    if not tsv.is_file():
        raise AsrkitError(f"{tsv}: missing; is {corpus_dir} a Common Voice language folder (clips/, *.tsv)?")
    with open(tsv, encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(rows, [])
        missing = [name for name in COLUMNS if name not in header]
        if missing:
            raise AsrkitError(f"{tsv}:1: header lacks column(s) {', '.join(missing)}")
        index = {name: header.index(name) for name in COLUMNS}
        utterances = [_utterance(tsv, number, row, index) for number, row in enumerate(rows, 2)]
    return sorted(utterances)


def _utterance(tsv: Path, number: int, row: list[str], index: dict) -> Utterance:
    if len(row) <= max(index.values()):
        raise AsrkitError(f"{tsv}:{number}: {len(row)} columns, the header has more")
    speaker, clip, sentence = (row[index[name]].strip() for name in COLUMNS)
    audio = tsv.parent / "clips" / clip
    if not audio.is_file():
        raise AsrkitError(f"{tsv}:{number}: clip '{clip}' has no audio ({audio} is absent)")
    text = normalize_text(sentence)
    if not speaker or not text:
        raise AsrkitError(f"{tsv}:{number}: empty client_id or sentence")
    return Utterance(f"{speaker}-{Path(clip).stem}", speaker, audio.resolve(), text)


def write_split(corpus_dir, split: str, data_dir) -> int:
    """The split as a Kaldi data dir (wav.scp of ffmpeg pipes, text, utt2spk, spk2utt); returns its size."""
    utterances = read_split(corpus_dir, split)
    write_data_dir(data_dir, {u.utt_id: ffmpeg_pipe(u.audio) for u in utterances},
                   {u.utt_id: u.text for u in utterances}, {u.utt_id: u.speaker for u in utterances})
    return len(utterances)
