"""asrkit.data.fsdd: the FSDD file-name convention both FSDD-reading recipes rely on."""

import pytest
from conftest import shared_corpus

from asrkit.data.datadir import validate_data_dir
from asrkit.data.fsdd import OFFICIAL_TEST_TAKES, read_recordings, write_recordings
from asrkit.errors import AsrkitError


def test_reads_every_recording_with_its_word_and_speaker(tmp_path):
    recordings = read_recordings(shared_corpus("fsdd") / "recordings")
    assert len(recordings) == 3000
    assert len({r.speaker for r in recordings}) == 6
    test = [r for r in recordings if r.take in OFFICIAL_TEST_TAKES]
    assert len(test) == 300
    write_recordings(tmp_path / "test", test)
    assert validate_data_dir(tmp_path / "test") == []
    first = (tmp_path / "test" / "text").read_text().splitlines()[0]
    assert first == "george_0_00 zero"


def test_a_name_that_does_not_parse_is_named(tmp_path):
    (tmp_path / "0_george_1.wav").touch()
    (tmp_path / "george-take1.wav").touch()
    with pytest.raises(AsrkitError, match="george-take1.wav: not an FSDD name"):
        read_recordings(tmp_path)
