"""Target-domain text for adaptation: a plain text file, one sentence per line (blank lines skipped), turned into
an ASR model's token ids.

A token the model's token list lacks (a new word of a word model, a new character) is an error naming FILE:LINE,
unless `unk` allows mapping it to <unk>; then the count of mapped tokens is returned for the caller to report.
"""

from pathlib import Path

from asrkit.data.tokens import UNK, Tokenizer
from asrkit.errors import AsrkitError


def read_target_text(path: Path, tokenizer: Tokenizer, unk: bool = False) -> tuple[list[list[int]], int]:
    """The token ids of every non-blank line of `path`, and how many tokens were mapped to <unk>."""
    sentences, mapped = [], 0
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            text = line.strip()
            if not text:
                continue
            tokens = tokenizer.text_to_tokens(text)
            unknown = [t for t in tokens if t not in tokenizer.token_to_id or t == UNK]
            if unknown and not unk:
                raise AsrkitError(f"{path}:{number}: token '{unknown[0]}' is not in the model's token list "
                                  f"({len(unknown)} unknown on this line); fix the text or pass --unk to map them "
                                  f"to {UNK}")
            mapped += len(unknown)
            sentences.append([tokenizer.token_to_id.get(t, tokenizer.unk) for t in tokens])
    if not sentences:
        raise AsrkitError(f"{path}: no text (every line is blank)")
    return sentences, mapped
