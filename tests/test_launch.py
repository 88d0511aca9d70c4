"""Tests for bin/launch.py and bin/parse_options.sh."""

import importlib.util
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

BIN = Path(__file__).resolve().parent.parent / "bin"
LAUNCH = BIN / "launch.py"
PARSE_OPTIONS = BIN / "parse_options.sh"


def launch(cwd, *args, timeout=15):
    return subprocess.run([str(LAUNCH), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def launch_module():
    spec = importlib.util.spec_from_file_location("launch", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is created.
    sys.modules["launch"] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["launch"]


def body(log):
    """The log without its two header and two footer lines."""
    return log.read_text().splitlines()[2:-2]


def test_job_array_writes_one_log_per_task_with_job_substituted(tmp_path):
    result = launch(tmp_path, "JOB=1:4", "exp/log/fbank.JOB.log",
                    "echo", "--job", "JOB", "--nj", "4", "out.JOB.ark")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "exp/log").iterdir()) == [
        f"fbank.{i}.log" for i in range(1, 5)]
    for i in range(1, 5):
        assert body(tmp_path / f"exp/log/fbank.{i}.log") == [f"--job {i} --nj 4 out.{i}.ark"]


def test_any_variable_name_and_single_run(tmp_path):
    assert launch(tmp_path, "FOO=2:3", "log/FOO.log", "echo", "FOO").returncode == 0
    assert body(tmp_path / "log/2.log") == ["2"]
    assert body(tmp_path / "log/3.log") == ["3"]
    assert launch(tmp_path, "one.log", "echo", "JOB").returncode == 0
    assert body(tmp_path / "one.log") == ["JOB"]


def test_log_header_and_footer(tmp_path):
    result = launch(tmp_path, "--num-threads", "3", "x.log",
                    "bash", "-c", "echo $OMP_NUM_THREADS; echo oops >&2; exit 3")
    assert result.returncode == 1
    lines = (tmp_path / "x.log").read_text().splitlines()
    assert lines[0] == "# bash -c 'echo $OMP_NUM_THREADS; echo oops >&2; exit 3'"
    assert lines[1].startswith("# Started at ")
    assert lines[2:4] == ["3", "oops"]
    assert re.fullmatch(r"# Accounting: time=\d+ threads=3", lines[4])
    assert lines[5].startswith("# Ended (code 3) at ")
    assert len(lines) == 6
    assert result.stderr == "launch.py: job failed (exit 3), see x.log\n"


def test_bare_words_reach_the_shell_and_quoted_args_stay_whole(tmp_path):
    assert launch(tmp_path, "x.log", "echo", "a  b", "|", "tr", "a", "A").returncode == 0
    assert body(tmp_path / "x.log") == ["A  b"]


def test_failed_task_is_named_with_its_log(tmp_path):
    result = launch(tmp_path, "JOB=1:4", "exp/log/t.JOB.log", "bash", "-c", "exit $((JOB==3))")
    assert result.returncode != 0
    assert result.stderr.splitlines() == [
        "launch.py: 1 / 4 failed, log is in exp/log/t.3.log",
        "launch.py: job 3 failed (exit 1), see exp/log/t.3.log",
    ]


def test_several_failed_tasks_are_summarised(tmp_path):
    result = launch(tmp_path, "JOB=1:4", "exp/log/t.JOB.log", "bash", "-c", "exit $((JOB%2==0))")
    assert result.returncode != 0
    assert result.stderr.splitlines()[0] == "launch.py: 2 / 4 failed, log is in exp/log/t.[2,4].log"
    assert "launch.py: job 4 failed (exit 1), see exp/log/t.4.log" in result.stderr


def test_tasks_run_at_once_by_default(tmp_path):
    # Each task waits until every task has started: this only passes if all 4 run together.
    barrier = "touch started.JOB; for i in $(seq 100); do [ $(ls started.* | wc -l) = 4 ] && exit; sleep 0.05; done; exit 1"
    result = launch(tmp_path, "JOB=1:4", "log/JOB.log", "bash", "-c", barrier)
    assert result.returncode == 0, result.stderr


def test_max_jobs_run_1_serialises(tmp_path):
    # mkdir is atomic: a second task running at the same time would fail to take the lock.
    locked = "mkdir lock || exit 1; sleep 0.2; rmdir lock"
    result = launch(tmp_path, "--max-jobs-run", "1", "JOB=1:4", "log/JOB.log", "bash", "-c", locked)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("args, message", [
    (["JOB=3:1", "x.JOB.log", "true"], "malformed job range 'JOB=3:1'"),
    (["JOB=1:", "x.JOB.log", "true"], "malformed job range 'JOB=1:'"),
    (["JOB=1:4", "x.log", "true"], "log file 'x.log' does not contain JOB"),
    (["JOB=1:4", "x.JOB.log"], "no command given after log file 'x.JOB.log'"),
    ([], "no log file and command given"),
    (["--foo", "1", "x.log", "true"], "unknown option --foo"),
    (["--max-jobs-run", "0", "x.log", "true"], "--max-jobs-run needs a positive integer, got '0'"),
    (["--backend", "pbs", "x.log", "true"], "unknown backend 'pbs'"),
])
def test_bad_usage(tmp_path, args, message):
    result = launch(tmp_path, *args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Usage: launch.py" in result.stderr
    assert not list(tmp_path.iterdir())


def test_cluster_options_are_accepted_and_ignored_locally(tmp_path):
    conf = tmp_path / "slurm.conf"
    conf.write_text("command sbatch\noption gpu=* --gres=gpu:$0\n")
    result = launch(tmp_path, "--mem", "4G", "--time=1:00:00", "--gpu", "1", "--config", str(conf),
                    "JOB=1:2", "--max-jobs-run", "2", "log/JOB.log", "echo", "ok")
    assert result.returncode == 0, result.stderr
    assert body(tmp_path / "log/2.log") == ["ok"]


def test_unreadable_config_is_an_error(tmp_path):
    result = launch(tmp_path, "--config", "missing.conf", "x.log", "true")
    assert result.returncode == 1
    assert result.stderr == "launch.py: cannot read config missing.conf: No such file or directory\n"


SLURM_CONF = """\
# Slurm, Kaldi style
command sbatch --export=PATH
option time=* --time $0
option mem=* --mem-per-cpu $0
option mem=0          # do not ask for memory
option num_threads=* --cpus-per-task $0
default gpu=0
option gpu=0
option gpu=* -p gpu --gres=gpu:$0   # a GPU partition
"""


def test_parse_config(launch_module):
    config = launch_module.parse_config(SLURM_CONF, "slurm.conf")
    assert config.command == "sbatch --export=PATH"
    assert config.defaults == {"gpu": "0"}
    assert config.options["mem"] == {"*": "--mem-per-cpu $0", "0": ""}
    assert config.args_for("mem", "4G") == "--mem-per-cpu 4G"
    assert config.args_for("mem", "0") == ""
    assert config.args_for("gpu", "2") == "-p gpu --gres=gpu:2"
    assert config.args_for("gpu", "0") == ""
    with pytest.raises(launch_module.LaunchError, match="no 'option max_jobs_run=4'"):
        config.args_for("max_jobs_run", "4")


@pytest.mark.parametrize("text, message", [
    ("option mem=* --mem $0\n", "slurm.conf: no 'command' line"),
    ("command sbatch\nqueue all.q\n", "slurm.conf:2: expected 'command', 'option' or 'default', got 'queue'"),
    ("command sbatch\noption mem --mem $0\n", "slurm.conf:2: expected 'option NAME=VALUE ...'"),
    ("command sbatch\ncommand qsub\n", "slurm.conf:2: second 'command' line"),
    ("command sbatch\ndefault gpu=0 -p gpu\n", "slurm.conf:2: 'default gpu=0' takes nothing after it"),
])
def test_parse_config_errors(launch_module, text, message):
    with pytest.raises(launch_module.LaunchError, match=re.escape(message)):
        launch_module.parse_config(text, "slurm.conf")


def test_interrupt_kills_running_tasks(tmp_path):
    proc = subprocess.Popen([str(LAUNCH), "JOB=1:2", "log/JOB.log",
                             "bash", "-c", "echo $$ > pid.JOB; exec sleep 30"],
                            cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    pid_files = [tmp_path / "pid.1", tmp_path / "pid.2"]
    deadline = time.monotonic() + 10
    while not all(p.exists() and p.read_text().strip() for p in pid_files):
        assert time.monotonic() < deadline, "tasks did not start"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=10)
    assert proc.returncode == 128 + signal.SIGINT
    assert "interrupted by SIGINT" in stderr
    for pid_file in pid_files:
        assert not is_running(int(pid_file.read_text()))


def is_running(pid):
    """False for a process that is gone or a zombie waiting for its (new) parent to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


OPTIONS_SCRIPT = """\
set -eu
nj=4
use_gpu=false
feats_type=fbank
help_message="Usage: run.sh [options] <data-dir>\\n  --nj N   number of jobs"
. "{parse_options}"
echo "nj=$nj use_gpu=$use_gpu feats_type=$feats_type args=$*"
"""


def run_options(tmp_path, *args):
    script = tmp_path / "run.sh"
    script.write_text(OPTIONS_SCRIPT.format(parse_options=PARSE_OPTIONS))
    return subprocess.run(["bash", str(script), *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=10)


def test_parse_options_sets_variables_and_stops_at_first_argument(tmp_path):
    result = run_options(tmp_path, "--nj", "8", "--feats-type", "raw wav", "--use_gpu", "true",
                         "data/train", "--nj", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "nj=8 use_gpu=true feats_type=raw wav args=data/train --nj 2\n"


def test_parse_options_config_file_is_overridden_by_command_line(tmp_path):
    (tmp_path / "my.conf").write_text("nj=16\nfeats_type=raw\n")
    result = run_options(tmp_path, "--nj", "2", "--config", "my.conf", "data")
    assert result.stdout == "nj=2 use_gpu=false feats_type=raw args=data\n"


@pytest.mark.parametrize("args, message", [
    (["--xyz", "1"], "parse_options.sh: invalid option --xyz"),
    (["--use-gpu", "yes"], "parse_options.sh: option --use-gpu takes true or false, got 'yes'"),
    (["--nj"], "parse_options.sh: option --nj needs a value"),
    (["--nj=3"], "parse_options.sh: options take the form --name value, got '--nj=3'"),
    (["--config", "missing.conf"], "parse_options.sh: cannot read config file 'missing.conf'"),
])
def test_parse_options_rejects_bad_options(tmp_path, args, message):
    result = run_options(tmp_path, *args)
    assert result.returncode == 1
    assert result.stderr == message + "\n"
    assert result.stdout == ""


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_parse_options_prints_help(tmp_path, flag):
    result = run_options(tmp_path, flag)
    assert result.returncode == 0
    assert result.stdout == "Usage: run.sh [options] <data-dir>\n  --nj N   number of jobs\n"
