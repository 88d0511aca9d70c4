"""asrkit.data.vad on real speech: the energy detector finds the words, GRID data dirs are cut to them as `segments`
(by the library and by egs/grid/asr1/local/data.sh), and features made before the cut are not reused after it."""

import shutil

import numpy as np
import pytest
import soundfile
from conftest import run_recipe, shared_corpus

from asrkit.data.audio import AudioError
from asrkit.data.datadir import load_data_dir, read_dict, validate_data_dir, write_data_dir
from asrkit.data.features import FbankConfig, compute_fbank_job, merge_feature_jobs
from asrkit.data.grid import read_corpus, write_utterances
from asrkit.data.vad import speech_region, speech_segments


def test_the_speech_region_of_grid_utterances_is_where_grid_says_the_words_are():
    errors = []
    for utt in read_corpus(shared_corpus("grid_s1"), speaker="s1")[::50]:  # 20 utterances
        samples, fs = soundfile.read(utt.audio)
        start, end = speech_region(samples, fs, trim_db=15)
        errors += [start / fs - utt.words[0].start, end / fs - utt.words[-1].end]
    # ~0.55 s of silence leads and ~0.95 s trails each command: the region must cut most of it
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
    assert validate_data_dir(tmp_path / "trim", check_audio=True) == []
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


def test_at_the_recipes_setting_no_grid_segment_cuts_off_more_than_the_end_of_a_quiet_last_word():
    utterances = read_corpus(shared_corpus("grid_s1"))
    segments = speech_segments({u.utt_id: str(u.audio) for u in utterances}, trim_db=10, margin_s=0.15)
    short = {u.utt_id: round(u.words[-1].end - segments[u.utt_id][2], 3) for u in utterances}
    clipped = {utt: s for utt, s in short.items() if s > 0.1}
    # vad.py's known limit: three quiet "please"s end in bursts under 80 ms; each keeps its first ~0.15 s
    assert len(clipped) <= 3 and max(short.values()) < 0.3, clipped


def test_recipe_data_prep_cuts_grid_to_speech_unless_told_to_keep_whole_recordings(tmp_path):
    grid = str(shared_corpus("grid_s1"))
    run_recipe("grid", tmp_path / "trim", "--stop_stage", "1", GRID_S1=grid)
    run_recipe("grid", tmp_path / "whole", "--stop_stage", "1", "--local_data_opts", "--trim_db 0 --trim_margin 0",
               GRID_S1=grid)
    for name in ("train", "dev", "test"):
        trimmed = load_data_dir(tmp_path / "trim" / "data" / name)
        assert sorted(trimmed.segments) == trimmed.utt_ids
        assert not (tmp_path / "trim" / "data" / name / "video.scp").exists()
        lengths = [end - start for _, start, end in trimmed.segments.values()]
        assert min(lengths) > 1.0 and 1.4 < np.median(lengths) < 2.2, lengths  # of ~3 s recordings
        whole = tmp_path / "whole" / "data" / name
        assert not (whole / "segments").exists() and (whole / "video.scp").exists()


def test_an_empty_recording_is_an_error_naming_its_utterance(tmp_path):
    soundfile.write(tmp_path / "empty.wav", np.zeros(0), 16000)
    with pytest.raises(AudioError, match="utterance 'u2'.*no audio"):
        speech_segments({"u2": str(tmp_path / "empty.wav")}, trim_db=10, margin_s=0.1)


def test_features_of_audio_rewritten_at_the_same_path_are_computed_again(tmp_path):
    def frames(feat_dir):
        scp = compute_fbank_job(tmp_path / "data", tmp_path / feat_dir, FbankConfig())
        return read_dict(scp.with_suffix(".num_frames"))["u1"]

    takes = sorted((shared_corpus("fsdd") / "recordings").glob("3_jackson_*.wav"))[:2]
    shutil.copy(takes[0], tmp_path / "a.wav")
    write_data_dir(tmp_path / "data", {"u1": str(tmp_path / "a.wav")}, {"u1": "three"}, {"u1": "jackson"})
    before = frames("fbank")
    shutil.copy(takes[1], tmp_path / "a.wav")  # another take at the same path, as perturbation rewrites its audio
    assert frames("fbank") == frames("fresh") != before
