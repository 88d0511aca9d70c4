"""Kaldi data dirs (asrkit.data.datadir) and wav.scp audio (asrkit.data.audio)."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from asrkit.data import audio
from asrkit.data.audio import (
    AudioError,
    audio_duration,
    iter_utterance_audio,
    read_audio,
)
from asrkit.data.datadir import (
    DataDir,
    DataDirError,
    fix_data_dir,
    load_data_dir,
    read_dict,
    read_table,
    utt2spk_to_spk2utt,
    validate_data_dir,
    write_data_dir,
    write_table,
)
from asrkit.errors import AsrkitError

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RATE = 8000

VALID_FILES = {
    "wav.scp": "u1 {audio}/u1.wav\nu2 {audio}/u2.wav\nu3 {audio}/u3.wav\n",
    "text": "u1 yes no\nu2 no\nu3 yes\n",
    "utt2spk": "u1 s1\nu2 s1\nu3 s2\n",
    "spk2utt": "s1 u1 u2\ns2 u3\n",
}
# One 1.0 s recording cut into three utterances.
SEGMENTED_FILES = {
    **VALID_FILES,
    "wav.scp": "r1 {audio}/r1.wav\n",
    "segments": "u1 r1 0.00 0.40\nu2 r1 0.40 0.70\nu3 r1 0.70 1.00\n",
}


def shared_audio(pattern: str) -> Path:
    found = sorted(SHARED_DATA.glob(pattern))
    if not found:
        pytest.skip(f"no {pattern} under {SHARED_DATA}: the shared corpora are not installed")
    return found[0]


def write_tone(path: Path, seconds: float, rate=RATE, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.1 * np.sin(2 * np.pi * 440 * t)
    soundfile.write(path, np.stack([tone * (c + 1) for c in range(channels)], axis=1), rate)


def make_data_dir(root: Path, files: dict) -> Path:
    """A data dir under root/data holding `files` (str with {audio}, raw bytes, or None = absent)."""
    audio_dir = root / "audio"
    audio_dir.mkdir()
    for utt in ("u1", "u2", "u3"):
        write_tone(audio_dir / f"{utt}.wav", 0.5)
    write_tone(audio_dir / "r1.wav", 1.0)
    (audio_dir / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEjunk" + bytes(range(40)))
    data_dir = root / "data"
    data_dir.mkdir()
    for name, content in files.items():
        if isinstance(content, str):
            (data_dir / name).write_text(content.replace("{audio}", str(audio_dir)))
        elif content is not None:
            (data_dir / name).write_bytes(content)
    return data_dir


# ---------------------------------------------------------------- validate_data_dir

# (base files, changed files, validate kwargs, expected [(file, line or None, key words)])
MALFORMED = {
    "unsorted": (VALID_FILES, {"wav.scp": "u2 {audio}/u2.wav\nu1 {audio}/u1.wav\nu3 {audio}/u3.wav\n"}, {},
                 [("wav.scp", 2, "not sorted")]),
    "duplicate key": (VALID_FILES, {"text": "u1 yes no\nu2 no\nu2 no\nu3 yes\n"}, {},
                      [("text", 3, "duplicate key 'u2'")]),
    "utterance missing from text": (VALID_FILES, {"text": "u1 yes no\nu2 no\n"}, {},
                                    [("wav.scp", 3, "'u3' is missing from text")]),
    "spk2utt disagrees with utt2spk": (VALID_FILES, {"spk2utt": "s1 u1\ns2 u2 u3\n"}, {},
                                       [("spk2utt", 2, "'u2' is listed under speaker 's2'")]),
    "spk2utt lists unknown utterance": (VALID_FILES, {"spk2utt": "s1 u1 u2 u9\ns2 u3\n"}, {},
                                        [("spk2utt", 1, "'u9' (speaker 's1') is not in utt2spk")]),
    "utterance absent from spk2utt": (VALID_FILES, {"spk2utt": "s1 u1\ns2 u3\n"}, {},
                                      [("utt2spk", 2, "'u2' (speaker 's1') is not listed in spk2utt")]),
    "segment beyond recording": (SEGMENTED_FILES, {"segments": "u1 r1 0.00 0.40\nu2 r1 0.40 0.70\nu3 r1 0.70 1.50\n"},
                                 {"check_audio": True}, [("segments", 3, "beyond the end of recording 'r1'")]),
    "segment start not before end": (SEGMENTED_FILES, {"segments": "u1 r1 0.40 0.40\nu2 r1 0.40 0.70\nu3 r1 0.70 1.00\n"},
                                     {}, [("segments", 1, "not before end time")]),
    "segment negative start": (SEGMENTED_FILES, {"segments": "u1 r1 -0.10 0.40\nu2 r1 0.40 0.70\nu3 r1 0.70 1.00\n"},
                               {}, [("segments", 1, "negative")]),
    "segment recording not in wav.scp": (SEGMENTED_FILES, {"segments": "u1 r1 0.00 0.40\nu2 r2 0.40 0.70\nu3 r1 0.70 1.00\n"},
                                         {}, [("segments", 2, "recording 'r2' of segment 'u2' is not in wav.scp")]),
    "empty transcript": (VALID_FILES, {"text": "u1 yes no\nu2\nu3 yes\n"}, {},
                         [("text", 2, "empty transcript for utterance 'u2'")]),
    "non-UTF-8 byte": (VALID_FILES, {"text": b"u1 yes no\nu2 n\xff\nu3 yes\n"}, {},
                       [("text", 2, "not valid UTF-8"), ("wav.scp", 2, "'u2' is missing from text")]),
    "missing wav file": (VALID_FILES, {"wav.scp": "u1 {audio}/u1.wav\nu2 {audio}/gone.wav\nu3 {audio}/u3.wav\n"}, {},
                         [("wav.scp", 2, "audio file not found for 'u2'")]),
    "command without final pipe": (VALID_FILES, {"wav.scp": "u1 cat {audio}/u1.wav\nu2 {audio}/u2.wav\nu3 {audio}/u3.wav\n"},
                                   {}, [("wav.scp", 1, "a command must end with '|'")]),
    "corrupt audio": (VALID_FILES, {"wav.scp": "u1 {audio}/corrupt.wav\nu2 {audio}/u2.wav\nu3 {audio}/u3.wav\n"},
                      {"check_audio": True}, [("wav.scp", 1, "cannot read audio for utterance 'u1'")]),
    "failing pipe": (VALID_FILES, {"wav.scp": "u1 cat {audio}/gone.wav |\nu2 {audio}/u2.wav\nu3 {audio}/u3.wav\n"},
                     {"check_audio": True}, [("wav.scp", 1, "No such file")]),
    "wrong sample rate": (VALID_FILES, {}, {"check_audio": True, "fs": 16000},
                          [("wav.scp", n, "sample rate 8000 Hz, expected 16000 Hz") for n in (1, 2, 3)]),
    "feats.scp ids differ": (VALID_FILES, {"feats.scp": "u1 feats.ark:10\nu2 feats.ark:20\nu4 feats.ark:30\n"}, {},
                             [("feats.scp", 3, "'u4' is not in wav.scp"), ("wav.scp", 3, "'u3' is missing from feats.scp")]),
    "bad utt2dur value": (VALID_FILES, {"utt2dur": "u1 0.5\nu2 abc\nu3 0.5\n"}, {},
                          [("utt2dur", 2, "positive number of seconds")]),
    "missing utt2spk": (VALID_FILES, {"utt2spk": None}, {}, [("utt2spk", None, "missing")]),
    "missing final newline": (VALID_FILES, {"text": "u1 yes no\nu2 no\nu3 yes"}, {},
                              [("text", 3, "does not end with a newline")]),
    "empty line": (VALID_FILES, {"utt2spk": "u1 s1\n\nu2 s1\nu3 s2\n"}, {}, [("utt2spk", 2, "empty line")]),
}


@pytest.mark.parametrize("case", MALFORMED.values(), ids=MALFORMED.keys())
def test_validate_reports_file_line_and_problem(tmp_path, case):
    base, changes, kwargs, expected = case
    data_dir = make_data_dir(tmp_path, {**base, **changes})
    problems = validate_data_dir(data_dir, **kwargs)
    assert len(problems) == len(expected), problems
    for problem, (name, line, words) in zip(problems, expected):
        location = f"{data_dir / name}:{line}: " if line else f"{data_dir / name}: "
        assert problem.startswith(location), problem
        assert words in problem, problem


@pytest.mark.parametrize("files", [VALID_FILES, SEGMENTED_FILES], ids=["whole recordings", "segments"])
def test_valid_dir_has_no_problems(tmp_path, files):
    assert validate_data_dir(make_data_dir(tmp_path, files), check_audio=True, fs=RATE) == []


def test_pipe_in_wav_scp_is_valid(tmp_path):
    data_dir = make_data_dir(tmp_path, {**VALID_FILES, "wav.scp": "u1 cat {audio}/u1.wav |\nu2 {audio}/u2.wav\nu3 {audio}/u3.wav\n"})
    assert validate_data_dir(data_dir, check_audio=True) == []


def test_long_id_mismatch_is_summarised(tmp_path):
    text = "".join(f"x{i:02d} hello\n" for i in range(30))
    problems = validate_data_dir(make_data_dir(tmp_path, {**VALID_FILES, "text": text}))
    assert problems[10] == f"{tmp_path / 'data' / 'text'}: 20 more utterances not in wav.scp"


def test_written_real_data_dir_round_trips_and_validates(tmp_path):
    wavs = sorted(shared_audio("yesno/*.wav").parent.glob("*.wav"))[:3]
    utts = {wav.stem: str(wav) for wav in wavs}
    write_data_dir(
        tmp_path / "train",
        wav_scp=utts,
        text={utt: " ".join("YES" if bit == "1" else "NO" for bit in utt.split("_")) for utt in utts},
        utt2spk={utt: "yesno" for utt in utts},
        utt2dur={utt: audio_duration(path) for utt, path in utts.items()},
    )
    assert validate_data_dir(tmp_path / "train", check_audio=True, fs=8000) == []
    loaded = load_data_dir(tmp_path / "train")
    assert loaded.utt_ids == sorted(utts)
    assert loaded.wav_scp == utts and loaded.segments is None and loaded.feats_scp is None
    assert (tmp_path / "train" / "spk2utt").read_text() == f"yesno {' '.join(sorted(utts))}\n"


# ---------------------------------------------------------------- fix_data_dir


def test_fix_data_dir_backs_up_sorts_and_keeps_common_utterances(tmp_path):
    messy = {
        "wav.scp": "u3 {audio}/u3.wav\nu1 {audio}/u1.wav\nu2 {audio}/u2.wav\nu4 {audio}/u1.wav\nu1 {audio}/u2.wav\n",
        "text": "u1 yes no\nu2\nu3 yes\nu4 no\n",
        "utt2spk": "u1 s1\nu2 s1\nu3 s2\nu5 s3\n",
        "spk2utt": "s1 u1\n",
    }
    data_dir = make_data_dir(tmp_path, messy)
    originals = {name: (data_dir / name).read_bytes() for name in messy}

    assert fix_data_dir(data_dir) == (2, 5)  # u2 has no transcript, u4 no speaker, u5 no audio

    assert {name: (data_dir / ".backup" / name).read_bytes() for name in messy} == originals
    audio_dir = tmp_path / "audio"
    assert (data_dir / "wav.scp").read_text() == f"u1 {audio_dir}/u1.wav\nu3 {audio_dir}/u3.wav\n"
    assert (data_dir / "text").read_text() == "u1 yes no\nu3 yes\n"
    assert (data_dir / "spk2utt").read_text() == "s1 u1\ns2 u3\n"
    assert validate_data_dir(data_dir, check_audio=True) == []


def test_fix_data_dir_drops_bad_segments_and_unused_recordings(tmp_path):
    data_dir = make_data_dir(tmp_path, {
        **SEGMENTED_FILES,
        "wav.scp": "r1 {audio}/r1.wav\nr2 {audio}/u1.wav\n",
        "segments": "u1 r1 0.00 0.40\nu2 r9 0.40 0.70\nu3 r1 0.90 0.80\n",
    })
    assert fix_data_dir(data_dir) == (1, 3)
    assert (data_dir / "wav.scp").read_text() == f"r1 {tmp_path / 'audio'}/r1.wav\n"
    assert (data_dir / "utt2spk").read_text() == "u1 s1\n"
    assert validate_data_dir(data_dir, check_audio=True) == []


def test_fix_data_dir_needs_utt2spk(tmp_path):
    data_dir = make_data_dir(tmp_path, {**VALID_FILES, "utt2spk": None})
    with pytest.raises(DataDirError, match="utt2spk: missing"):
        fix_data_dir(data_dir)


# ---------------------------------------------------------------- tables and loading


def test_read_table_names_the_undecodable_line(tmp_path):
    path = tmp_path / "text"
    path.write_bytes(b"u1 hello\nu2 caf\xe9\n")
    with pytest.raises(DataDirError, match=rf"^{path}:2: not valid UTF-8"):
        read_table(path)


def test_read_table_splits_on_first_whitespace_run(tmp_path):
    path = tmp_path / "text"
    path.write_text("u1 \t hello   world \nu2\n")
    assert read_table(path, allow_empty_value=True) == [("u1", "hello   world"), ("u2", "")]
    with pytest.raises(DataDirError, match=rf"^{path}:2: no value after key 'u2'"):
        read_table(path)


def test_read_dict_names_both_duplicate_lines(tmp_path):
    path = tmp_path / "utt2spk"
    path.write_text("u1 a\nu2 a\nu1 b\n")
    with pytest.raises(DataDirError, match=rf"^{path}:3: duplicate key 'u1' \(first on line 1\)"):
        read_dict(path)


def test_write_table_sorts_in_c_order_atomically(tmp_path):
    path = tmp_path / "utt2spk"
    write_table(path, {"b": "x", "B": "x", "_c": "x", "a": "x", "é": "x"})
    assert path.read_text() == "B x\n_c x\na x\nb x\né x\n"
    assert [p.name for p in tmp_path.iterdir()] == ["utt2spk"]
    with pytest.raises(AsrkitError, match="whitespace"):
        write_table(path, [("bad key", "x")])


def test_utt2spk_to_spk2utt():
    assert utt2spk_to_spk2utt({"b2": "b", "a1": "a", "b1": "b"}) == {"a": ["a1"], "b": ["b1", "b2"]}


def test_load_data_dir_takes_utterances_from_segments(tmp_path):
    loaded = load_data_dir(make_data_dir(tmp_path, SEGMENTED_FILES))
    assert loaded.utt_ids == ["u1", "u2", "u3"]
    assert loaded.segments["u2"] == ("r1", 0.4, 0.7)
    assert loaded.text["u1"] == "yes no"


def test_load_data_dir_reports_missing_file(tmp_path):
    data_dir = make_data_dir(tmp_path, {**VALID_FILES, "utt2spk": None})
    with pytest.raises(DataDirError, match=rf"^{data_dir / 'utt2spk'}: missing"):
        load_data_dir(data_dir)


def test_load_data_dir_reports_bad_segment_line(tmp_path):
    data_dir = make_data_dir(tmp_path, {**SEGMENTED_FILES, "segments": "u1 r1 0.0 0.4\nu2 r1 0.4\n"})
    with pytest.raises(DataDirError, match=rf"^{data_dir / 'segments'}:2: segment 'u2'"):
        load_data_dir(data_dir)


# ---------------------------------------------------------------- audio


def test_read_audio_resamples_real_speech():
    wav = shared_audio("yesno/*.wav")
    native, rate = read_audio(str(wav))
    resampled, new_rate = read_audio(str(wav), fs=16000)
    assert (rate, new_rate) == (8000, 16000)
    assert len(native) == soundfile.info(wav).frames
    assert len(resampled) == 2 * len(native)
    assert resampled.dtype == np.float32 and resampled.ndim == 1


def test_read_audio_reads_flac():
    flac = shared_audio("lj_read/lj/*.flac")
    samples, rate = read_audio(str(flac))
    assert rate == 16000 and len(samples) == soundfile.info(flac).frames


def test_read_audio_pipe_matches_file():
    wav = shared_audio("yesno/*.wav")
    from_pipe, rate = read_audio(f"cat {wav} |")
    assert rate == 8000
    np.testing.assert_array_equal(from_pipe, read_audio(str(wav))[0])
    assert audio_duration(f"cat {wav} |") == pytest.approx(audio_duration(str(wav)))


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")
def test_read_audio_sox_pipe():
    wav = shared_audio("yesno/*.wav")
    samples, rate = read_audio(f"sox {wav} -t wav - |", fs=16000)
    assert rate == 16000 and len(samples) == 2 * soundfile.info(wav).frames


def test_failing_pipe_names_command_and_stderr():
    with pytest.raises(AudioError, match=r"cat /no/such\.wav.*No such file"):
        read_audio("cat /no/such.wav |")


def test_multichannel_keeps_first_channel(tmp_path):
    write_tone(tmp_path / "stereo.wav", 0.1, channels=2)
    samples, _ = read_audio(str(tmp_path / "stereo.wav"))
    np.testing.assert_allclose(samples, soundfile.read(tmp_path / "stereo.wav", dtype="float32")[0][:, 0])


def test_iter_utterance_audio_cuts_segments_reading_each_recording_once(tmp_path, monkeypatch):
    data_dir = load_data_dir(make_data_dir(tmp_path, SEGMENTED_FILES))
    reads = []
    monkeypatch.setattr(audio, "read_audio", lambda value, fs=None: reads.append(value) or read_audio(value, fs))
    utterances = dict(iter_utterance_audio(data_dir, fs=RATE))
    assert {utt: len(samples) for utt, samples in utterances.items()} == {"u1": 3200, "u2": 2400, "u3": 2400}
    assert len(reads) == 1


def test_iter_utterance_audio_follows_a_subset_of_utt_ids(tmp_path):
    loaded = load_data_dir(make_data_dir(tmp_path, SEGMENTED_FILES))
    subset = DataDir(**{**loaded.__dict__, "utt_ids": ["u3", "u1"]})
    assert [utt for utt, _ in iter_utterance_audio(subset, fs=RATE)] == ["u3", "u1"]


def test_iter_utterance_audio_names_utterance_with_corrupt_audio(tmp_path):
    real_wav = shared_audio("yesno/*.wav")
    data_dir = make_data_dir(tmp_path, VALID_FILES)
    truncated = tmp_path / "audio" / "u2.wav"
    truncated.write_bytes(real_wav.read_bytes()[:30])  # cut inside the header
    utterances = iter_utterance_audio(load_data_dir(data_dir), fs=RATE)
    assert next(utterances)[0] == "u1"
    with pytest.raises(AudioError, match=rf"utterance 'u2' \(wav.scp: {truncated}\)"):
        next(utterances)


def test_rewriting_a_data_dir_drops_files_of_its_earlier_version(tmp_path):
    from asrkit.data.datadir import write_data_dir

    data = tmp_path / "data"
    write_data_dir(data, {"u1": "/a.wav"}, {"u1": "YES"}, {"u1": "s"})
    (data / "feats.scp").write_text("u1 old.ark:10\n")
    write_data_dir(data, {"u2": "/b.wav"}, {"u2": "NO"}, {"u2": "s"})
    assert not (data / "feats.scp").exists()
    assert (data / "text").read_text() == "u2 NO\n"
