"""The trainer on real features (yesno): batching, checkpoints, n-best averaging, and resume after a kill."""

import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml

from asrkit.asr.batching import bucket_batches
from asrkit.errors import AsrkitError
from asrkit.train.loop import epoch_order

TINY_CONFIG = {
    "seed": 3,
    "max_epoch": 3,
    "batch_frames": 700,
    "warmup_steps": 10,
    "keep_nbest": 2,
    "model": {
        "input_size": 80,
        "encoder": {"output_size": 32, "attention_heads": 2, "num_blocks": 1, "linear_units": 32,
                    "cgmlp_linear_units": 32, "cgmlp_conv_kernel": 3},
        "decoder": {"attention_heads": 2, "linear_units": 32, "num_blocks": 2},
        "specaug": {"apply_time_warp": False, "num_freq_mask": 1, "time_mask_width_ratio_range": [0.0, 0.05]},
        "decred": {"layers": [1], "weights": [0.3], "final_weight": 0.7},
    },
}


def test_buckets_respect_the_frame_budget():
    frames = {f"u{i}": n for i, n in enumerate([100, 90, 80, 300, 20, 10, 700])}
    batches = bucket_batches(frames, batch_frames=300)
    assert sorted(sum(batches, [])) == sorted(frames)
    for batch in batches:
        assert len(batch) == 1 or max(frames[u] for u in batch) * len(batch) <= 300


def test_epoch_order_is_a_function_of_seed_and_epoch():
    batches = [[f"u{i}"] for i in range(10)]
    assert epoch_order(batches, 1, 2) == epoch_order(batches, 1, 2)
    assert epoch_order(batches, 1, 2) != epoch_order(batches, 1, 3)
    ranks = [epoch_order(batches, 1, 2, rank, 3) for rank in range(3)]
    assert [len(r) for r in ranks] == [3, 3, 3]
    assert len({u for r in ranks for batch in r for u in batch}) == 9
    with pytest.raises(AsrkitError, match="cannot feed 3 ranks"):
        epoch_order(batches[:2], 1, 2, 0, 3)


def _train_command(recipe, exp, config, resume):
    data = recipe / "data"
    return [sys.executable, "-m", "asrkit.cli", "train", "--config", str(config),
            "--train-data", str(data / "train_nodev"), "--valid-data", str(data / "train_dev"),
            "--token-dir", str(data / "token_list" / "word"),
            "--cmvn", str(data / "train_nodev" / "cmvn.npz"), "--exp-dir", str(exp)] + (["--resume"] if resume else [])


def _epochs_done(exp):
    checkpoint = exp / "checkpoint.pth"
    return torch.load(checkpoint, weights_only=False)["epoch"] if checkpoint.exists() else 0


@pytest.mark.parametrize("precision", [{}, {"amp": "bf16", "accum_grad": 2}], ids=["fp32", "bf16_accum2"])
def test_resume_after_a_kill_reaches_the_uninterrupted_state(yesno_recipe, tmp_path, precision):
    config = tmp_path / "train.yaml"
    config.write_text(yaml.safe_dump({**TINY_CONFIG, **precision}))
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    subprocess.run(_train_command(yesno_recipe, straight, config, False), check=True, capture_output=True)

    process = subprocess.Popen(_train_command(yesno_recipe, killed, config, False),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while _epochs_done(killed) < 1 and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # into epoch 2
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 1 <= _epochs_done(killed) < TINY_CONFIG["max_epoch"], "the kill must land before training finished"
    assert not (killed / "valid.acc.ave.pth").exists()

    subprocess.run(_train_command(yesno_recipe, killed, config, True), check=True, capture_output=True)
    final_straight = torch.load(straight / "checkpoint.pth", weights_only=False)
    final_resumed = torch.load(killed / "checkpoint.pth", weights_only=False)
    assert final_resumed["epoch"] == final_straight["epoch"] == TINY_CONFIG["max_epoch"]
    for name, tensor in final_straight["model"].items():
        torch.testing.assert_close(final_resumed["model"][name], tensor, msg=name)
    assert [h["valid"] for h in final_resumed["history"]] == [h["valid"] for h in final_straight["history"]]


def test_exp_dir_follows_the_espnet_layout(yesno_recipe):
    exp = yesno_recipe / "exp" / "asr_train"
    for name in ("config.yaml", "tokens.txt", "token_type", "fbank.yaml", "cmvn.npz", "checkpoint.pth", "valid.acc.ave.pth", "train.log",
                 "images/loss.png", "images/acc.png"):
        assert (exp / name).exists(), name
    history = torch.load(exp / "checkpoint.pth", weights_only=False)["history"]
    kept = sorted(int(p.name.split("epoch")[0]) for p in exp.glob("*epoch.pth"))
    ranked = sorted(history, key=lambda h: (-h["valid"]["acc"], -h["epoch"]))  # a tie goes to the later epoch
    best = sorted(h["epoch"] for h in ranked[: len(kept)])
    assert kept == best


def test_torchrun_trains_with_two_ranks(yesno_recipe, tmp_path):
    config = tmp_path / "train.yaml"
    config.write_text(yaml.safe_dump({**TINY_CONFIG, "max_epoch": 1}))
    exp = tmp_path / "ddp"
    command = _train_command(yesno_recipe, exp, config, False)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    subprocess.run(torchrun + command[1:], check=True, capture_output=True, timeout=600)
    assert "world size 2" in (exp / "train.log").read_text()
    assert _epochs_done(exp) == 1 and (exp / "valid.acc.ave.pth").exists()


def test_a_resumed_run_may_train_longer_but_not_with_another_learning_rate(yesno_recipe, tmp_path):
    config, exp = tmp_path / "train.yaml", tmp_path / "exp"
    config.write_text(yaml.safe_dump({**TINY_CONFIG, "max_epoch": 1}))
    subprocess.run(_train_command(yesno_recipe, exp, config, False), check=True, capture_output=True)
    config.write_text(yaml.safe_dump({**TINY_CONFIG, "max_epoch": 2}))
    subprocess.run(_train_command(yesno_recipe, exp, config, True), check=True, capture_output=True)
    assert _epochs_done(exp) == 2

    config.write_text(yaml.safe_dump({**TINY_CONFIG, "max_epoch": 3, "lr": 0.001}))
    result = subprocess.run(_train_command(yesno_recipe, exp, config, True), capture_output=True, text=True)
    assert result.returncode == 1
    assert f"{exp}: resuming would continue a run trained with other lr " in result.stderr
    assert _epochs_done(exp) == 2 and yaml.safe_load((exp / "config.yaml").read_text())["lr"] == 0.002
