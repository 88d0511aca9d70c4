"""CTC forced alignment to TTS durations: exact frame sums, blanks shared out, one duration per TTS token."""

import soundfile

from asrkit.data.datadir import read_dict
from asrkit.data.tokens import Tokenizer
from asrkit.tts.align import durations_from_spans, read_durations, tts_token_ids
from asrkit.tts.model import TTSConfig


def test_blanks_go_to_neighbours_and_durations_fill_the_utterance():
    # 10 encoder frames: silence 0-2, token A at 2-3, blanks 3-5, token B at 5-6, trailing blanks 6-10.
    durations = durations_from_spans([(2, 3), (5, 6)], num_enc_frames=10, num_frames=10)
    assert durations == [2, 2, 2, 4]  # A takes half of the gap (3-4), B the other half (4-6)
    assert sum(durations_from_spans([(1, 2), (2, 4), (7, 8)], 9, 37)) == 37  # rescaled, still exact


def test_alignment_of_grid_utterances_sums_to_their_mel_frames(grid_aligned):
    durations = read_durations(grid_aligned["align"] / "durations")
    text = read_dict(grid_aligned["data"] / "text")
    wav_scp = read_dict(grid_aligned["data"] / "wav.scp")
    tokenizer = Tokenizer.from_dir(grid_aligned["align"])
    features = TTSConfig.load(grid_aligned["tts_config"]).feature_config
    assert sorted(durations) == sorted(text)
    for utt, d in durations.items():
        assert len(d) == len(tts_token_ids(tokenizer, text[utt])) == len(text[utt]) + 2
        assert sum(d) == features.num_frames(soundfile.info(wav_scp[utt]).frames)
        assert min(d) >= 0


def test_an_utterance_whose_text_cannot_fit_is_an_error_or_left_out(grid_aligned, tmp_path):
    import pytest

    from asrkit.data.datadir import DataDirError, load_data_dir, write_data_dir
    from asrkit.tts.align import align_data_dir

    data = load_data_dir(grid_aligned["data"])
    first = data.utt_ids[0]
    text = {**data.text, first: " ".join(["bin blue at f two now"] * 20)}  # far more characters than frames
    write_data_dir(tmp_path / "data", data.wav_scp, text, data.utt2spk)
    features = TTSConfig.load(grid_aligned["tts_config"]).feature_config
    with pytest.raises(DataDirError, match=first):
        align_data_dir(tmp_path / "data", grid_aligned["asr"], tmp_path / "strict", features)
    align_data_dir(tmp_path / "data", grid_aligned["asr"], tmp_path / "skip", features, skip_unfit=True)
    assert sorted(read_durations(tmp_path / "skip" / "durations")) == data.utt_ids[1:]


def test_a_trimmed_alignment_still_fills_each_utterance(grid_aligned, tmp_path):
    from asrkit.tts.align import align_data_dir

    features = TTSConfig.load(grid_aligned["tts_config"]).feature_config
    align_data_dir(grid_aligned["data"], grid_aligned["asr"], tmp_path / "trim", features, trim_db=15)
    wav_scp = read_dict(grid_aligned["data"] / "wav.scp")
    durations = read_durations(tmp_path / "trim" / "durations")
    assert sorted(durations) == sorted(wav_scp)
    for utt, d in durations.items():
        assert sum(d) == features.num_frames(soundfile.info(wav_scp[utt]).frames) and min(d) >= 0
    whole = read_durations(grid_aligned["align"] / "durations")
    assert any(durations[u][0] != whole[u][0] for u in durations)  # the leading silence moved
