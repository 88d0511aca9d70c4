"""English transcript normalisation: the one form of a sentence that training text, references and BPE share.

normalize_text lower-cases, folds accented letters to their base letter (Müller -> muller), keeps an apostrophe only
between two letters (don't, Oswald's; quotes and the trailing one of "debtors'" go) and turns every other character
that is not a letter or a digit into a space (commas, hyphens, brackets), so "Twenty-one, (he said)." becomes
"twenty one he said". It expands nothing: corpora whose text spells out numbers and abbreviations (LJSpeech's
normalized column) are what it is for. normalize_text_file applies it to a Kaldi `text` file in place, so engines
can read the punctuated sentence (and pause at its commas) while the data dir keeps the normalised transcript.
"""

import re
import unicodedata
from pathlib import Path

from asrkit.data.datadir import DataDirError, read_dict, write_table

# Curly apostrophes and the modifier letter are the same apostrophe for a transcript.
APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def normalize_text(text: str) -> str:
    """Lower-case letters, digits and in-word apostrophes, single spaces between words (see the module doc)."""
    folded = unicodedata.normalize("NFKD", text.translate(APOSTROPHES).lower())
    letters = "".join(c for c in folded if not unicodedata.combining(c))
    kept = re.sub(r"[^\w']|_", " ", letters)
    # An apostrophe survives only with a letter on each side: contractions and possessives, not quotes.
    kept = re.sub(r"(?<![^\W\d_])'|'(?![^\W\d_])", " ", kept)
    return " ".join(kept.split())


def normalize_text_file(path) -> None:
    """Normalise every transcript of a Kaldi `text` file, rewriting it atomically; one that normalises to nothing
    (only punctuation) is an error naming the utterance."""
    texts = read_dict(path)
    normalized = {utt: normalize_text(text) for utt, text in texts.items()}
    empty = [utt for utt, text in normalized.items() if not text]
    if empty:
        raise DataDirError(f"{path}: utterance '{empty[0]}': the transcript '{texts[empty[0]]}' has no words")
    write_table(Path(path), normalized)
