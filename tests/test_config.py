"""Config mistakes are one-line errors naming the file (and line), not tracebacks; what a resumed run compares."""

import subprocess
import sys

import pytest

from asrkit.asr.decoding import load_decode_config
from asrkit.asr.train import TrainConfig
from asrkit.config import changed_values
from asrkit.errors import ConfigError


def _config(tmp_path, text: str):
    path = tmp_path / "train.yaml"
    path.write_text(text)
    return path


def test_a_yaml_syntax_error_names_the_file_and_line(tmp_path):
    path = _config(tmp_path, "seed: 1\nmodel: {encoder: [1\n")
    with pytest.raises(ConfigError, match=rf"^{path}:3: not valid YAML"):
        TrainConfig.load(path)


def test_a_missing_section_and_an_unknown_model_option_are_named(tmp_path):
    with pytest.raises(ConfigError, match="missing training option\\(s\\): model"):
        TrainConfig.load(_config(tmp_path, "seed: 1\n"))
    with pytest.raises(ConfigError, match=r"train.yaml: model.decred: unknown DeCRED option\(s\): head_inputs"):
        TrainConfig.load(_config(tmp_path, "model:\n  decred: {head_inputs: pre_norm}\n"))


def test_a_value_of_the_wrong_type_is_named_with_what_the_option_takes(tmp_path):
    with pytest.raises(ConfigError,
                       match=r"train.yaml: model: model option ctc_weight: expected a number, found 'six'"):
        TrainConfig.load(_config(tmp_path, "model: {ctc_weight: six}\n"))
    with pytest.raises(ConfigError, match=r"train.yaml: training option max_epoch: expected an integer, found 2.5"):
        TrainConfig.load(_config(tmp_path, "max_epoch: 2.5\nmodel: {}\n"))
    with pytest.raises(ConfigError, match=r"decode.yaml: decoding option ctc_weight: expected a number, found 'high'"):
        load_decode_config(_config(tmp_path, "ctc_weight: high\n").rename(tmp_path / "decode.yaml"))


def test_train_with_a_bad_config_exits_1_with_one_line(tmp_path):
    path = _config(tmp_path, "model:\n  encoder_typo: 3\n")
    for name in ("tokens", "data"):
        (tmp_path / name).mkdir()
    (tmp_path / "cmvn.npz").write_bytes(b"")
    result = subprocess.run([sys.executable, "-m", "asrkit.cli", "train", "--config", str(path), "--train-data",
                             str(tmp_path / "data"), "--valid-data", str(tmp_path / "data"), "--token-dir",
                             str(tmp_path / "tokens"), "--cmvn", str(tmp_path / "cmvn.npz"), "--exp-dir",
                             str(tmp_path / "exp")], capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"asrkit train: {path}: model: unknown model option(s): encoder_typo"


def test_changed_values_names_nested_options_and_ignores_top_level_options_added_since():
    old = {"lr": 0.002, "max_epoch": 10, "model": {"encoder": {"num_blocks": 3}}, "inputs": {"text": "a", "cache": "x"}}
    new = {"lr": 0.002, "max_epoch": 20, "model": {"encoder": {"num_blocks": 4}, "ctc_weight": 1.0},
           "inputs": {"text": "b", "cache": "y"}, "amp": "none"}
    assert changed_values(old, new) == ["inputs.cache", "inputs.text", "max_epoch", "model.ctc_weight",
                                        "model.encoder.num_blocks"]
    assert changed_values(old, new, ("max_epoch", "inputs.cache", "model")) == ["inputs.text"]
    assert changed_values(old, old) == []
    recorded = {"decode": {"beam_size": 4}}  # a dataclass recorded whole: a field asrkit added since is no change
    assert changed_values(recorded, {"decode": {"beam_size": 4, "new_option": 1}}, sections=("decode",)) == []
