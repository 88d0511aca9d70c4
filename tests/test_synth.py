"""`asrkit synth` with the real Debian engines: data dirs that validate, durations, speakers, checks, resume."""

import pytest
import soundfile
from typer.testing import CliRunner

from asrkit.cli import app
from asrkit.data.datadir import DataDirError, read_dict, validate_data_dir
from asrkit.tts.synth import (
    Jitter,
    load_voice,
    plan_utterances,
    read_texts,
    synthesize_data_dir,
)
from asrkit.tts.voices import VoiceError

ONE_VOICE_PER_ENGINE = ["espeak-ng:en-us+f3", "flite:slt", "festival:kal_diphone", "festival:cmu_us_slt_arctic_hts"]
TEXTS = {"a1": "call 407 now", "a2": "one two three"}


def audio_files(root):
    return sorted(path for path in root.rglob("*") if path.suffix in (".flac", ".wav"))


@pytest.mark.parametrize("voice", ONE_VOICE_PER_ENGINE)
def test_each_engine_writes_a_valid_data_dir_with_true_durations(tmp_path, voice):
    synthesize_data_dir(TEXTS, [voice], tmp_path / "data", jitter=Jitter(rate=0.1, pitch=0.1))
    data = tmp_path / "data"
    assert validate_data_dir(data, check_audio=True, fs=16000) == []
    wav_scp, utt2dur = read_dict(data / "wav.scp"), read_dict(data / "utt2dur")
    assert set(wav_scp) == set(utt2dur) and len(wav_scp) == 2
    for utt, path in wav_scp.items():
        info = soundfile.info(path)
        assert info.format == "FLAC" and info.samplerate == 16000
        assert float(utt2dur[utt]) == pytest.approx(info.duration, abs=0.001)
        assert info.duration > 0.5  # real speech, not a click: the shortest text has three words
    # The transcript is the text as given; only the engine was told "four zero seven".
    assert sorted(read_dict(data / "text").values()) == sorted(TEXTS.values())


@pytest.mark.parametrize("voice", ["espeak-ng:en-us+f3", "flite:slt"])
def test_synthesis_is_repeatable(tmp_path, voice):
    for run in ("first", "second"):
        synthesize_data_dir(TEXTS, [voice], tmp_path / run, jitter=Jitter(rate=0.1, pitch=0.1))
    first, second = audio_files(tmp_path / "first"), audio_files(tmp_path / "second")
    assert len(first) == 2
    assert [path.read_bytes() for path in first] == [path.read_bytes() for path in second]


def test_every_voice_is_one_speaker_and_round_robin_spreads_texts(tmp_path):
    voices = ["espeak-ng:en-us+m3", "flite:kal"]
    texts = {f"t{i}": "one" for i in range(4)}
    synthesize_data_dir(texts, voices, tmp_path / "every")
    spk2utt = read_dict(tmp_path / "every" / "spk2utt")
    assert {spk: len(utts.split()) for spk, utts in spk2utt.items()} == {"espeak-ng_en-us_m3": 4, "flite_kal": 4}
    plan = plan_utterances(texts, voices, assign="round-robin")
    assert [(utt.utt_id, utt.voice) for utt in plan] == [
        ("espeak-ng_en-us_m3-t0", "espeak-ng:en-us+m3"), ("espeak-ng_en-us_m3-t2", "espeak-ng:en-us+m3"),
        ("flite_kal-t1", "flite:kal"), ("flite_kal-t3", "flite:kal")]


@pytest.mark.parametrize("bad_voice, message", [
    ("flite:nosuch", "flite voice 'nosuch' is not installed"),  # flite itself would fall back to kal silently
    ("espeak-ng:en-us+nosuch", "espeak-ng variant 'nosuch' is not installed"),
    ("festival:nosuch_diphone", "festival voice 'nosuch_diphone' is not installed"),
    ("nosuch:voice", "unknown engine 'nosuch'"),
    ("slt", "expected ENGINE:VOICE"),
])
def test_a_voice_not_installed_is_refused_before_any_audio(tmp_path, bad_voice, message):
    (tmp_path / "text").write_text("u1 one two\nu2 three\n")
    result = CliRunner().invoke(app, ["synth", str(tmp_path / "text"), str(tmp_path / "data"),
                                      "--voice", "espeak-ng:en-us", "--voice", bad_voice])
    assert result.exit_code == 1
    assert message in result.output
    assert not (tmp_path / "data").exists()


def test_jobs_resume_and_a_finished_run_does_nothing(tmp_path):
    texts = {f"t{i}": "five six" for i in range(4)}
    voices, out = ["flite:kal", "espeak-ng:en-us"], tmp_path / "data"
    assert synthesize_data_dir(texts, voices, out, nj=2, job=1) == 4
    assert len(audio_files(out)) == 4 and not (out / "wav.scp").exists()  # a job writes audio only
    first = {path: path.stat().st_mtime_ns for path in audio_files(out)}
    assert synthesize_data_dir(texts, voices, out, nj=2) == 4  # only job 2's share was left
    assert {path: path.stat().st_mtime_ns for path in first} == first
    assert synthesize_data_dir(texts, voices, out, nj=2) == 0
    assert validate_data_dir(out, check_audio=True) == [] and len(read_dict(out / "wav.scp")) == 8


def test_a_changed_text_or_sample_rate_under_the_same_id_is_synthesized_anew(tmp_path):
    out = tmp_path / "data"
    assert synthesize_data_dir({"u1": "five six"}, ["flite:kal"], out) == 1
    assert synthesize_data_dir({"u1": "seven"}, ["flite:kal"], out) == 1  # the old audio is not reused
    assert synthesize_data_dir({"u1": "seven"}, ["flite:kal"], out, fs=8000) == 1
    assert synthesize_data_dir({"u1": "seven"}, ["flite:kal"], out, fs=8000) == 0
    wav = next(iter(read_dict(out / "wav.scp").values()))
    assert soundfile.info(wav).samplerate == 8000 and read_dict(out / "text")["flite_kal-u1"] == "seven"


def test_jitter_is_reproducible_and_rate_sets_the_duration():
    jitter = Jitter(rate=0.2, pitch=0.1, seed=3)
    assert jitter.draw("u1") == Jitter(rate=0.2, pitch=0.1, seed=3).draw("u1") != jitter.draw("u2")
    voice = load_voice("flite:kal")
    normal, _ = voice.synthesize("one two three four five six", 1.0, 1.0)
    faster, rate = voice.synthesize("one two three four five six", 1.25, 1.1)
    assert rate == 16000
    assert len(faster) / len(normal) == pytest.approx(1 / 1.25, rel=0.05)


def test_digits_are_spoken_as_words():
    assert load_voice("espeak-ng:en-us").prepare_text("call 407  now") == "call four zero seven now"


def test_unknown_engine_lists_the_engines():
    with pytest.raises(VoiceError, match="unknown engine 'mbrola'; engines: espeak-ng festival flite"):
        load_voice("mbrola:us1")


def test_plain_lines_get_numbered_ids_and_an_empty_line_is_named(tmp_path):
    (tmp_path / "plain").write_text("one  two\nthree\n")
    assert read_texts(tmp_path / "plain", plain=True) == {"utt000001": "one two", "utt000002": "three"}
    (tmp_path / "gap").write_text("one\n\nthree\n")
    with pytest.raises(DataDirError, match=r"gap:2: empty line"):
        read_texts(tmp_path / "gap", plain=True)
