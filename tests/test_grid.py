"""asrkit.data.grid: GRID's alignments as transcripts (six words, no sil/sp) and the recipes' 900/50/50 split."""

import pytest
from conftest import shared_corpus

from asrkit.data.datadir import read_dict, validate_data_dir
from asrkit.data.grid import (
    HELDOUT_SET,
    LETTERS_SET,
    command_colour,
    hold_out_letters,
    hold_out_pairs,
    letter,
    parse_letters,
    parse_pairs,
    read_alignment,
    read_corpus,
    split,
    write_utterances,
)
from asrkit.errors import AsrkitError


def test_every_transcript_is_six_words_without_sil_or_sp_and_the_split_is_900_50_50(tmp_path):
    sets = split(read_corpus(shared_corpus("grid_s1")))
    assert {name: len(utts) for name, utts in sets.items()} == {"train": 900, "dev": 50, "test": 50}
    for name, utterances in sets.items():
        write_utterances(tmp_path / name, utterances)
        assert validate_data_dir(tmp_path / name) == []
        texts = read_dict(tmp_path / name / "text").values()
        assert all(len(t.split()) == 6 and not {"sp", "sil"} & set(t.split()) for t in texts)
    assert sets["dev"][0].utt_id == "s1_bbaf2n" and sets["test"][0].utt_id == "s1_bbas3a"


def test_a_short_pause_does_not_shift_the_words_after_it():
    words = read_alignment(shared_corpus("grid_s1") / "align" / "bbiz2p.align")  # "... z sp two please"
    assert [w.word for w in words] == ["bin", "blue", "in", "z", "two", "please"]
    assert words[4].start == pytest.approx(35750 / 25000) and words[4].end == pytest.approx(41000 / 25000)


def test_a_line_that_is_not_an_alignment_is_named_with_its_line_number(tmp_path):
    (tmp_path / "x.align").write_text("0 100 sil\n100 two bin\n")
    with pytest.raises(AsrkitError, match=r"x.align:2: not a GRID alignment line"):
        read_alignment(tmp_path / "x.align")


def test_a_recording_without_its_alignment_is_named(tmp_path):
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "bbaf2n.flac").touch()
    with pytest.raises(AsrkitError, match=r"align/bbaf2n.align: missing"):
        read_corpus(tmp_path)


def test_held_out_pairs_leave_training_and_form_their_own_test_set():
    sets = split(read_corpus(shared_corpus("grid_s1")))
    pairs = parse_pairs("bin:blue lay:green place:red set:white")
    held = hold_out_pairs(sets, pairs)
    assert {command_colour(u) for u in held[HELDOUT_SET]} == pairs
    for name in ("train", "dev", "test"):
        assert not {command_colour(u) for u in held[name]} & pairs
        assert len(held[name]) < len(sets[name])
    assert sum(map(len, held.values())) == 1000
    # every word of the held-out pairs is still heard in training, only the combination is not
    train_words = {w.word for u in held["train"] for w in u.words}
    assert {word for p in pairs for word in p} <= train_words


def test_a_malformed_or_absent_pair_is_a_one_line_error():
    with pytest.raises(AsrkitError, match="'bin-blue' is not COMMAND:COLOUR"):
        parse_pairs("bin-blue")
    with pytest.raises(AsrkitError, match="bin:purple is in no utterance"):
        hold_out_pairs(split(read_corpus(shared_corpus("grid_s1"))), {("bin", "purple")})


def test_held_out_letters_are_never_heard_in_training_and_form_their_own_test_set():
    letters = parse_letters("n-z")
    assert letters == set("nopqrstuvxyz")  # GRID has no w
    sets = split(read_corpus(shared_corpus("grid_s1")))
    held = hold_out_letters(sets, letters)
    assert {letter(u) for u in held[LETTERS_SET]} == letters
    train_words = {w.word for u in held["train"] for w in u.words}
    assert not train_words & letters and set("abcdefghijklm") <= train_words
    assert sum(map(len, held.values())) == 1000


def test_a_letter_grid_lacks_is_a_one_line_error():
    with pytest.raises(AsrkitError, match="held-out letters 'w': not a GRID letter"):
        parse_letters("w")
    with pytest.raises(AsrkitError, match="held-out letters 'n-w'"):
        parse_letters("n-w")
    with pytest.raises(AsrkitError, match="held-out letters 'z-n': a range runs forwards"):
        parse_letters("z-n")
    with pytest.raises(AsrkitError, match="held-out letters 'a-': not a GRID letter or range"):
        parse_letters("a-")
