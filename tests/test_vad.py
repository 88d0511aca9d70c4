"""asrkit.data.vad on real speech: the energy detector finds the words, GRID data dirs are cut to them as `segments`,
and features made before the cut are not reused after it."""

import numpy as np
import soundfile
from conftest import shared_corpus

from asrkit.data.datadir import load_data_dir, read_dict, validate_data_dir
from asrkit.data.features import FbankConfig, compute_fbank_job, merge_feature_jobs
from asrkit.data.grid import read_corpus, write_utterances
from asrkit.data.vad import speech_region, speech_segments


def test_the_speech_region_of_grid_utterances_is_where_grid_says_the_words_are():
    errors = []
    for utt in read_corpus(shared_corpus("grid_s1"), speaker="s1")[::50]:  # 20 utterances
        samples, fs = soundfile.read(utt.audio)
        start, end = speech_region(samples, fs, trim_db=15)
        errors += [start / fs - utt.words[0].start, end / fs - utt.words[-1].end]
    # ~0.8 s of silence leads and ~1 s trails each command: the region must cut most of it
    assert np.median(np.abs(errors)) < 0.15, errors


def test_a_spoken_digit_padded_with_a_second_of_noise_is_found_within_the_margin(tmp_path):
    speech, fs = soundfile.read(shared_corpus("fsdd") / "recordings" / "7_jackson_0.wav")
    first, last = speech_region(speech, fs, trim_db=10)  # the digit inside its own short recording
    noise = np.random.default_rng(0).normal(0, 1e-4, fs)
    soundfile.write(tmp_path / "padded.wav", np.concatenate([noise, speech, noise]), fs)
    segments = speech_segments({"u1": str(tmp_path / "padded.wav")}, trim_db=10, margin_s=0.1)
    recording, start, end = segments["u1"]
    assert recording == "u1"
    # none of the digit cut off (its region in its own recording, plus the margin), the padding's second cut away
    assert 1.0 - 0.2 < start <= 1.0 + first / fs - 0.1 + 0.01, segments
    assert 1.0 + last / fs + 0.1 - 0.01 <= end < 1.0 + len(speech) / fs + 0.2, segments


def test_trimmed_grid_data_dirs_validate_and_their_features_are_about_half_as_long(tmp_path):
    utterances = read_corpus(shared_corpus("grid_s1"))[:4]
    write_utterances(tmp_path / "whole", utterances)
    write_utterances(tmp_path / "trim", utterances, trim_db=10, margin_s=0.15)
    assert validate_data_dir(tmp_path / "trim") == []
    assert not (tmp_path / "trim" / "video.scp").exists() and (tmp_path / "whole" / "video.scp").exists()
    frames = {}
    for name in ("whole", "trim"):
        compute_fbank_job(tmp_path / name, tmp_path / f"fbank_{name}", FbankConfig())
        merge_feature_jobs(tmp_path / name, tmp_path / f"fbank_{name}", nj=1)
        frames[name] = {utt: int(n) for utt, n in read_dict(tmp_path / name / "utt2num_frames").items()}
    for utt in frames["whole"]:
        assert 0.3 < frames["trim"][utt] / frames["whole"][utt] < 0.8, frames


def test_features_of_a_data_dir_prepared_again_with_trimming_are_computed_again(tmp_path):
    utterances = read_corpus(shared_corpus("grid_s1"))[:3]
    write_utterances(tmp_path / "data", utterances)
    first = compute_fbank_job(tmp_path / "data", tmp_path / "fbank", FbankConfig())
    whole = {utt: int(n) for utt, n in read_dict(first.with_suffix(".num_frames")).items()}
    write_utterances(tmp_path / "data", utterances, trim_db=10)  # same ids, same config: other audio
    again = compute_fbank_job(tmp_path / "data", tmp_path / "fbank", FbankConfig())
    trimmed = {utt: int(n) for utt, n in read_dict(again.with_suffix(".num_frames")).items()}
    assert load_data_dir(tmp_path / "data").segments is not None
    assert all(trimmed[utt] < whole[utt] for utt in whole), (whole, trimmed)
