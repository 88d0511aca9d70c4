"""asrkit.data.ljspeech: the sentences of metadata.csv, the split of their ids, and the real readings of them."""

import pytest
from conftest import shared_corpus

from asrkit.data.datadir import validate_data_dir
from asrkit.data.ljspeech import (
    read_metadata,
    read_recordings,
    split_sentences,
    write_recordings,
)
from asrkit.errors import AsrkitError


def test_reads_all_13100_sentences_with_their_punctuation():
    sentences = read_metadata(shared_corpus("ljspeech_text") / "metadata.csv")
    assert len(sentences) == 13100
    assert sentences["LJ001-0002"] == "in being comparatively modern."


def test_a_malformed_line_is_named_by_file_and_line(tmp_path):
    metadata = tmp_path / "metadata.csv"
    metadata.write_text("LJ001-0001|Printing, in the only sense\nLJ001-0002 in being modern.\n")
    with pytest.raises(AsrkitError, match=r"metadata.csv:2: not an LJSpeech metadata line"):
        read_metadata(metadata)


def test_the_split_is_disjoint_leaves_out_the_read_sentences_and_keeps_test_whatever_the_train_size():
    sentences = read_metadata(shared_corpus("ljspeech_text") / "metadata.csv")
    read = {r.sentence_id for r in read_recordings(shared_corpus("lj_read"))}
    sets = split_sentences(sentences, {"test": 100, "dev": 100, "train": 0}, seed=0, exclude=read)
    assert [len(ids) for ids in sets.values()] == [100, 100, 13100 - len(read) - 200]
    train, test, dev = set(sets["train"]), set(sets["test"]), set(sets["dev"])
    assert not train & test and not train & dev and not test & dev
    assert not read & (train | test | dev)
    smaller = split_sentences(sentences, {"test": 100, "dev": 100, "train": 50}, seed=0, exclude=read)
    assert smaller["test"] == sets["test"] and set(smaller["train"]) < train
    with pytest.raises(AsrkitError, match="available"):
        split_sentences(sentences, {"test": 13000, "train": 500}, exclude=read)


def test_the_real_readings_become_a_data_dir_of_normalised_sentences(tmp_path):
    metadata = read_metadata(shared_corpus("ljspeech_text") / "metadata.csv")
    recordings = read_recordings(shared_corpus("lj_read"))
    assert len(recordings) == 173 and {r.speaker for r in recordings} == {"lj", "pm"}
    write_recordings(tmp_path / "test", recordings, metadata)
    assert validate_data_dir(tmp_path / "test") == []
    assert (tmp_path / "test" / "text").read_text().splitlines()[1] == "lj_LJ001-0002 in being comparatively modern"
    with pytest.raises(AsrkitError, match="LJ001-0002 is not in the metadata"):
        write_recordings(tmp_path / "bad", recordings, {k: v for k, v in metadata.items() if k != "LJ001-0002"})
