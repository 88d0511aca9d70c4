"""FastSpeech2 on GRID s1: training lowers the loss, synthesis lasts what its durations say, a model voice makes a
valid data dir, `asrkit tts eval` scores it."""

import json

import pytest
import torch
from typer.testing import CliRunner

from asrkit.cli import app
from asrkit.data.datadir import validate_data_dir
from asrkit.tts.voice import ModelVoice


def test_training_loss_falls(grid_tts):
    history = torch.load(grid_tts / "checkpoint.pth", weights_only=False)["history"]
    first, last = history[0]["train"]["loss"], history[-1]["train"]["loss"]
    assert last < 0.7 * first, f"train loss {first:.3f} -> {last:.3f}"
    assert (grid_tts / "valid.loss.ave.pth").is_file() and (grid_tts / "images" / "loss.png").is_file()


@pytest.mark.parametrize("rate", [1.0, 1.5])
def test_synthesized_length_is_the_predicted_durations(grid_tts, rate):
    voice = ModelVoice(grid_tts)
    samples, fs, durations = voice.synthesize_with_durations("bin blue at f two now", rate=rate)
    hop = voice.features.hop_length
    assert fs == voice.features.fs and sum(durations) > 0
    assert abs(len(samples) - sum(durations) * hop) <= hop


def test_synth_with_a_model_voice_writes_a_valid_data_dir(grid_tts, tmp_path):
    (tmp_path / "text").write_text("u1 bin blue at f two now\nu2 set white with p 9 soon\n")
    result = CliRunner().invoke(app, ["synth", str(tmp_path / "text"), str(tmp_path / "synth"), "--voice", f"model:{grid_tts}",
                                      "--rate-jitter", "0.1", "--pitch-jitter", "0.1"])
    assert result.exit_code == 0, result.output
    assert validate_data_dir(tmp_path / "synth", check_audio=True, fs=16000) == []
    assert len((tmp_path / "synth" / "wav.scp").read_text().splitlines()) == 2


def test_a_retrained_model_voice_is_synthesized_anew_not_reused(grid_tts, tmp_path):
    import os
    import shutil

    from asrkit.expdir import model_path
    from asrkit.tts.synth import synthesize_data_dir
    exp = tmp_path / "tts"
    shutil.copytree(grid_tts, exp)
    voice, out = [f"model:{exp}"], tmp_path / "synth"
    assert synthesize_data_dir({"u1": "bin blue at f two now"}, voice, out) == 1
    assert synthesize_data_dir({"u1": "bin blue at f two now"}, voice, out) == 0
    model = model_path(exp, "tts")
    os.utime(model, ns=(model.stat().st_atime_ns, model.stat().st_mtime_ns + 10**9))  # touched (copied): same model
    assert synthesize_data_dir({"u1": "bin blue at f two now"}, voice, out) == 0
    state = torch.load(model, map_location="cpu", weights_only=False)
    name = next(k for k, v in state.items() if v.is_floating_point())
    state[name] = state[name] + 0.01  # as a retraining leaves it: other weights
    torch.save(state, model)
    assert synthesize_data_dir({"u1": "bin blue at f two now"}, voice, out) == 1


def test_an_exp_dir_that_is_not_a_tts_is_refused(tmp_path):
    (tmp_path / "text").write_text("u1 bin blue\n")
    result = CliRunner().invoke(app, ["synth", str(tmp_path / "text"), str(tmp_path / "out"), "--voice", f"model:{tmp_path}"])
    assert result.exit_code == 1 and "not an exp dir (no config.yaml)" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_tts_eval_scores_the_synthesized_speech(grid_aligned, grid_tts, tmp_path):
    (tmp_path / "text").write_text("u1 bin blue at f two now\n")
    result = CliRunner().invoke(app, ["tts", "eval", str(tmp_path / "text"), str(grid_aligned["asr"]), str(tmp_path / "eval"),
                                      "--voice", f"model:{grid_tts}"])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "eval" / "score_wer" / "summary.json").read_text())
    assert summary["n_words"] == 6 and "WER" in result.output


def test_tts_train_names_an_utterance_whose_durations_do_not_fit_its_text(grid_aligned, tmp_path):
    bad = tmp_path / "align"
    bad.mkdir()
    for name in ("tokens.txt", "token_type"):
        (bad / name).write_bytes((grid_aligned["align"] / name).read_bytes())
    lines = (grid_aligned["align"] / "durations").read_text().splitlines()
    first = lines[0].split()
    lines[0] = " ".join(first[:-1])  # one duration short
    (bad / "durations").write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["tts", "train", str(grid_aligned["data"]), str(tmp_path / "exp"),
                                      "--config", str(grid_aligned["tts_config"]), "--alignment", str(bad)])
    assert result.exit_code != 0
    assert f"utterance '{first[0]}'" in result.output and "durations for" in result.output


def test_an_asr_exp_dir_is_refused_as_a_voice_by_its_kind(grid_aligned, tmp_path):
    (tmp_path / "text").write_text("u1 bin blue\n")
    result = CliRunner().invoke(app, ["synth", str(tmp_path / "text"), str(tmp_path / "out"), "--voice", f"model:{grid_aligned['asr']}"])
    assert result.exit_code == 1 and "kind: asr; this needs a tts exp dir" in result.output


def test_a_model_voice_speaks_the_same_samples_every_time(grid_tts):
    voice = ModelVoice(grid_tts)
    first, _ = voice.synthesize("bin blue at f two now")
    second, _ = ModelVoice(grid_tts).synthesize("bin blue at f two now")
    assert first.tobytes() == second.tobytes()
