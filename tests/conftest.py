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


def run_recipe(corpus: str, recipe_dir: Path, *args: str, check: bool = True, task: str = "asr1",
               **env) -> subprocess.CompletedProcess:
    """Copy egs/<corpus>/<task> into recipe_dir (symlinks resolved) and run its run.sh there."""
    if not recipe_dir.exists():
        shutil.copytree(REPO / "egs" / corpus / task, recipe_dir, symlinks=False, ignore=RECIPE_OUTPUTS)
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


# --- GRID s1 fixtures for the TTS tests: a tiny CTC aligner, its alignment and a tiny FastSpeech2 -------------------

TINY_ASR = {
    "seed": 0, "max_epoch": 3, "batch_frames": 4000, "lr": 0.002, "warmup_steps": 5, "keep_nbest": 1,
    "model": {"input_size": 80, "ctc_weight": 0.5,
              "encoder": {"output_size": 32, "attention_heads": 2, "num_blocks": 1, "linear_units": 64,
                          "cgmlp_linear_units": 64, "cgmlp_conv_kernel": 7, "input_layer": "conv2d"},
              "decoder": {"attention_heads": 2, "linear_units": 64, "num_blocks": 1}},
}
TINY_TTS = {
    "seed": 0, "max_epoch": 12, "batch_frames": 4000, "lr": 0.003, "warmup_steps": 4, "keep_nbest": 2, "valid_utts": 2,
    "model": {"adim": 32, "aheads": 2, "elayers": 1, "eunits": 64, "dlayers": 1, "dunits": 64, "postnet_layers": 0,
              "duration_predictor_chans": 32, "pitch_predictor_chans": 32, "energy_predictor_chans": 32},
    "vocoder": {"griffin_lim_iters": 4},
}


def grid_data_dir(out: Path, count: int) -> Path:
    """The first `count` GRID s1 utterances (sorted ids) as a data dir; transcripts from the word alignments."""
    from asrkit.data.grid import read_corpus, write_utterances

    write_utterances(out, read_corpus(shared_corpus("grid_s1"))[:count])
    return out


@pytest.fixture(scope="session")
def grid_aligned(tmp_path_factory) -> dict:
    """12 GRID s1 utterances, a tiny char CTC model trained on them, and its alignment (paths by name)."""
    import yaml

    from asrkit.asr.train import Inputs, train
    from asrkit.data.features import (
        FbankConfig,
        compute_cmvn_stats,
        compute_fbank_job,
        merge_feature_jobs,
    )
    from asrkit.data.tokens import build_token_list
    from asrkit.tts.align import align_data_dir
    from asrkit.tts.model import TTSConfig

    root = tmp_path_factory.mktemp("grid")
    data = grid_data_dir(root / "data", 12)
    compute_fbank_job(data, root / "fbank", FbankConfig())
    merge_feature_jobs(data, root / "fbank", 1)
    compute_cmvn_stats(data, root / "cmvn.npz")
    tokens = build_token_list(data / "text", root / "tokens", "char")
    (root / "asr.yaml").write_text(yaml.safe_dump(TINY_ASR))
    (root / "tts.yaml").write_text(yaml.safe_dump(TINY_TTS))
    train(root / "asr", root / "asr.yaml", Inputs(data, data, tokens.parent, root / "cmvn.npz"))
    align_data_dir(data, root / "asr", root / "align", TTSConfig.load(root / "tts.yaml").feature_config)
    return {"root": root, "data": data, "asr": root / "asr", "align": root / "align", "tts_config": root / "tts.yaml"}


@pytest.fixture(scope="session")
def grid_tts(grid_aligned) -> Path:
    """A tiny FastSpeech2 trained on the 12 aligned GRID utterances (its exp dir)."""
    from asrkit.tts.train import train_tts

    exp = grid_aligned["root"] / "tts"
    train_tts(grid_aligned["data"], exp, grid_aligned["tts_config"], grid_aligned["align"])
    return exp
