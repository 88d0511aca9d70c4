"""Token inventories: characters, words or sentencepiece (unigram/bpe), in ESPnet's token-list layout.

A token dir holds tokens.txt (one token per line; the line number is the id. `<blank>` is 0 (CTC), `<unk>` is 1 and
`<sos/eos>` is last, exactly as ESPnet writes it, so exported models line up with espnet2), token_type (one line:
char, word, bpe or unigram) and, for bpe/unigram, the sentencepiece model bpe.model. An exp dir is a token dir too.
"""

from pathlib import Path

import sentencepiece as spm

from asrkit.data.datadir import read_dict
from asrkit.errors import AsrkitError
from asrkit.fileio import atomic_write, copy_file

BLANK, UNK, SOS_EOS, SPACE = "<blank>", "<unk>", "<sos/eos>", "<space>"
TOKEN_TYPES = ("char", "word", "bpe", "unigram")
TOKEN_TYPE_FILE = "token_type"
TOKEN_DIR_FILES = ("tokens.txt", TOKEN_TYPE_FILE, "bpe.model")  # what a copy of a token dir takes (bpe.model if there)


class Tokenizer:
    """Text <-> token ids for one token list (and its sentencepiece model for bpe/unigram)."""

    def __init__(self, token_list: Path, token_type: str = "char", bpe_model: Path | None = None):
        if token_type not in TOKEN_TYPES:
            raise AsrkitError(f"token type '{token_type}' is not one of {', '.join(TOKEN_TYPES)}")
        self.tokens = Path(token_list).read_text(encoding="utf-8").split("\n")[:-1]
        self.token_to_id = {token: i for i, token in enumerate(self.tokens)}
        self.sp = spm.SentencePieceProcessor(model_file=str(bpe_model)) if token_type in ("bpe", "unigram") else None
        self.token_type = token_type
        self.words = token_type == "word"
        self.unk = self.token_to_id[UNK]

    @classmethod
    def from_dir(cls, token_dir: Path) -> "Tokenizer":
        """The tokenizer of a token dir (or exp dir): tokens.txt, token_type, bpe.model."""
        token_dir = Path(token_dir)
        for name in ("tokens.txt", TOKEN_TYPE_FILE):
            if not (token_dir / name).is_file():
                raise AsrkitError(f"{token_dir / name}: missing; a token dir is written by `asrkit tokens`")
        token_type = (token_dir / TOKEN_TYPE_FILE).read_text(encoding="utf-8").strip()
        if token_type in ("bpe", "unigram") and not (token_dir / "bpe.model").is_file():
            raise AsrkitError(f"{token_dir / 'bpe.model'}: missing; token_type {token_type} needs its sentencepiece model")
        return cls(token_dir / "tokens.txt", token_type, token_dir / "bpe.model")

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    @property
    def sos_eos(self) -> int:
        return self.vocab_size - 1

    def text_to_tokens(self, text: str) -> list[str]:
        if self.sp is not None:
            return self.sp.encode(text, out_type=str)
        if self.words:
            return text.split()
        return [SPACE if c == " " else c for c in " ".join(text.split())]

    def encode(self, text: str) -> list[int]:
        return self.encode_checked(text)[0]

    def encode_checked(self, text: str) -> tuple[list[int], str | None]:
        """encode(text), and its first token outside the list (or `<unk>` itself): None when every token is known."""
        tokens = self.text_to_tokens(text)
        ids = [self.token_to_id.get(t, self.unk) for t in tokens]
        return ids, tokens[ids.index(self.unk)] if self.unk in ids else None

    def ids_to_tokens(self, ids) -> list[str]:
        specials = {0, self.sos_eos}
        return [self.tokens[i] for i in ids if i not in specials]

    def decode(self, ids) -> str:
        tokens = self.ids_to_tokens(ids)
        if self.sp is not None:
            return self.sp.decode(tokens)
        if self.words:
            return " ".join(tokens)
        return "".join(" " if t == SPACE else t for t in tokens).strip()


def build_token_list(text_file: Path, out_dir: Path, token_type: str = "char", vocab_size: int = 30) -> Path:
    """Train the token inventory on a Kaldi `text` file; writes the token dir OUT (tokens.txt, token_type, bpe.model)."""
    if token_type not in TOKEN_TYPES:
        raise AsrkitError(f"token type '{token_type}' is not one of {', '.join(TOKEN_TYPES)}")
    transcripts = list(read_dict(text_file).values())
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if token_type == "char":
        body = sorted({SPACE if c == " " else c for line in transcripts for c in " ".join(line.split())})
    elif token_type == "word":
        body = sorted({word for line in transcripts for word in line.split()})
    else:
        body = _train_sentencepiece(transcripts, out_dir, token_type, vocab_size)
    tokens = [BLANK, UNK] + [t for t in body if t not in (BLANK, UNK, SOS_EOS)] + [SOS_EOS]
    token_list = out_dir / "tokens.txt"
    with atomic_write(token_list) as f:
        f.write("".join(t + "\n" for t in tokens))
    with atomic_write(out_dir / TOKEN_TYPE_FILE) as f:
        f.write(token_type + "\n")
    return token_list


def copy_token_dir(token_dir: Path, out_dir: Path):
    """Copy a token dir's files (into an exp dir), atomically each."""
    for name in TOKEN_DIR_FILES:
        if (Path(token_dir) / name).exists():
            copy_file(Path(token_dir) / name, Path(out_dir) / name)


def _train_sentencepiece(transcripts: list[str], out_dir: Path, model_type: str, vocab_size: int) -> list[str]:
    train_text = out_dir / "train.txt"
    with atomic_write(train_text) as f:
        f.write("".join(line + "\n" for line in transcripts))
    spm.SentencePieceTrainer.train(
        input=str(train_text),
        model_prefix=str(out_dir / "bpe"),
        model_type=model_type,
        vocab_size=vocab_size,
        character_coverage=1.0,
        # Tiny corpora (digits, yes/no) cannot fill a fixed vocabulary; take what they have.
        hard_vocab_limit=False,
        unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1,
        minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_file=str(out_dir / "bpe.model"))
    return [sp.id_to_piece(i) for i in range(sp.get_piece_size()) if i != sp.unk_id()]
