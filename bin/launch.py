#!/usr/bin/env python3
"""Runs a command, or an array of commands, with the output going to log files.

A Kaldi-style job launcher (cf. Kaldi's run.pl / queue.pl / slurm.pl): recipes
call it through $train_cmd / $decode_cmd as

    launch.py [options] [JOB=1:N] LOGFILE command args...

Everything but running the tasks is shared: option parsing, JOB expansion, the
log header and footer, and failure reporting.  A backend is a function

    run(tasks: list[Task], resources: Resources, config: ClusterConfig | None)
        -> list[int]

registered in BACKENDS (local: processes here; slurm: one sbatch job array).
It runs every Task's bash script (which writes the task's log itself, so it
can run on any host that sees the log directory) and returns the exit
statuses in task order.  SIGINT and SIGTERM raise Interrupted
inside it; it must then stop the tasks it started and re-raise.

Standard library only, Python >= 3.9.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

PROG = "launch.py"

USAGE = """\
Usage: launch.py [options] [JOB=1:N] LOGFILE command [args...]
 e.g.: launch.py JOB=1:4 exp/log/fbank.JOB.log asrkit fbank --job JOB --nj 4 data/train fbank
Runs the command with stdout and stderr going to LOGFILE.  With JOB=START:END
(any variable name) it runs END-START+1 tasks, replacing every occurrence of
the name in LOGFILE and in the command by the task's index.  Arguments that
contain whitespace are quoted; other words, e.g. '|' or '>', reach bash as is.
Options:
  --backend NAME      where the tasks run: {backends} (default: local)
  --max-jobs-run N    run at most N tasks at once (default: all)
  --mem SIZE          memory per task, e.g. 4G (cluster backends only)
  --time LIMIT        time limit per task, e.g. 1:00:00 (cluster backends only)
  --num-threads N     threads per task, exported as OMP_NUM_THREADS
  --gpu N             GPUs per task (cluster backends only)
  --config FILE       Kaldi-style option mapping for cluster backends, with
                      lines 'command ...', 'option NAME=VALUE|* ARGS' ($0 is
                      the value) and 'default NAME=VALUE' (slurm: default
                      conf/slurm.conf of this repository)
The slurm backend submits one sbatch job array and waits for it; run again,
it submits only the tasks that failed or did not finish last time.  With
ASRKIT_SLURM_WAIT_LIMIT=SECONDS in the environment it cancels the array and
fails when the array has not finished by then."""


class UsageError(Exception):
    """The command line is wrong; the usage message is printed."""


class LaunchError(Exception):
    """Something other than the command line is wrong (e.g. a config file)."""


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived while the tasks were running."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass(frozen=True)
class Resources:
    """What each task asks for; None means not requested on the command line."""

    max_jobs_run: int | None = None
    mem: str | None = None
    time: str | None = None
    num_threads: int | None = None
    gpu: int | None = None


class JobRange(NamedTuple):
    name: str
    start: int
    end: int


class Task(NamedTuple):
    index: int | None  # None when there is no JOB= range
    log: str
    script: str  # bash script: runs the command, writes the log, exits with its status
    command: str  # the command line, as the log's first line shows it


class Invocation(NamedTuple):
    log: str
    command: list[str]
    job: JobRange | None
    backend: str
    config: str | None
    resources: Resources


class ClusterConfig(NamedTuple):
    """A parsed --config file, in the format of Kaldi's conf/queue.conf.

    Option names use underscores, like the fields of Resources.
    """

    command: str  # the submit command, e.g. "sbatch --export=PATH"
    options: dict[str, dict[str, str]]  # name -> {value, or "*": extra args}
    defaults: dict[str, str]  # name -> value used when the option is not given

    def args_for(self, name: str, value: str) -> str:
        """The submit-command arguments for option `name` set to `value`."""
        choices = self.options.get(name, {})
        if value in choices:
            return choices[value]
        if "*" in choices:
            return choices["*"].replace("$0", value)
        raise LaunchError(f"config has no 'option {name}={value}' or 'option {name}=*' line")


# ---------------------------------------------------------------------------
# Command line


def _positive_int(option: str, value: str) -> int:
    if not re.fullmatch(r"[0-9]+", value) or int(value) < 1:
        raise UsageError(f"{option} needs a positive integer, got '{value}'")
    return int(value)


def _non_negative_int(option: str, value: str) -> int:
    if not re.fullmatch(r"[0-9]+", value):
        raise UsageError(f"{option} needs a non-negative integer, got '{value}'")
    return int(value)


def _backend_name(option: str, value: str) -> str:
    if value not in BACKENDS:
        raise UsageError(f"{option}: unknown backend '{value}' (known: {', '.join(sorted(BACKENDS))})")
    return value


def _text(option: str, value: str) -> str:
    return value


_OPTIONS = {
    "--backend": _backend_name,
    "--config": _text,
    "--max-jobs-run": _positive_int,
    "--mem": _text,
    "--time": _text,
    "--num-threads": _positive_int,
    "--gpu": _non_negative_int,
}

# A word like NAME=... without '/' or '.' cannot sensibly be a log file, so it
# is taken as a job range and rejected if malformed rather than used as a log.
_JOB_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=[^/.]*")


def parse_job_range(word: str) -> JobRange:
    name, _, value = word.partition("=")
    match = re.fullmatch(r"([0-9]+)(?::([0-9]+))?", value)
    if match:
        start = int(match.group(1))
        end = int(match.group(2) or start)
        if start <= end:
            return JobRange(name, start, end)
    raise UsageError(f"malformed job range '{word}': expected {name}=START:END with START <= END")


def parse_args(argv: list[str]) -> Invocation:
    """Options and the job range may come in any order, before LOGFILE."""
    settings: dict[str, Any] = {}
    job = None
    i = 0
    while i < len(argv) and (argv[i].startswith("-") or _JOB_WORD.fullmatch(argv[i])):
        word = argv[i]
        if word.startswith("-"):
            option, has_value, value = word.partition("=")
            if option not in _OPTIONS:
                raise UsageError(f"unknown option {option}")
            if not has_value:
                if i + 1 == len(argv):
                    raise UsageError(f"option {option} needs a value")
                i += 1
                value = argv[i]
            settings[option[2:].replace("-", "_")] = _OPTIONS[option](option, value)
        elif job is None:
            job = parse_job_range(word)
        else:
            raise UsageError(f"more than one job range: '{job.name}={job.start}:{job.end}' and '{word}'")
        i += 1
    if i == len(argv):
        raise UsageError("no log file and command given")
    if i + 1 == len(argv):
        raise UsageError(f"no command given after log file '{argv[i]}'")
    log, command = argv[i], argv[i + 1:]
    if job and job.end > job.start and job.name not in log:
        raise UsageError(f"log file '{log}' does not contain {job.name}: the tasks would share one log")
    backend = settings.pop("backend", "local")
    config = settings.pop("config", None)
    return Invocation(log, command, job, backend, config, Resources(**settings))


# ---------------------------------------------------------------------------
# Config file


def parse_config(text: str, source: str) -> ClusterConfig:
    """Parses Kaldi's queue.conf format; errors name `source` and the line."""
    command = None
    options: dict[str, dict[str, str]] = {}
    defaults: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        words = line.split("#", 1)[0].strip().split(None, 2)
        if not words:
            continue
        where = f"{source}:{number}"
        keyword, rest = words[0], words[1:]
        if keyword == "command":
            if command is not None:
                raise LaunchError(f"{where}: second 'command' line")
            if not rest:
                raise LaunchError(f"{where}: 'command' needs the submit command")
            command = " ".join(rest)
        elif keyword in ("option", "default"):
            setting = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(\S+)", rest[0] if rest else "")
            if not setting:
                raise LaunchError(f"{where}: expected '{keyword} NAME=VALUE ...', got '{line.strip()}'")
            name, value = setting.groups()
            if keyword == "option":
                options.setdefault(name, {})[value] = rest[1] if len(rest) > 1 else ""
            elif len(rest) > 1:
                raise LaunchError(f"{where}: 'default {name}={value}' takes nothing after it")
            else:
                defaults[name] = value
        else:
            raise LaunchError(f"{where}: expected 'command', 'option' or 'default', got '{keyword}'")
    if command is None:
        raise LaunchError(f"{source}: no 'command' line")
    return ClusterConfig(command, options, defaults)


def load_config(path: str) -> ClusterConfig:
    try:
        with open(path) as f:
            return parse_config(f.read(), path)
    except OSError as e:
        raise LaunchError(f"cannot read config {path}: {e.strerror}") from None


# ---------------------------------------------------------------------------
# Tasks


def join_command(args: list[str]) -> str:
    # As in run.pl, bare words are not quoted, so that recipes can pipe with
    # '\|' or redirect with '>' inside the launched command.
    return " ".join(a if re.fullmatch(r"\S+", a) else shlex.quote(a) for a in args)


def task_script(command: str, log: str, num_threads: int | None) -> str:
    """A bash script that runs `command` with output to `log`, Kaldi-style."""
    log = shlex.quote(log)
    threads = f"export OMP_NUM_THREADS={num_threads}\n" if num_threads else ""
    return (
        threads
        + f"printf '# %s\\n# Started at %s\\n' {shlex.quote(command)} \"$(date)\" > {log} || exit\n"
        + "SECONDS=0\n"
        + f"(\n{command}\n) >> {log} 2>&1\n"
        + "code=$?\n"
        + "printf '# Accounting: time=%s threads=%s\\n# Ended (code %s) at %s\\n'"
        + f" \"$SECONDS\" {num_threads or 1} \"$code\" \"$(date)\" >> {log}\n"
        + 'exit "$code"\n'
    )


def make_tasks(inv: Invocation) -> list[Task]:
    threads = inv.resources.num_threads
    if inv.job is None:
        command = join_command(inv.command)
        return [Task(None, inv.log, task_script(command, inv.log, threads), command)]
    name, tasks = inv.job.name, []
    for index in range(inv.job.start, inv.job.end + 1):
        log = inv.log.replace(name, str(index))
        command = join_command([a.replace(name, str(index)) for a in inv.command])
        tasks.append(Task(index, log, task_script(command, log, threads), command))
    return tasks


# ---------------------------------------------------------------------------
# Backends


def run_local(tasks: list[Task], resources: Resources, config: ClusterConfig | None) -> list[int]:
    """Runs the tasks on this machine, at most resources.max_jobs_run at once.

    --mem, --time, --gpu and the config have no meaning here and are ignored.
    """
    limit = resources.max_jobs_run or len(tasks)
    codes = [0] * len(tasks)
    running: dict[int, tuple[int, subprocess.Popen]] = {}  # pid -> (position, process)
    try:
        for position, task in enumerate(tasks):
            if len(running) == limit:
                _reap_one(running, codes)
            # A session of its own lets us kill the task's whole process tree.
            process = subprocess.Popen(["bash", "-c", task.script], stdin=subprocess.DEVNULL,
                                       start_new_session=True)
            running[process.pid] = (position, process)
        while running:
            _reap_one(running, codes)
    except BaseException:
        _kill([process for _, process in running.values()])
        raise
    return codes


def _reap_one(running: dict[int, tuple[int, subprocess.Popen]], codes: list[int]) -> None:
    pid, status = os.wait()
    position, process = running.pop(pid)
    code = os.waitstatus_to_exitcode(status)
    # Tell Popen it was reaped; report a signal death the way bash does.
    process.returncode = codes[position] = code if code >= 0 else 128 - code


def _kill(processes: list[subprocess.Popen], grace: float = 2.0) -> None:
    for process in processes:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


# Slurm: one `sbatch --array` per invocation.  The task logs double as status files: a task succeeded when its
# log starts with its command and ends with "# Ended (code 0)".  Waiting polls squeue rather than using
# `sbatch --wait` (which polls at 2, 8 and then every 32 s); exit statuses come from the log footers because
# a finished task leaves squeue, and after MinJobAge scontrol forgets it too.

DEFAULT_SLURM_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "conf", "slurm.conf")
SLURM_CALL_TIMEOUT = 60.0  # seconds for one sbatch, squeue or scancel call
SLURM_UNREACHABLE_LIMIT = 600.0  # stop waiting once squeue has failed for this long
FOOTER_GRACE = 30.0  # a shared file system may show a finished task's log footer late
# Jobs may rightly run for days, so by default the wait has no overall limit; tests and CI set one.
WAIT_LIMIT_VARIABLE = "ASRKIT_SLURM_WAIT_LIMIT"  # seconds
_ENDED = re.compile(r"# Ended \(code (-?[0-9]+)\) at ")


def run_slurm(tasks: list[Task], resources: Resources, config: ClusterConfig | None) -> list[int]:
    """Submits the tasks as one job array, waits for it and returns the exit statuses from the task logs.

    When an earlier run of the same command left some tasks failed or unfinished, only those are submitted
    again and the others keep their status; a command whose tasks all succeeded before runs again in full.
    """
    config = config or load_config(DEFAULT_SLURM_CONFIG)
    codes = [_logged_status(task) for task in tasks]
    if all(code == 0 for code in codes):
        codes = [None] * len(tasks)
    todo = [task for task, code in zip(tasks, codes) if code != 0]
    if len(todo) < len(tasks):
        done = ",".join(str(task.index) for task, code in zip(tasks, codes) if code == 0)
        print(f"{PROG}: tasks {done} succeeded in an earlier run; submitting only the others", file=sys.stderr)
    for task in todo:
        _remove(task.log)  # a stale footer must not pass for this run's status
    job_id = _submit(todo, resources, config)
    try:
        _wait_for_job(job_id)
    except BaseException:
        _cancel(job_id)
        raise
    statuses = {task.log: _await_status(task) for task in todo}
    return [statuses.get(task.log, code) for task, code in zip(tasks, codes)]


def _logged_status(task: Task) -> int | None:
    """The exit status in the footer of the task's log; None if the log is missing, unfinished or another command's."""
    try:
        with open(task.log, errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    if not lines or lines[0] != f"# {task.command}":
        return None
    ended = _ENDED.match(lines[-1])
    return int(ended.group(1)) if ended else None


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _submit(tasks: list[Task], resources: Resources, config: ClusterConfig) -> str:
    """sbatch's job id for one array job (a plain job without JOB=) that runs the tasks' scripts."""
    args = shlex.split(config.command) + _resource_args(resources, config)
    output, name = tasks[0].log.replace("%", "%%"), tasks[0].log
    if tasks[0].index is not None:
        limit = f"%{resources.max_jobs_run}" if resources.max_jobs_run else ""
        args.append(f"--array={','.join(str(task.index) for task in tasks)}{limit}")
        output = _array_pattern(tasks)
        if output != os.devnull:  # e.g. fbank.JOB.log, whatever the variable's name
            name = output.replace("%a", "JOB").replace("%%", "%")
    args += ["--parsable", f"--output={output}", "--open-mode=append", f"--job-name={os.path.basename(name)}"]
    result = _slurm_call(args, _array_script(tasks))
    if result.returncode != 0:
        raise LaunchError(f"{args[0]} failed (exit {result.returncode}): {result.stderr.strip()}")
    return result.stdout.strip().split(";")[0]


def _resource_args(resources: Resources, config: ClusterConfig) -> list[str]:
    """Submit arguments for the resources asked for, or else the config's defaults."""
    args = []
    for name in ("mem", "time", "num_threads", "gpu"):
        value = getattr(resources, name)
        value = config.defaults.get(name) if value is None else str(value)
        if value is not None:
            args += shlex.split(config.args_for(name, value))
    return args


def _array_pattern(tasks: list[Task]) -> str:
    """The tasks' log path with Slurm's %a in place of the task index, so that Slurm's own messages (time or
    memory limit) land in the task's log; /dev/null when no such pattern gives every task's log."""
    last = tasks[-1]
    escaped, index = last.log.replace("%", "%%"), str(last.index)
    start = escaped.rfind(index)
    for pattern in (escaped.replace(index, "%a"), escaped[:start] + "%a" + escaped[start + len(index):]):
        if all(pattern.replace("%a", str(task.index)) == task.log.replace("%", "%%") for task in tasks):
            return pattern
    return os.devnull


def _array_script(tasks: list[Task]) -> str:
    """One batch script for all tasks: each array task runs the script of its index."""
    if tasks[0].index is None:
        return "#!/bin/bash\n" + tasks[0].script
    cases = "".join(f"{task.index})\n{task.script};;\n" for task in tasks)
    return f"#!/bin/bash\ncase $SLURM_ARRAY_TASK_ID in\n{cases}esac\n"


def _slurm_call(args: list[str], stdin: str = "") -> subprocess.CompletedProcess:
    try:
        return subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=SLURM_CALL_TIMEOUT)
    except FileNotFoundError:
        raise LaunchError(f"{args[0]} not found: is this a Slurm submit host?") from None
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, 124, "", f"no answer in {SLURM_CALL_TIMEOUT:.0f} s")


def _wait_for_job(job_id: str) -> None:
    """Returns when no task of the job is pending or running any more."""
    delay, start = 0.5, time.monotonic()
    last_answer = start
    limit = float(os.environ.get(WAIT_LIMIT_VARIABLE) or "inf")
    while True:
        if time.monotonic() - start > limit:
            raise LaunchError(f"job {job_id} still queued or running after {limit:.0f} s ({WAIT_LIMIT_VARIABLE})")
        result = _slurm_call(["squeue", "--noheader", "--array", "--jobs", job_id, "--format=%T"])
        if result.returncode == 0 and not result.stdout.strip():
            return
        if result.returncode != 0 and "Invalid job id" in result.stderr:
            return  # finished and already purged
        if result.returncode == 0:
            last_answer = time.monotonic()
        elif time.monotonic() - last_answer > SLURM_UNREACHABLE_LIMIT:
            raise LaunchError(f"squeue has failed for {SLURM_UNREACHABLE_LIMIT:.0f} s: {result.stderr.strip()}")
        time.sleep(delay)
        delay = min(delay * 1.5, 10.0)


def _await_status(task: Task) -> int:
    """The finished task's exit status from its log footer; 1 when the task ended without one (killed)."""
    deadline = time.monotonic() + FOOTER_GRACE
    while (code := _logged_status(task)) is None and time.monotonic() < deadline:
        time.sleep(0.5)
    return 1 if code is None else code


def _cancel(job_id: str) -> None:
    """scancel the job and wait (briefly) until squeue no longer lists it."""
    _slurm_call(["scancel", job_id])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        result = _slurm_call(["squeue", "--noheader", "--array", "--jobs", job_id, "--format=%T"])
        if result.returncode != 0 or not result.stdout.strip():
            return
        time.sleep(0.5)


BACKENDS = {"local": run_local, "slurm": run_slurm}


# ---------------------------------------------------------------------------
# Main


def report_failures(inv: Invocation, tasks: list[Task], codes: list[int]) -> int:
    failed = [(task, code) for task, code in zip(tasks, codes) if code != 0]
    if not failed:
        return 0
    if inv.job is None:
        print(f"{PROG}: job failed (exit {codes[0]}), see {inv.log}", file=sys.stderr)
        return 1
    indices = ",".join(str(task.index) for task, _ in failed)
    logs = inv.log.replace(inv.job.name, f"[{indices}]" if len(failed) > 1 else indices)
    print(f"{PROG}: {len(failed)} / {len(tasks)} failed, log is in {logs}", file=sys.stderr)
    for task, code in failed:
        print(f"{PROG}: job {task.index} failed (exit {code}), see {task.log}", file=sys.stderr)
    return 1


def _interrupt(signum: int, frame: object) -> None:
    # Ignore repeated signals so that a second Ctrl-C cannot cut the cleanup short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Interrupted(signum)


def main(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"]):
        print(USAGE.format(backends=", ".join(sorted(BACKENDS))))
        return 0
    try:
        inv = parse_args(argv)
        config = load_config(inv.config) if inv.config else None
        tasks = make_tasks(inv)
        for task in tasks:
            os.makedirs(os.path.dirname(task.log) or ".", exist_ok=True)
    except UsageError as e:
        print(f"{PROG}: {e}\n{USAGE.splitlines()[0]}\nSee '{PROG} --help'.", file=sys.stderr)
        return 1
    except LaunchError as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"{PROG}: cannot create log directory {e.filename}: {e.strerror}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        codes = BACKENDS[inv.backend](tasks, inv.resources, config)
    except Interrupted as e:
        print(f"{PROG}: interrupted by {e}, killed the running tasks", file=sys.stderr)
        return 128 + e.signum
    except LaunchError as e:  # e.g. the scheduler refused the job
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1
    return report_failures(inv, tasks, codes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
