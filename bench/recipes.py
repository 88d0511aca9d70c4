#!/usr/bin/env python3
"""Run recipes end to end from scratch and report wall time and WER per test set.

    .venv/bin/python bench/recipes.py yesno fsdd
    .venv/bin/python bench/recipes.py grid --seeds 0 1 2

Each recipe is copied to bench/out/<corpus>/asr1 (outputs of an earlier run are removed first) and run through its
run.sh with the default stages. One line per figure, `name value unit`, so results can be tracked over time.
With --seeds, the recipe runs once per seed in bench/out/<corpus>/asr1_seed<N>, the `seed:` of every training config
in its conf/ set to N; each run's figures are named <corpus>.seed<N>.*, followed by the mean, min and max over seeds.
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # this checkout's asrkit, whatever the venv's editable install points at
from asrkit.fileio import atomic_write  # noqa: E402

# What a run leaves in a recipe dir: never copied, so a copy starts from scratch.
RECIPE_OUTPUTS = shutil.ignore_patterns("data", "exp", "fbank", "downloads", "RESULTS.md")
OUT = REPO / "bench" / "out"
SEED_LINE = re.compile(r"^seed: *\d+ *$", re.MULTILINE)  # a training config's top-level seed


def python_path() -> str:
    """PYTHONPATH for the recipe's and asrkit's processes: this checkout first."""
    return os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))


def run_logged(recipe: Path, log_name: str, *command: str):
    """`command` in the recipe dir, this checkout's asrkit first on the path; output to recipe/logs/<log_name>.log.
    A failure stops the calling script, naming the log."""
    env = {**os.environ, "ASRKIT_ROOT": str(REPO), "PYTHONPATH": python_path()}
    (recipe / "logs").mkdir(exist_ok=True)
    log_file = recipe / "logs" / f"{log_name}.log"
    print(f"# {time.strftime('%H:%M:%S')} {recipe.name}: {' '.join(command)}  (log: {log_file})", flush=True)
    with open(log_file, "w") as log:
        result = subprocess.run(command, cwd=recipe, env=env, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode:
        raise SystemExit(f"{Path(sys.argv[0]).name}: {recipe}: {' '.join(command)} failed; see {log_file}")


def run_recipe(recipe: Path, log_name: str, *args: str):
    """The recipe's run.sh with `args` (run_logged)."""
    run_logged(recipe, log_name, "./run.sh", *args)


def write_file(path: Path, text: str):
    """Whole or not at all: a killed run never leaves a half-written marker, config or table."""
    with atomic_write(path) as f:
        f.write(text)


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def spread(values: list[float], digits: int = 2) -> str:
    """mean [min, max] over seeds (the mean alone for one seed)."""
    mean = f"{statistics.mean(values):.{digits}f}"
    return mean if len(values) == 1 else f"{mean} [{min(values):.{digits}f}, {max(values):.{digits}f}]"


def set_seed(recipe: Path, seed: int):
    """Every training config of the recipe copy (a conf/*.yaml with a top-level `seed:`) trains with `seed`."""
    configs = [c for c in sorted((recipe / "conf").glob("*.yaml")) if SEED_LINE.search(c.read_text())]
    if not configs:
        raise SystemExit(f"recipes.py: {recipe}/conf has no training config with a top-level `seed:` line")
    for config in configs:
        config.write_text(SEED_LINE.sub(f"seed: {seed}", config.read_text()))


def run(corpus: str, seed: int | None = None) -> list[tuple[str, float, str]]:
    recipe = OUT / corpus / ("asr1" if seed is None else f"asr1_seed{seed}")
    name = corpus if seed is None else f"{corpus}.seed{seed}"
    shutil.rmtree(recipe, ignore_errors=True)
    shutil.copytree(REPO / "egs" / corpus / "asr1", recipe, symlinks=False, ignore=RECIPE_OUTPUTS)
    if seed is not None:
        set_seed(recipe, seed)
    start = time.time()
    run_recipe(recipe, "run")
    figures = [(f"{name}.recipe_wall_time", time.time() - start, "s")]
    for summary in sorted(recipe.glob("exp/*/decode_*/*/score_wer/summary.json")):
        test_set = summary.parents[1].name
        figures.append((f"{name}.{test_set}.wer", json.loads(summary.read_text())["wer"], "%"))
    return figures


def over_seeds(corpus: str, runs: list[list[tuple[str, float, str]]]) -> list[tuple[str, float, str]]:
    """Mean, min and max of each figure over the seeds' runs (figures named without the seed)."""
    values: dict[tuple[str, str], list[float]] = {}
    for figures in runs:
        for name, value, unit in figures:
            values.setdefault((re.sub(r"\.seed\d+\.", ".", name), unit), []).append(value)
    return [(f"{name}.{stat}", fn(vs), unit) for (name, unit), vs in values.items()
            for stat, fn in (("mean", statistics.mean), ("min", min), ("max", max))]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpora", nargs="*", default=["yesno", "fsdd"], help="egs/<corpus>/asr1 recipes to run")
    parser.add_argument("--seeds", type=int, nargs="+", help="train each recipe once per seed (its configs' `seed:`)")
    args = parser.parse_args()
    print(f"# {time.strftime('%Y-%m-%d')} {platform.node()} {os.cpu_count()} cores {platform.processor() or platform.machine()}")
    for corpus in args.corpora:
        runs = []
        for seed in args.seeds or [None]:
            runs.append(run(corpus, seed))
            for name, value, unit in runs[-1]:
                print(f"{name} {value:.2f} {unit}", flush=True)
        if args.seeds and len(args.seeds) > 1:
            for name, value, unit in over_seeds(corpus, runs):
                print(f"{name} {value:.2f} {unit}", flush=True)


if __name__ == "__main__":
    main()
