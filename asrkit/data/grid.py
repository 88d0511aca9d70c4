"""GRID audio-visual corpus, one speaker's folder: the one reader of its naming, alignments and recipe split.

Files: `audio/ID.flac` (16 kHz) and `align/ID.align`, one `start end word` line per word in 1/25000 s, where `sil`
marks silence and `sp` a short pause (24 of speaker s1's 1000 files); `video/ID.mp4` (25 fps, 96x96 gray face crop)
when the folder has videos: then every recording must have one, and data dirs of whole recordings get a video.scp
(write_utterances can cut recordings to their speech region instead: segments, no video). Neither sil nor sp is a
word: transcripts and word boundaries leave both out, so a six-word command has six words. Shared by egs/grid/asr1
(data dirs), egs/grid/tts1 (word boundaries of the CTC alignment), egs/grid/avsr1 and the tests.
"""

from pathlib import Path
from typing import NamedTuple

from asrkit.data.datadir import write_data_dir
from asrkit.data.vad import speech_segments
from asrkit.errors import AsrkitError

ALIGN_UNITS_PER_SECOND = 25000  # align/*.align times count 1/25000 s
NON_WORDS = {"sil", "sp"}  # silence and short pause: alignment entries that are not spoken words
SPLIT_PERIOD = 20  # of the utterances sorted by id, index % 20 == 0 is dev and == 10 is test; the rest train
SPLIT_OFFSETS = {0: "dev", 10: "test"}


# The GRID command grammar, slot by slot: command colour preposition letter digit adverb (letters skip w).
GRAMMAR = (("bin", "lay", "place", "set"), ("blue", "green", "red", "white"), ("at", "by", "in", "with"),
           tuple("abcdefghijklmnopqrstuvxyz"),
           ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
           ("again", "now", "please", "soon"))


class Word(NamedTuple):
    word: str
    start: float  # seconds from the start of the recording
    end: float  # seconds


class Utterance(NamedTuple):
    audio: Path  # audio/ID.flac
    speaker: str  # the folder's speaker, e.g. "s1" (GRID's file names do not name it)
    words: list[Word]  # the spoken words in order, without sil/sp
    video: Path | None = None  # video/ID.mp4, when the corpus folder has videos

    @property
    def utt_id(self) -> str:
        return f"{self.speaker}_{self.audio.stem}"  # speaker first, as Kaldi sorts utt2spk

    @property
    def text(self) -> str:
        return " ".join(w.word for w in self.words)


def read_alignment(path: Path) -> list[Word]:
    """The words of one align file with their times in seconds; sil and sp are dropped (CRLF lines are fine)."""
    words = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3 or not (fields[0].isdigit() and fields[1].isdigit()):
            raise AsrkitError(f"{path}:{number}: not a GRID alignment line (start end word): {line.strip()!r}")
        if fields[2] not in NON_WORDS:
            start, end = (int(t) / ALIGN_UNITS_PER_SECOND for t in fields[:2])
            words.append(Word(fields[2], start, end))
    return words


def read_corpus(corpus_dir: Path, speaker: str = "s1") -> list[Utterance]:
    """Every utterance of the folder, sorted by id; a recording without its align file (or, in a folder with
    video/, without its video) is an error naming both."""
    corpus_dir = Path(corpus_dir).resolve()
    has_video = (corpus_dir / "video").is_dir()
    utterances = []
    for flac in sorted((corpus_dir / "audio").glob("*.flac")):
        align, video = corpus_dir / "align" / f"{flac.stem}.align", corpus_dir / "video" / f"{flac.stem}.mp4"
        if not align.is_file():
            raise AsrkitError(f"{align}: missing (the transcript of {flac})")
        if has_video and not video.is_file():
            raise AsrkitError(f"{video}: missing (the video of {flac})")
        utterances.append(Utterance(flac, speaker, read_alignment(align), video if has_video else None))
    if not utterances:
        raise AsrkitError(f"{corpus_dir}/audio: no GRID recordings (*.flac)")
    return utterances


def split(utterances: list[Utterance]) -> dict[str, list[Utterance]]:
    """The recipes' split of id-sorted utterances: every 20th from index 0 is dev, from index 10 test, the rest train
    (of 1000: 900/50/50, each held-out set spread over the whole grammar)."""
    sets = {"train": [], "dev": [], "test": []}
    for index, utterance in enumerate(utterances):
        sets[SPLIT_OFFSETS.get(index % SPLIT_PERIOD, "train")].append(utterance)
    return sets


HELDOUT_SET = "test_pairs"  # the held-out command x colour split's out-of-domain test set
LETTERS_SET = "test_letters"  # the held-out letters split's test set (letter names the base never heard)
LETTER_SLOT = 3  # the letter's place in a GRID command (GRAMMAR)


def parse_pairs(spec: str) -> set[tuple[str, str]]:
    """"bin:blue lay:green" (or comma-separated) -> {("bin", "blue"), ("lay", "green")}: the pairs to hold out."""
    pairs = set()
    for item in spec.replace(",", " ").split():
        parts = item.split(":")
        if len(parts) != 2 or not all(parts):
            raise AsrkitError(f"held-out pair {item!r} is not COMMAND:COLOUR (e.g. bin:blue)")
        pairs.add((parts[0], parts[1]))
    return pairs


def parse_letters(spec: str) -> set[str]:
    """"n-z" (a range of GRID's letters, which skip w) or "a c e" / "a,c,e" -> the letters to hold out."""
    letters = set()
    for item in spec.replace(",", " ").split():
        first, dash, last = item.partition("-")
        if first not in GRAMMAR[LETTER_SLOT] or (dash and last not in GRAMMAR[LETTER_SLOT]):
            raise AsrkitError(f"held-out letters {item!r}: not a GRID letter or range of them "
                              "(a-z without w, e.g. n-z)")
        span = GRAMMAR[LETTER_SLOT].index(first), GRAMMAR[LETTER_SLOT].index(last or first)
        if span[0] > span[1]:
            raise AsrkitError(f"held-out letters {item!r}: a range runs forwards (e.g. n-z)")
        letters.update(GRAMMAR[LETTER_SLOT][span[0] : span[1] + 1])
    return letters


def command_colour(utterance: Utterance) -> tuple[str, str]:
    """A GRID command's first two words: its command (bin lay place set) and colour (blue green red white)."""
    return utterance.words[0].word, utterance.words[1].word


def letter(utterance: Utterance) -> str:
    return utterance.words[LETTER_SLOT].word


def hold_out_pairs(sets: dict[str, list[Utterance]], pairs: set[tuple[str, str]]) -> dict[str, list[Utterance]]:
    """The split with every utterance whose command and colour (its first two words) are a held-out pair moved out of
    each set into HELDOUT_SET: a word-combination shift, each word still heard in training, the pair never."""
    return hold_out(sets, command_colour, pairs, HELDOUT_SET, "held-out pair", ":".join)


def hold_out_letters(sets: dict[str, list[Utterance]], letters: set[str]) -> dict[str, list[Utterance]]:
    """The split with every utterance whose letter is held out moved into LETTERS_SET: words (letter names) the
    base model never hears, an acoustic shift as well as a textual one."""
    return hold_out(sets, letter, letters, LETTERS_SET, "held-out letter", str)


def hold_out(sets: dict[str, list[Utterance]], key, values: set, name: str, what: str, show) -> dict:
    """Every utterance whose key(utterance) is in `values` moved out of each set into set `name`; a value in no
    utterance is an error (show(value) names it)."""
    out = {set_name: [u for u in utterances if key(u) not in values] for set_name, utterances in sets.items()}
    out[name] = sorted((u for utterances in sets.values() for u in utterances if key(u) in values),
                       key=lambda u: u.utt_id)
    if missing := sorted(values - {key(u) for u in out[name]}):
        raise AsrkitError(f"{what} {show(missing[0])} is in no utterance (GRID's grammar: "
                          f"{' | '.join(' '.join(slot) for slot in GRAMMAR)})")
    return out


def write_utterances(data_dir: Path, utterances: list[Utterance], trim_db: float = 0.0, margin_s: float = 0.15) -> None:
    """A Kaldi data dir (wav.scp, text, utt2spk, spk2utt, and video.scp when the utterances have videos).
    trim_db > 0: a `segments` file cuts each recording to its speech region, margin_s wider on both sides
    (asrkit/data/vad.py), and the dir is audio-only: the whole videos would no longer match the cut audio."""
    videos = {u.utt_id: str(u.video) for u in utterances if u.video is not None and trim_db <= 0}
    wav_scp = {u.utt_id: str(u.audio) for u in utterances}
    segments = speech_segments(wav_scp, trim_db, margin_s, f"vad {Path(data_dir).name}") if trim_db > 0 else None
    write_data_dir(data_dir, wav_scp, {u.utt_id: u.text for u in utterances}, {u.utt_id: u.speaker for u in utterances},
                   segments=segments, video_scp=videos or None)


def grammar_sentences(count: int, seed: int, keep=None, exclude: set[str] = frozenset()) -> list[str]:
    """`count` distinct grammar sentences drawn by `seed`, those whose words `keep(words)` accepts when given, none
    in `exclude`; fewer when the grammar has no more."""
    import itertools
    import random

    pool = [" ".join(words) for words in itertools.product(*GRAMMAR) if keep is None or keep(words)]
    pool = [sentence for sentence in pool if sentence not in exclude]
    return sorted(random.Random(seed).sample(pool, min(count, len(pool))))
