"""The slurm backend of bin/launch.py and DDP training under sbatch, against a real Slurm.

CI starts a one-node cluster on the test machine first (tests/slurm/start-local-cluster.sh, run by `make test`).
Without a reachable cluster these tests skip, except under CI (env CI set), where that is a failure.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import torch
import yaml
from conftest import REPO, run_recipe, shared_corpus

pytestmark = pytest.mark.slurm

LAUNCH = REPO / "bin" / "launch.py"
SLURM_CONF = REPO / "conf" / "slurm.conf"
WAIT_LIMIT = {"ASRKIT_SLURM_WAIT_LIMIT": "200"}  # no job here takes longer: a stuck one fails the test

# Small enough to train in seconds. One- and two-rank runs agree to float precision only where an utterance's
# outputs do not depend on the padding around it: so no dropout or SpecAug, no conv2d subsampling (espnet derives
# the subsampled length from the padded length) and no convolution over time wider than one frame.
TINY_CONFIG = {
    "seed": 5,
    "max_epoch": 3,
    "batch_frames": 100000,
    "lr": 0.002,
    "warmup_steps": 2,
    "keep_nbest": 1,
    "model": {
        "input_size": 80,
        "encoder": {"output_size": 32, "attention_heads": 2, "num_blocks": 1, "linear_units": 32,
                    "cgmlp_linear_units": 32, "cgmlp_conv_kernel": 1, "merge_conv_kernel": 1,
                    "input_layer": "linear", "dropout_rate": 0.0, "positional_dropout_rate": 0.0},
        "decoder": {"attention_heads": 2, "linear_units": 32, "num_blocks": 2, "dropout_rate": 0.0,
                    "positional_dropout_rate": 0.0},
        "decred": {"layers": [1], "weights": [0.3], "final_weight": 0.7},
    },
}


def _cluster_problem() -> str | None:
    """Why no Slurm cluster can take jobs here, or None when one can."""
    if shutil.which("sinfo") is None:
        return "sinfo is not installed"
    try:
        result = subprocess.run(["sinfo", "--noheader", "--format=%T"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "sinfo did not answer in 20 s"
    states = result.stdout.split()
    if result.returncode != 0 or not any(s.rstrip("*") in ("idle", "mixed", "allocated") for s in states):
        return f"no node up (sinfo: {result.stdout.strip() or result.stderr.strip()})"
    return None


@pytest.fixture(scope="module", autouse=True)
def slurm_cluster():
    problem = _cluster_problem()
    if problem:
        message = f"no Slurm cluster: {problem}; start one with tests/slurm/start-local-cluster.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def launch(cwd, *args, config=SLURM_CONF, timeout=120, **env):
    """launch.py --backend slurm ARGS; on a timeout its jobs are cancelled (they are named after the log)."""
    log = next(a for a in args if a.endswith(".log"))
    try:
        return subprocess.run([str(LAUNCH), "--backend", "slurm", "--config", str(config), *args], cwd=cwd,
                              env={**os.environ, **WAIT_LIMIT, **env}, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        subprocess.run(["scancel", f"--name={os.path.basename(log)}"], timeout=20)
        raise


def squeue_names() -> list[str]:
    result = subprocess.run(["squeue", "--noheader", "--array", "--format=%j"], capture_output=True, text=True,
                            timeout=20, check=True)
    return result.stdout.split()


def test_array_runs_each_task_in_slurm_with_its_log_where_asked(tmp_path):
    result = launch(tmp_path, "--num-threads", "1", "JOB=1:4", "exp/log/echo.JOB.log",
                    "bash", "-c", "echo task JOB array $SLURM_ARRAY_TASK_ID env $ASRKIT_PROBE $OMP_NUM_THREADS",
                    ASRKIT_PROBE="reached")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "exp/log").iterdir()) == [f"echo.{i}.log" for i in range(1, 5)]
    for i in range(1, 5):
        lines = (tmp_path / f"exp/log/echo.{i}.log").read_text().splitlines()
        assert lines[2] == f"task {i} array {i} env reached 1"
        assert lines[-1].startswith("# Ended (code 0) at ")


def test_failed_task_is_named_and_alone_submitted_again(tmp_path):
    # Each run of a task appends to runs.JOB; a task fails while fail.JOB exists.
    command = ["bash", "-c", "echo run >> runs.JOB; [ ! -e fail.JOB ]"]
    (tmp_path / "fail.3").touch()
    first = launch(tmp_path, "JOB=1:4", "log/t.JOB.log", *command)
    assert first.returncode == 1
    assert first.stderr.splitlines()[-2:] == ["launch.py: 1 / 4 failed, log is in log/t.3.log",
                                              "launch.py: job 3 failed (exit 1), see log/t.3.log"]
    (tmp_path / "fail.3").unlink()
    second = launch(tmp_path, "JOB=1:4", "log/t.JOB.log", *command)
    assert second.returncode == 0, second.stderr
    assert "tasks 1,2,4 succeeded in an earlier run" in second.stderr
    assert [len((tmp_path / f"runs.{i}").read_text().splitlines()) for i in range(1, 5)] == [1, 1, 2, 1]
    # Once all succeeded, the same command is a fresh run of every task.
    assert launch(tmp_path, "JOB=1:4", "log/t.JOB.log", *command).returncode == 0
    assert [len((tmp_path / f"runs.{i}").read_text().splitlines()) for i in range(1, 5)] == [2, 2, 3, 2]


def test_a_request_the_cluster_refuses_is_an_error_naming_sbatch(tmp_path):
    result = launch(tmp_path, "--mem", "100000G", "JOB=1:2", "log/t.JOB.log", "true", timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith("launch.py: sbatch failed (exit 1): sbatch: error:")


def test_interrupt_cancels_the_array(tmp_path):
    name = f"sleep-{uuid.uuid4().hex[:8]}.JOB.log"
    process = subprocess.Popen([str(LAUNCH), "--backend", "slurm", "--config", str(SLURM_CONF), "JOB=1:2", name,
                                "bash", "-c", "touch started.JOB; sleep 120"],
                               cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not ((tmp_path / "started.1").exists() and (tmp_path / "started.2").exists()):
            assert time.monotonic() < deadline, "the array's tasks did not start"
            time.sleep(0.2)
        assert squeue_names().count(name) == 2
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
        subprocess.run(["scancel", f"--name={name}"], timeout=20)
    assert process.returncode == 128 + signal.SIGINT
    assert "interrupted by SIGINT" in stderr
    assert name not in squeue_names()


# ---------------------------------------------------------------------------
# The FSDD recipe on a few recordings, local and slurm


def run_fsdd(recipe: Path, backend: str, *args: str):
    """The FSDD recipe in RECIPE on the corpus and config that fsdd_data put beside it."""
    return run_recipe("fsdd", recipe, "--asr_config", str(recipe.parent / "tiny.yaml"), "--nj", "2",
                      "--test_sets", "test", *args, FSDD=str(recipe.parent / "corpus"), cmd_backend=backend,
                      OMP_NUM_THREADS="1", **WAIT_LIMIT)


@pytest.fixture(scope="module")
def fsdd_data(tmp_path_factory) -> Path:
    """The recipe's data dirs (stages 1-3, which submit no jobs) on 41 recordings: two training speakers' digits
    0-4 in takes 0 (test), 5 (dev), 7 and 8 (train), and one of theo's, which local/data.sh needs for its
    unseen-speaker set (not decoded here); the tiny training config beside it."""
    recordings = shared_corpus("fsdd") / "recordings"
    root = tmp_path_factory.mktemp("fsdd")
    subset = root / "corpus" / "recordings"
    subset.mkdir(parents=True)
    names = [f"{digit}_{speaker}_{take}.wav" for digit in range(5) for speaker in ("george", "jackson")
             for take in (0, 5, 7, 8)] + ["0_theo_0.wav"]
    for name in names:
        (subset / name).symlink_to(recordings / name)
    (root / "tiny.yaml").write_text(yaml.safe_dump(TINY_CONFIG))
    run_fsdd(root / "asr1", "local", "--stop_stage", "3")
    return root / "asr1"


def copy_recipe(recipe: Path, to: Path) -> Path:
    shutil.copytree(recipe.parent, to, symlinks=True)
    return to / "asr1"


@pytest.fixture(scope="module")
def fsdd_local(fsdd_data) -> Path:
    """The recipe's remaining stages run with the local backend."""
    recipe = copy_recipe(fsdd_data, fsdd_data.parent.parent / f"{fsdd_data.parent.name}_local")
    run_fsdd(recipe, "local", "--stage", "4")
    return recipe


def test_fsdd_feature_and_decode_stages_on_slurm_match_local(fsdd_data, fsdd_local, tmp_path):
    recipe = copy_recipe(fsdd_data, tmp_path / "fsdd_slurm")
    run_fsdd(recipe, "slurm", "--stage", "4", "--stop_stage", "4")
    for dset in ("train", "dev", "test"):
        logs = sorted(p.name for p in (recipe / "exp/make_fbank" / dset).glob("fbank.*.log"))
        assert logs == ["fbank.1.log", "fbank.2.log"]
        local = dict(kaldiio.load_scp_sequential(str(fsdd_local / "data" / dset / "feats.scp")))
        slurm = dict(kaldiio.load_scp_sequential(str(recipe / "data" / dset / "feats.scp")))
        assert local.keys() == slurm.keys()
        for utt, matrix in local.items():
            np.testing.assert_array_equal(slurm[utt], matrix, err_msg=utt)
    # Decode with the local run's model and token list: the decode stage alone differs by backend.
    for trained in ("exp/asr_tiny", "data/token_list"):
        shutil.copytree(fsdd_local / trained, recipe / trained)
    run_fsdd(recipe, "slurm", "--stage", "8", "--stop_stage", "9")
    decoded = recipe / "exp/asr_tiny/decode_decode_valid.acc.ave/test"
    assert sorted(p.name for p in (decoded / "logdir").glob("decode.*.log")) == ["decode.1.log", "decode.2.log"]
    for name in ("text", "token", "score", "score_wer/result.txt"):
        assert (decoded / name).read_text() == (fsdd_local / decoded.relative_to(recipe) / name).read_text()


# ---------------------------------------------------------------------------
# DDP: two ranks started by srun inside one sbatch job


def _train_command(recipe: Path, config: Path, exp: Path) -> list[str]:
    data = recipe / "data"
    return ["-m", "asrkit.cli", "train", "--config", str(config), "--train-data", str(data / "train"),
            "--valid-data", str(data / "dev"), "--token-dir", str(data / "token_list/word"),
            "--cmvn", str(data / "train/cmvn.npz"),
            "--exp-dir", str(exp)]


def _history(exp: Path) -> list[dict]:
    return torch.load(exp / "checkpoint.pth", weights_only=False)["history"]


def test_two_rank_ddp_under_sbatch_follows_the_single_process_loss_curve(fsdd_local, tmp_path):
    # One optimiser step per epoch over the same 20 utterances (the same global batch): a single process takes them
    # as one batch, the two ranks as two batches of 10 whose gradients DDP averages.
    frames = sorted((int(n) for n in
                     (line.split()[1] for line in (fsdd_local / "data/train/utt2num_frames").read_text().splitlines())),
                    reverse=True)
    assert len(frames) == 20
    configs = {}
    for name, batch_frames in (("single", 20 * frames[0]), ("ddp", 10 * frames[0])):
        configs[name] = tmp_path / f"{name}.yaml"
        configs[name].write_text(yaml.safe_dump({**TINY_CONFIG, "batch_frames": batch_frames}))
    single = subprocess.run([sys.executable, *_train_command(fsdd_local, configs["single"], tmp_path / "single")],
                            capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert single.returncode == 0, single.stderr[-3000:]

    two_tasks = tmp_path / "slurm.conf"
    two_tasks.write_text(SLURM_CONF.read_text().replace("command sbatch", "command sbatch --ntasks=2", 1))
    ddp = launch(tmp_path, "--num-threads", "1", "ddp.log", "srun", sys.executable,
                 *_train_command(fsdd_local, configs["ddp"], tmp_path / "ddp"), config=two_tasks, timeout=300)
    log = (tmp_path / "ddp.log").read_text()
    assert ddp.returncode == 0, log[-3000:]
    assert "world size 2" in log

    single_curve, ddp_curve = _history(tmp_path / "single"), _history(tmp_path / "ddp")
    assert [h["epoch"] for h in ddp_curve] == [1, 2, 3]
    for split in ("train", "valid"):
        np.testing.assert_allclose([h[split]["loss"] for h in ddp_curve], [h[split]["loss"] for h in single_curve],
                                   rtol=1e-4, err_msg=split)
    # The loss moved: a curve, not three copies of the initial loss.
    assert ddp_curve[-1]["train"]["loss"] < ddp_curve[0]["train"]["loss"]
