"""The shared training loop (asrkit/train/): freezing, init_param, checkpoints without the frozen part, and
resuming a killed FastSpeech2 run as an ASR run resumes.

The loop's own tests use a tiny two-part model (a Linear + BatchNorm + Dropout front, a Linear back) on random
numbers: it knows nothing about the model kind, and the checks are exact. The FastSpeech2 resume runs on GRID s1.
"""

import logging
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml
from torch import nn

from asrkit.errors import AsrkitError, ConfigError
from asrkit.train.distributed import Distributed
from asrkit.train.loop import seed_everything, train_loop
from asrkit.train.options import check_resumable, write_exp_config
from asrkit.train.params import init_params
from asrkit.tts.model import TTSConfig


class TwoPart(nn.Module):
    """A front with a buffer-carrying BatchNorm and a Dropout, a back; records each part's mode at every call."""

    def __init__(self):
        super().__init__()
        self.front = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5))
        self.back = nn.Linear(8, 1)
        self.modes = []

    def forward(self, x, y):
        self.modes.append((self.front.training, self.back.training))
        return {"loss": nn.functional.mse_loss(self.back(self.front(x)).squeeze(-1), y), "n": float(len(y))}


def step(model, batch):
    return model(torch.stack([x for x, _ in batch]), torch.tensor([y for _, y in batch]))


def batches(count: int, seed: int) -> list:
    generator = torch.Generator().manual_seed(seed)
    utts = [(torch.randn(4, generator=generator), float(torch.randn(1, generator=generator))) for _ in range(count * 4)]
    return [utts[i : i + 4] for i in range(0, len(utts), 4)]


def run(exp, origin, resume=False, **options):
    """TwoPart trained by the loop from seed 0 (kind tts: ranked by valid loss); returns the model."""
    config = TTSConfig(**{"max_epoch": 3, "lr": 0.01, "warmup_steps": 2, "keep_nbest": 2, **options})
    seed_everything(config.seed)
    model = TwoPart()
    train_loop(exp, model, config, step, batches(5, 1), batches(2, 2), Distributed(single=True), origin, resume)
    return model


def test_a_frozen_part_and_its_buffers_stay_bit_identical_while_the_rest_trains(tmp_path):
    seed_everything(0)
    before = {k: v.clone() for k, v in TwoPart().state_dict().items()}
    model = run(tmp_path / "exp", tmp_path / "train.yaml", freeze_param=["front"])
    after = model.state_dict()
    for key in ("front.0.weight", "front.0.bias", "front.1.weight", "front.1.running_mean", "front.1.running_var",
                "front.1.num_batches_tracked"):
        assert torch.equal(after[key], before[key]), key
    assert not torch.equal(after["back.weight"], before["back.weight"])
    assert not any(p.requires_grad for p in model.front.parameters())
    training_modes = [mode for mode in model.modes if mode[1]]
    assert training_modes and all(front is False for front, _ in training_modes)  # dropout and BN stats off
    optimizer = torch.load(tmp_path / "exp" / "checkpoint.pth", weights_only=False)["optimizer"]
    assert len(optimizer["param_groups"][0]["params"]) == 2  # back.weight, back.bias only


def test_a_freeze_prefix_that_names_nothing_is_an_error_naming_the_config(tmp_path):
    with pytest.raises(ConfigError, match=r"train\.yaml: freeze_param: 'encoder' names no parameter"):
        run(tmp_path / "exp", tmp_path / "train.yaml", freeze_param=["encoder"])


def source_model(tmp_path):
    """A model file with one tensor that fits, one of another shape and one the model lacks."""
    seed_everything(5)
    state = TwoPart().state_dict()
    path = tmp_path / "source.pth"
    torch.save({"front.0.weight": state["front.0.weight"], "front.0.bias": torch.zeros(9), "extra.weight": torch.ones(2)}, path)
    return path, state


def test_init_param_loads_every_matching_tensor_and_names_the_skipped(tmp_path, caplog):
    path, source = source_model(tmp_path)
    model = TwoPart()
    with caplog.at_level(logging.INFO, logger="asrkit.train"):
        loaded = init_params(model, [str(path)], "train.yaml")
    assert loaded == {"front.0.weight"}
    assert torch.equal(model.state_dict()["front.0.weight"], source["front.0.weight"])
    assert not torch.equal(model.state_dict()["front.0.bias"][:8], torch.zeros(8))
    log = caplog.text
    assert "init_param: front.0.weight (8, 4)" in log
    assert "skipped front.0.bias (shape (9,), the model's front.0.bias is (8,))" in log
    assert "skipped extra.weight (the model has no extra.weight)" in log


def test_init_param_moves_keys_between_prefixes_and_reads_exp_dirs(tmp_path):
    seed_everything(6)
    source = TwoPart()
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "config.yaml").write_text("kind: tts\n")
    torch.save(source.state_dict(), exp / "valid.loss.ave.pth")
    model = TwoPart()
    loaded = init_params(model, [f"{exp}:front.0:front.0:front.0.bias"], "train.yaml")
    assert loaded == {"front.0.weight"}  # front.0.bias excluded, the rest not under front.0
    assert torch.equal(model.front[0].weight, source.front[0].weight)


def test_init_param_that_matches_nothing_is_an_error(tmp_path):
    path, _ = source_model(tmp_path)
    with pytest.raises(AsrkitError, match=r"train\.yaml: init_param '.*:decoder': no tensor of .* matches the model"):
        init_params(TwoPart(), [f"{path}:decoder"], "train.yaml")


def test_a_checkpoint_without_the_frozen_part_holds_only_trainable_tensors_and_resumes(tmp_path):
    seed_everything(5)
    source, path = TwoPart().state_dict(), tmp_path / "source.pth"
    torch.save(source, path)
    options = {"freeze_param": ["front.0"], "init_param": [str(path)], "save_frozen": False}
    straight = run(tmp_path / "straight", "train.yaml", **options)
    run(tmp_path / "killed", "train.yaml", **options, max_epoch=2)  # as if killed after epoch 2
    resumed = run(tmp_path / "killed", "train.yaml", resume=True, **options)

    saved = torch.load(tmp_path / "killed" / "checkpoint.pth", weights_only=False)
    assert "front.0.weight" not in saved["model"] and "front.0.bias" not in saved["model"]
    assert {"back.weight", "front.1.running_mean"} <= set(saved["model"])
    assert saved["frozen_from"] == [str(path)]
    assert set(torch.load(tmp_path / "killed" / "valid.loss.ave.pth")) == set(saved["model"])
    assert torch.equal(resumed.front[0].weight, source["front.0.weight"])
    for key, tensor in straight.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[key], tensor, msg=key)
    assert saved["history"] == torch.load(tmp_path / "straight" / "checkpoint.pth", weights_only=False)["history"]


def test_a_run_resumed_with_a_larger_keep_nbest_averages_the_snapshots_left(tmp_path, caplog):
    run(tmp_path, "train.yaml", keep_nbest=1, max_epoch=2)
    with caplog.at_level(logging.WARNING, logger="asrkit.train"):
        run(tmp_path, "train.yaml", resume=True, keep_nbest=3)
    history = torch.load(tmp_path / "checkpoint.pth", weights_only=False)["history"]
    assert len(history) == 3 and (tmp_path / "valid.loss.ave.pth").is_file()
    gone = [h["epoch"] for h in history if not (tmp_path / f"{h['epoch']}epoch.pth").is_file()]
    assert len(gone) == 1 and gone[0] in (1, 2)  # the one of epochs 1-2 that keep_nbest 1 deleted
    assert any(f"snapshots of epochs {gone} are gone" in r.message for r in caplog.records)


def test_a_resume_under_another_model_option_is_refused_before_anything_is_written(tmp_path):
    recorded = {"lr": 0.002, "max_epoch": 3, "model": {"encoder": {"num_blocks": 3}}, "inputs": {"text": "a"}}
    write_exp_config(tmp_path, recorded)
    (tmp_path / "checkpoint.pth").write_bytes(b"")
    before = (tmp_path / "config.yaml").read_bytes()
    check_resumable(tmp_path, {**recorded, "max_epoch": 9, "amp": "none", "inputs": {"text": "a", "added": 1}}, True)
    for changed, name in (({"lr": 0.001}, "lr"), ({"model": {"encoder": {"num_blocks": 3, "dropout_rate": 0.5}}},
                                                      "model.encoder.dropout_rate")):
        with pytest.raises(ConfigError, match=f"resuming would continue a run trained with other {name} "):
            check_resumable(tmp_path, {**recorded, **changed}, True)
    check_resumable(tmp_path, {**recorded, "lr": 0.001}, False)  # a fresh start is not compared
    assert (tmp_path / "config.yaml").read_bytes() == before


def test_save_frozen_false_needs_the_frozen_part_from_init_param(tmp_path):
    with pytest.raises(ConfigError, match="save_frozen: false, but 7 frozen tensors come from no init_param source"):
        run(tmp_path / "exp", "train.yaml", freeze_param=["front"], save_frozen=False)


def _epochs_done(exp):
    checkpoint = exp / "checkpoint.pth"
    return torch.load(checkpoint, weights_only=False)["epoch"] if checkpoint.exists() else 0


def test_a_killed_fastspeech2_run_resumes_to_the_uninterrupted_state(grid_aligned, grid_tts, tmp_path):
    """grid_tts is the uninterrupted run; its config stopped at epoch 3 is killed in epoch 2 and resumed: the
    first three epochs' train and valid stats (valid: after each epoch's updates) must be the uninterrupted run's."""
    from asrkit.tts.train import train_tts

    config, epochs = tmp_path / "tts.yaml", 3  # max_epoch changes nothing before it: WarmupLR does not read it
    config.write_text(yaml.safe_dump({**yaml.safe_load(grid_aligned["tts_config"].read_text()), "max_epoch": epochs}))
    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "asrkit.cli", "tts", "train", str(grid_aligned["data"]), str(killed),
               "--config", str(config), "--alignment", str(grid_aligned["align"])]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while _epochs_done(killed) < 1 and time.time() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 1 <= _epochs_done(killed) < epochs, "the kill must land before training finished"
    assert not (killed / "valid.loss.ave.pth").exists()

    train_tts(grid_aligned["data"], killed, config, grid_aligned["align"], resume=True)
    straight = torch.load(grid_tts / "checkpoint.pth", weights_only=False)["history"][:epochs]
    resumed = torch.load(killed / "checkpoint.pth", weights_only=False)["history"]
    assert [h["epoch"] for h in resumed] == [h["epoch"] for h in straight] == [1, 2, 3]
    for ours, theirs in zip(resumed, straight):
        assert ours["train"] == pytest.approx(theirs["train"]), ours["epoch"]
        assert ours["valid"] == pytest.approx(theirs["valid"]), ours["epoch"]
    assert (killed / "valid.loss.ave.pth").is_file()


def test_fastspeech2_trains_with_a_frozen_encoder_saved_without_it_and_loads_whole(grid_aligned, grid_tts, tmp_path):
    """freeze_param/init_param/save_frozen from a TTS YAML; the exp-dir loader restores the frozen part."""
    from asrkit.expdir import load_tts
    from asrkit.tts.train import train_tts

    config = {**yaml.safe_load(grid_aligned["tts_config"].read_text()), "max_epoch": 1, "keep_nbest": 1,
              "freeze_param": ["fastspeech2.encoder"], "init_param": [str(grid_tts)], "save_frozen": False}
    (tmp_path / "tts.yaml").write_text(yaml.safe_dump(config))
    train_tts(grid_aligned["data"], tmp_path / "exp", tmp_path / "tts.yaml", grid_aligned["align"])
    saved = torch.load(tmp_path / "exp" / "valid.loss.ave.pth")
    source = torch.load(grid_tts / "valid.loss.ave.pth")
    assert saved and not any(key.startswith("fastspeech2.encoder.") for key in saved)
    model = load_tts(tmp_path / "exp")[0]
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved[key] if key in saved else source[key]), key
    assert not torch.equal(saved["fastspeech2.feat_out.weight"], source["fastspeech2.feat_out.weight"])


class Linear(nn.Module):
    """No dropout, no batch statistics: a batch's gradient is the mean of its halves' gradients, exactly."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4, 1)

    def forward(self, x, y):
        return {"loss": nn.functional.mse_loss(self.layer(x).squeeze(-1), y)}


def first_update(exp, train_batches, **options) -> tuple[dict, dict]:
    """One epoch of Linear from seed 0 on train_batches; its state and checkpoint (no clipping: it hides a scale)."""
    config = TTSConfig(**{"max_epoch": 1, "lr": 0.01, "warmup_steps": 1, "keep_nbest": 1, "grad_clip": 1e9, **options})
    seed_everything(0)
    model = Linear()
    train_loop(exp, model, config, step, train_batches, batches(1, 2), Distributed(single=True), "train.yaml")
    return model.state_dict(), torch.load(exp / "checkpoint.pth", weights_only=False)


def test_accumulating_two_half_batches_makes_the_update_of_the_whole_batch(tmp_path):
    halves = batches(2, 1)
    whole, whole_saved = first_update(tmp_path / "whole", [halves[0] + halves[1]])
    accumulated, saved = first_update(tmp_path / "accum", halves, accum_grad=2)
    two_steps, _ = first_update(tmp_path / "steps", halves)
    for key, tensor in whole.items():
        torch.testing.assert_close(accumulated[key], tensor, rtol=1e-5, atol=1e-6, msg=key)
        assert not torch.allclose(two_steps[key], tensor, atol=1e-4), key
    # Adam's first step moves each weight by lr * sign(gradient), blind to the gradient's scale; its moments are not.
    for moments, whole_moments in zip(saved["optimizer"]["state"].values(), whole_saved["optimizer"]["state"].values()):
        for key in ("exp_avg", "exp_avg_sq"):
            torch.testing.assert_close(moments[key], whole_moments[key], rtol=1e-5, atol=1e-7, msg=key)
    assert saved["scheduler"]["last_epoch"] == whole_saved["scheduler"]["last_epoch"] == 1  # one scheduler step
    assert saved["history"][0]["train"]["loss"] == pytest.approx(whole_saved["history"][0]["train"]["loss"], rel=1e-5)


def test_bf16_autocast_trains_on_cpu_and_fp16_is_refused_there(tmp_path):
    state, saved = first_update(tmp_path / "bf16", batches(2, 1), amp="bf16", accum_grad=2)
    assert all(tensor.dtype == torch.float32 for tensor in state.values())  # autocast leaves the weights fp32
    assert saved["scaler"] == {}  # no gradient scaling for bf16
    with pytest.raises(ConfigError, match=r"train\.yaml: amp: fp16 needs a CUDA device"):
        first_update(tmp_path / "fp16", batches(2, 1), amp="fp16")
    with pytest.raises(ConfigError, match=r"train\.yaml: amp: fp32; choose one of bf16, fp16, none"):
        first_update(tmp_path / "fp32", batches(2, 1), amp="fp32")
