import pytest

from asrkit.data.tokens import Tokenizer, build_token_list
from asrkit.errors import AsrkitError


def _text(tmp_path, lines):
    path = tmp_path / "text"
    path.write_text("".join(f"u{i} {line}\n" for i, line in enumerate(lines)))
    return path


def test_char_token_list_follows_espnet_layout(tmp_path):
    token_list = build_token_list(_text(tmp_path, ["YES NO", "NO NO"]), tmp_path / "tok", "char")
    tokens = token_list.read_text().splitlines()
    assert tokens[0] == "<blank>" and tokens[1] == "<unk>" and tokens[-1] == "<sos/eos>"
    assert set(tokens[2:-1]) == {"<space>", "Y", "E", "S", "N", "O"}


@pytest.mark.parametrize("token_type", ["char", "word", "bpe", "unigram"])
def test_encode_decode_round_trip(tmp_path, token_type):
    lines = ["one two three", "four five six", "seven eight nine zero"] * 5
    token_list = build_token_list(_text(tmp_path, lines), tmp_path / "tok", token_type, vocab_size=40)
    bpe = tmp_path / "tok" / "bpe.model"
    tokenizer = Tokenizer(token_list, token_type, bpe)
    ids = tokenizer.encode("nine one zero")
    assert 0 not in ids and tokenizer.sos_eos not in ids
    assert tokenizer.decode(ids) == "nine one zero"


def test_special_tokens_never_reach_the_text(tmp_path):
    tokenizer = Tokenizer(build_token_list(_text(tmp_path, ["six"]), tmp_path / "tok", "char"))
    ids = tokenizer.encode("six") + [tokenizer.sos_eos, 0]
    assert tokenizer.decode(ids) == "six"


def test_unknown_token_type_is_refused(tmp_path):
    with pytest.raises(AsrkitError, match="token type 'phone'"):
        build_token_list(_text(tmp_path, ["a"]), tmp_path / "tok", "phone")
