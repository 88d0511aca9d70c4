"""asrkit.data.text: the one transcript form of training text, references and BPE."""

import pytest

from asrkit.data.datadir import DataDirError
from asrkit.data.text import normalize_text, normalize_text_file


def test_case_punctuation_and_hyphens_go_and_words_are_single_spaced():
    assert normalize_text("Twenty-one, (he said);  \"no\" -- [sic].") == "twenty one he said no sic"


def test_apostrophes_stay_inside_words_only():
    assert normalize_text("Oswald's didn't 'quoted' the debtors' O\u2019Connor") == "oswald's didn't quoted the debtors o'connor"


def test_accented_letters_fold_to_their_base_letter():
    assert normalize_text("Müller's café, façade") == "muller's cafe facade"


def test_a_text_file_is_normalised_in_place_and_an_empty_transcript_is_named(tmp_path):
    text = tmp_path / "text"
    text.write_text("a1 In being comparatively modern.\nb2 Mr. Oswald's rifle\n")
    normalize_text_file(text)
    assert text.read_text() == "a1 in being comparatively modern\nb2 mr oswald's rifle\n"
    text.write_text("a1 fine\nb2 ... --\n")
    with pytest.raises(DataDirError, match="utterance 'b2'"):
        normalize_text_file(text)
