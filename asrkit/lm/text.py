"""LM text: sentences, where each one is (FILE:LINE), and their ids in a token list.

A source is a data dir (its Kaldi `text`), a Kaldi `text` file (`uttid words`, whatever its name; the key is the
uttid) or, with `plain`, a text file of one sentence per line (the key is the line number; empty lines are skipped).
Tokens outside the token list (or `<unk>` itself) are an error naming FILE:LINE unless mapped to `<unk>` (training
with --unk); a perplexity excludes and counts such sentences (`asrkit lm ppl`, `asrkit ilm-ppl`).
"""

from dataclasses import dataclass
from pathlib import Path

from asrkit.data.datadir import read_dict
from asrkit.data.tokens import UNK, Tokenizer
from asrkit.errors import AsrkitError


@dataclass
class Sentence:
    key: str  # the uttid (Kaldi text) or the line number (plain text)
    where: str  # FILE:LINE, for errors
    text: str  # the words


def text_file(source: Path) -> Path:
    """The text file of a data dir (DATA/text) or a text file itself."""
    return Path(source) / "text" if Path(source).is_dir() else Path(source)


def read_sentences(source: Path, plain: bool = False) -> list[Sentence]:
    """The sentences of a data dir, a Kaldi `text` file or (plain) a text file of one sentence per line."""
    path = text_file(source)
    if not plain:
        # read_dict refuses empty and keyless lines, so the i-th entry is on line i
        return [Sentence(key, f"{path}:{number}", words)
                for number, (key, words) in enumerate(read_dict(path, allow_empty_value=True).items(), start=1)]
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError as error:
        raise AsrkitError(f"{path}: cannot read: {error.strerror}") from None
    sentences = []
    for number, raw in enumerate(lines, start=1):
        try:
            words = raw.decode("utf-8").strip()
        except UnicodeDecodeError as error:
            raise AsrkitError(f"{path}:{number}: not valid UTF-8 (byte 0x{raw[error.start]:02x})") from None
        if words:
            sentences.append(Sentence(str(number), f"{path}:{number}", words))
    return sentences


def training_ids(sentences: list[Sentence], tokenizer: Tokenizer, token_dir: Path, unk: bool) -> tuple[list[list[int]], int]:
    """Each sentence's token ids and how many tokens were mapped to <unk>; without `unk`, the first unknown token
    is an error naming its FILE:LINE."""
    utts, mapped = [], 0
    for sentence in sentences:
        ids, unknown = tokenizer.encode_checked(sentence.text)
        if unknown is not None and not unk:
            raise AsrkitError(f"{sentence.where}: token '{unknown}' is not in {Path(token_dir) / 'tokens.txt'} "
                              f"(--unk maps such tokens to {UNK})")
        mapped += ids.count(tokenizer.unk)
        utts.append(ids)
    return utts, mapped


def known_ids(sentences: list[Sentence], tokenizer: Tokenizer) -> tuple[dict[str, list[int]], dict[str, str]]:
    """key -> token ids of the sentences whose tokens are all in the list, and key -> first unknown token of the
    others (excluded, as SRILM excludes OOVs)."""
    utts, oov = {}, {}
    for sentence in sentences:
        ids, unknown = tokenizer.encode_checked(sentence.text)
        if unknown is None:
            utts[sentence.key] = ids
        else:
            oov[sentence.key] = unknown
    return utts, oov
