"""Shared fixtures: the real corpora in ../shared/data and one yesno recipe run reused by several tests."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# What a run leaves in a recipe dir: never copied, so a copy starts from scratch.
RECIPE_OUTPUTS = shutil.ignore_patterns("data", "exp", "fbank", "downloads", "RESULTS.md")
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_corpus(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"{path} is absent: this test needs the shared corpora beside the checkout (CI has them)")
    return path


def recipe_env(**extra) -> dict:
    """Environment for a recipe copied out of the tree: path.sh finds asrkit through ASRKIT_ROOT."""
    return {**os.environ, "ASRKIT_ROOT": str(REPO), **extra}


def run_recipe(corpus: str, recipe_dir: Path, *args: str, check: bool = True, **env) -> subprocess.CompletedProcess:
    """Copy egs/<corpus>/asr1 into recipe_dir (symlinks resolved) and run its run.sh there."""
    if not recipe_dir.exists():
        shutil.copytree(REPO / "egs" / corpus / "asr1", recipe_dir, symlinks=False, ignore=RECIPE_OUTPUTS)
    result = subprocess.run(["./run.sh", *args], cwd=recipe_dir, env=recipe_env(**env), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{corpus} run.sh {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


@pytest.fixture(scope="session")
def yesno_recipe(tmp_path_factory) -> Path:
    """The yesno recipe run end to end once; its data/, exp/ and RESULTS.md serve several tests."""
    yesno = shared_corpus("yesno")
    recipe = tmp_path_factory.mktemp("yesno") / "asr1"
    run_recipe("yesno", recipe, YESNO=str(yesno))
    return recipe
