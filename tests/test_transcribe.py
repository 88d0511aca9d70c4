"""`asrkit transcribe` and `asrkit pack` with the yesno recipe's model on its real recordings: any format and rate
gives the text `asrkit decode` gave, a pack transcribes as its exp dir does, bad files are reported one line each."""

import json
import subprocess
import zipfile

import numpy as np
import pytest
import soundfile
from typer.testing import CliRunner

from asrkit.asr.transcribe import WindowConfig, window_spans
from asrkit.cli import app
from asrkit.data.datadir import read_dict

DECODE = "decode_decode_valid.acc.ave/test_yesno"


@pytest.fixture(scope="module")
def yesno(yesno_recipe):
    """The exp dir, its decode config, and the recordings of the test set with the text `asrkit decode` gave them."""
    exp = yesno_recipe / "exp" / "asr_train"
    decoded = read_dict(exp / DECODE / "text", allow_empty_value=True)
    wav_scp = read_dict(yesno_recipe / "data" / "test_yesno" / "wav.scp")
    return exp, yesno_recipe / "conf" / "decode.yaml", {utt: (wav_scp[utt], decoded[utt]) for utt in sorted(decoded)}


def transcribe(*args):
    result = CliRunner().invoke(app, ["transcribe", *map(str, args)])
    return result, result.stdout.splitlines()


def test_flac_8khz_wav_and_mp3_of_one_recording_give_the_text_of_asrkit_decode(yesno, tmp_path):
    exp, config, recordings = yesno
    utt, (wav, decoded) = next(iter(recordings.items()))
    copies = [tmp_path / "a.flac", tmp_path / "b.wav", tmp_path / "c.mp3"]
    # FLAC (lossless, the recording's 8 kHz), 8 kHz WAV, MP3 at 48 kHz (resampled to the model's 16 kHz). This tiny
    # model, trained on one quiet channel, flips words on small changes: sox's 16 kHz resampling, its dither, or
    # ffmpeg's default MP3 bitrate all do it; a 320 kbit/s MP3 keeps the words (6 of 6 recordings checked).
    subprocess.run(["sox", wav, copies[0]], check=True)
    subprocess.run(["sox", "-D", wav, "-r", "8000", "-b", "16", copies[1]], check=True)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", wav, "-ar", "48000", "-b:a", "320k", copies[2]], check=True)
    result, lines = transcribe(exp, *copies, "--config", config)
    assert result.exit_code == 0, result.output
    assert lines == [f"{path}\t{decoded}" for path in copies]


def test_a_pack_transcribes_as_its_exp_dir_does(yesno, tmp_path):
    exp, config, recordings = yesno
    wavs = [wav for wav, _ in list(recordings.values())[:2]]
    result = CliRunner().invoke(app, ["pack", str(exp), str(tmp_path / "m.zip"), "--decode-config", str(config)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "m.zip") as pack:
        readme = pack.read("README.md").decode()
        assert {"config.yaml", "valid.acc.ave.pth", "tokens.txt", "cmvn.npz", "fbank.yaml", "decode.yaml",
                "pack.yaml"} <= set(pack.namelist())
    assert "train_nodev" in readme and DECODE in readme
    from_exp = transcribe(exp, *wavs, "--config", config, "--json")[1]
    from_pack = transcribe(tmp_path / "m.zip", *wavs, "--json")[1]  # its decode.yaml is the default
    assert from_pack == from_exp and len(from_pack) == 2
    first = json.loads(from_pack[0])
    assert len(first["windows"][0]["nbest"]) >= 1 and len(first["tokens"]) == 8


def test_bad_files_are_one_line_each_and_the_others_are_transcribed(yesno, tmp_path):
    exp, config, recordings = yesno
    (wav, decoded), (wav2, decoded2) = list(recordings.values())[:2]
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF" + bytes(range(256)) * 8)
    (tmp_path / "empty.wav").write_bytes(b"")
    soundfile.write(tmp_path / "silence.wav", np.zeros(16000 * 2, dtype=np.float32), 16000)
    soundfile.write(tmp_path / "click.wav", np.ones(800, dtype=np.float32) / 2, 16000)  # 50 ms: too short
    files = [wav, tmp_path / "corrupt.wav", tmp_path / "missing.wav", tmp_path / "empty.wav", tmp_path / "silence.wav",
             tmp_path / "click.wav", wav2]
    result, lines = transcribe(exp, *files, "--config", config)
    assert result.exit_code == 1
    assert lines == [f"{wav}\t{decoded}", f"{tmp_path / 'silence.wav'}\t", f"{wav2}\t{decoded2}"]
    errors = result.stderr.splitlines()
    for name in ("corrupt.wav", "missing.wav", "empty.wav", "click.wav"):
        assert len([line for line in errors if name in line]) == 1, errors
    assert errors[-1].endswith("transcribe: 4 of 7 files failed")


def test_a_long_recording_is_cut_into_windows_and_stitched_by_token_times(yesno, tmp_path):
    exp, config, recordings = yesno
    parts = list(recordings.values())[:3]
    long = tmp_path / "long.wav"
    subprocess.run(["sox", *[wav for wav, _ in parts], long], check=True)
    result, lines = transcribe(exp, long, "--config", config, "--window", "8", "--overlap", "2", "--json")
    assert result.exit_code == 0, result.output
    said = json.loads(lines[0])
    assert len(said["windows"]) == 3  # 19 s in 8 s windows every 6 s
    assert said["text"] == " ".join(text for _, text in parts)
    starts = [t["start"] for t in said["tokens"]]
    assert starts == sorted(starts) and said["tokens"][-1]["end"] <= soundfile.info(long).duration


def test_windows_cover_the_file_and_overlap_as_configured():
    assert window_spans(5.0, WindowConfig(30, 4)) == [(0.0, 5.0)]
    assert window_spans(20.0, WindowConfig(8, 2)) == [(0.0, 8.0), (6.0, 14.0), (12.0, 20.0)]
    assert window_spans(18.5, WindowConfig(8, 2)) == [(0.0, 8.0), (6.0, 14.0), (10.5, 18.5)]  # no sliver at the end
