#!/usr/bin/env python3
"""Run recipes end to end from scratch and report wall time and WER per test set.

    .venv/bin/python bench/recipes.py yesno fsdd

Each recipe is copied to bench/out/<corpus>/asr1 (outputs of an earlier run are removed first) and run through its
run.sh with the default stages. One line per figure, `name value unit`, so results can be tracked over time.
"""

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What a run leaves in a recipe dir: never copied, so a copy starts from scratch.
RECIPE_OUTPUTS = shutil.ignore_patterns("data", "exp", "fbank", "downloads", "RESULTS.md")
OUT = REPO / "bench" / "out"


def run(corpus: str) -> list[tuple[str, float, str]]:
    recipe = OUT / corpus / "asr1"
    shutil.rmtree(recipe, ignore_errors=True)
    shutil.copytree(REPO / "egs" / corpus / "asr1", recipe, symlinks=False, ignore=RECIPE_OUTPUTS)
    env = {**os.environ, "ASRKIT_ROOT": str(REPO)}
    start = time.time()
    with open(recipe / "run.log", "w") as log:
        subprocess.run(["./run.sh"], cwd=recipe, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    figures = [(f"{corpus}.recipe_wall_time", time.time() - start, "s")]
    for summary in sorted(recipe.glob("exp/*/decode_*/*/score_wer/summary.json")):
        test_set = summary.parents[1].name
        figures.append((f"{corpus}.{test_set}.wer", json.loads(summary.read_text())["wer"], "%"))
    return figures


def main(corpora: list[str]):
    print(f"# {time.strftime('%Y-%m-%d')} {platform.node()} {os.cpu_count()} cores {platform.processor() or platform.machine()}")
    for corpus in corpora:
        for name, value, unit in run(corpus):
            print(f"{name} {value:.2f} {unit}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["yesno", "fsdd"])
