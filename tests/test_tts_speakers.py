"""Speaker-conditioned FastSpeech2 (`speakers: true`): speaker indices in the exp dir, a voice per speaker."""

import numpy as np
import pytest
import yaml

from asrkit.data.datadir import read_dict, write_data_dir, load_data_dir
from asrkit.tts.voice import ModelVoice
from asrkit.tts.voices import VoiceError


@pytest.fixture(scope="module")
def two_speaker_tts(grid_aligned, tmp_path_factory):
    """The 12 aligned GRID utterances split between two made-up speakers, and a tiny speaker-conditioned TTS."""
    from asrkit.tts.train import train_tts

    root = tmp_path_factory.mktemp("speakers")
    data = load_data_dir(grid_aligned["data"])
    utt2spk = {utt: ("a" if i % 2 else "b") + "-s1" for i, utt in enumerate(data.utt_ids)}
    write_data_dir(root / "data", data.wav_scp, data.text, utt2spk)
    config = yaml.safe_load(grid_aligned["tts_config"].read_text()) | {"speakers": True, "max_epoch": 3}
    (root / "tts.yaml").write_text(yaml.safe_dump(config))
    train_tts(root / "data", root / "tts", root / "tts.yaml", grid_aligned["align"])
    return root / "tts"


def test_a_speaker_conditioned_tts_numbers_its_speakers_and_speaks_as_each(two_speaker_tts):
    assert read_dict(two_speaker_tts / "spk2sid") == {"a-s1": "0", "b-s1": "1"}
    assert yaml.safe_load((two_speaker_tts / "config.yaml").read_text())["model"]["spks"] == 2
    a, _ = ModelVoice(f"{two_speaker_tts}@a-s1").synthesize("bin blue")
    b, _ = ModelVoice(f"{two_speaker_tts}@b-s1").synthesize("bin blue")
    assert not np.array_equal(a, b)


def test_a_speaker_conditioned_voice_needs_a_known_speaker(two_speaker_tts):
    with pytest.raises(VoiceError, match="a-s1 b-s1"):
        ModelVoice(f"{two_speaker_tts}@nobody")


def test_a_single_speaker_tts_refuses_a_speaker(grid_tts):
    assert not (grid_tts / "spk2sid").exists()
    with pytest.raises(VoiceError, match="single-speaker"):
        ModelVoice(f"{grid_tts}@a")
