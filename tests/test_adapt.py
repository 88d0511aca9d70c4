"""Text-only adaptation (asrkit adapt) on real GRID s1 speech with tiny untrained base models: the TLE learns, the
fine-tune leaves encoder and CTC bit-identical, works on an ESPnet-imported model, refuses unknown target tokens by
line, and resumes after a kill.

GRID commands are all 3 s long, so the length model's target T is nearly constant here; the test checks the TLE
predicts it, not that it models speaking rate."""

import json

import pytest
import torch
import yaml
from conftest import TINY_ASR, shared_corpus
from typer.testing import CliRunner

from asrkit.asr.decode_dir import decode_data_dir
from asrkit.asr.decoding import DecodeConfig
from asrkit.cli import app
from asrkit.config import save_config
from asrkit.data.features import FbankConfig, compute_cmvn_stats, compute_fbank_job, merge_feature_jobs
from asrkit.data.grid import read_corpus, write_utterances
from asrkit.data.tokens import Tokenizer, build_token_list
from asrkit.expdir import build_asr
from asrkit.lm.text import read_sentences, training_ids

TINY_TLE = {"seed": 0, "max_epoch": 8, "batch_frames": 600, "heldout": 6, "lr": 0.003, "warmup_steps": 5,
            "keep_nbest": 2, "decode": {"beam_size": 2, "maxlenratio": 0.1},
            "model": {"d_model": 32, "heads": 2, "text_layers": 1, "frame_layers": 1, "ff_units": 64, "latent_dim": 4,
                      "anneal_steps": 20}}
# maxlenratio keeps an untrained decoder's hypotheses short (GRID: ~75 encoder frames, 6 words)
TINY_ADAPT = {"steps": 4, "valid_every": 2, "patience": 0, "batch_size": 6, "lr": 0.001, "warmup_steps": 2,
              "decode": {"beam_size": 2, "maxlenratio": 0.1}}


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> dict:
    """30 GRID s1 utterances (train) and 6 more (dev) with fbank; an untrained tiny word-token base exp dir; a TLE
    trained for it; target text (sentences of the train set's words, one unseen combination)."""
    root = tmp_path_factory.mktemp("adapt")
    utterances = read_corpus(shared_corpus("grid_s1"))
    for name, part in (("train", utterances[:30]), ("dev", utterances[30:36])):
        write_utterances(root / name, part)
        compute_fbank_job(root / name, root / "fbank" / name, FbankConfig())
        merge_feature_jobs(root / name, root / "fbank" / name, 1)
    exp = root / "base"
    build_token_list(root / "train" / "text", exp, "word")
    compute_cmvn_stats(root / "train", exp / "cmvn.npz")
    (exp / "config.yaml").write_text(yaml.safe_dump({**TINY_ASR, "kind": "asr"}))
    save_config(FbankConfig(), exp / "fbank.yaml")
    torch.manual_seed(0)
    model, _ = build_asr(exp)
    torch.save(model.state_dict(), exp / "valid.acc.ave.pth")
    (root / "tle.yaml").write_text(yaml.safe_dump(TINY_TLE))
    (root / "adapt.yaml").write_text(yaml.safe_dump(TINY_ADAPT))
    invoke("adapt", "tle-train", exp, root / "train", root / "tle", "--config", root / "tle.yaml",
           "--cache-dir", root / "cache" / "source")
    words = [line.split()[1:] for line in (root / "train" / "text").read_text().splitlines()]
    (root / "target.txt").write_text("".join(" ".join(w[:5] + [words[1][5]]) + "\n" for w in words[:10]))
    return {"root": root, "base": exp, "train": root / "train", "dev": root / "dev", "tle": root / "tle",
            "target": root / "target.txt", "adapt_yaml": root / "adapt.yaml"}


def adapt_args(grid, out, *extra, base=None, tle=None, cache=None):
    """`asrkit adapt run --method tle` of the grid base (or `base` with its `tle`, caches in `cache`) into OUT."""
    return ["adapt", "run", base or grid["base"], out, "--method", "tle", "--config", grid["adapt_yaml"],
            "--source-data", grid["train"], "--dev-data", grid["dev"], "--text", grid["target"],
            "--tle", tle or grid["tle"], "--cache-dir", cache or grid["root"] / "cache", *extra]


def frozen_tensors_equal(base_exp, adapted_exp) -> bool:
    """Whether the adapted model's encoder and CTC tensors are bit-identical to the base's (and there are some)."""
    base = torch.load(base_exp / "valid.acc.ave.pth")
    adapted = torch.load(adapted_exp / "valid.acc.ave.pth")
    frozen = [key for key in base if key.startswith(("encoder.", "ctc."))]
    return base.keys() == adapted.keys() and bool(frozen) and all(torch.equal(base[k], adapted[k]) for k in frozen)


def test_tle_loss_falls_and_its_length_model_predicts_the_frames_within_10_percent_on_held_out_data(grid):
    history = torch.load(grid["tle"] / "checkpoint.pth", weights_only=False)["history"]
    assert history[-1]["train"]["loss"] < 0.7 * history[0]["train"]["loss"]
    assert history[-1]["valid"]["recon"] < history[0]["valid"]["recon"]
    summary = json.loads((grid["tle"] / "summary.json").read_text())
    assert summary["heldout_utts"] == 6 and len((grid["tle"] / "heldout").read_text().splitlines()) == 6
    assert summary["length_rel_err_max"] <= 0.1 and summary["length_within_10pct"] == 1.0
    assert 0 <= summary["tle_cer"] and 0 <= summary["real_cer"]


def test_adapted_exp_dir_keeps_encoder_and_ctc_bit_identical_trains_the_decoder_and_decodes(grid, tmp_path):
    invoke(*adapt_args(grid, tmp_path / "adapted"))
    assert frozen_tensors_equal(grid["base"], tmp_path / "adapted")
    base = torch.load(grid["base"] / "valid.acc.ave.pth")
    adapted = torch.load(tmp_path / "adapted" / "valid.acc.ave.pth")
    assert any(not torch.equal(base[key], adapted[key]) for key in base if key.startswith("decoder."))
    summary = json.loads((tmp_path / "adapted" / "summary.json").read_text())
    assert summary["arms"] == {"source": 3, "tle": 3} and summary["epochs"] == 2
    assert {"dev_wer_before", "dev_wer_after"} <= summary.keys()
    results = decode_data_dir(tmp_path / "adapted", grid["dev"], DecodeConfig(beam_size=2, maxlenratio=0.1))
    assert len(results) == 6


def test_an_unknown_word_in_the_target_text_is_an_error_naming_its_line_unless_mapped(grid, tmp_path):
    words = (grid["train"] / "text").read_text().split("\n", 1)[0].split()[1:]
    text = tmp_path / "target.txt"
    text.write_text(" ".join(words) + "\n\n" + " ".join([words[0], "zebra", *words[2:]]) + "\n")
    result = CliRunner().invoke(app, [str(a) for a in adapt_args(grid, tmp_path / "out")[:-2]]
                                + ["--text", str(text)])  # the later --text wins
    assert result.exit_code == 1
    assert f"{text}:3: token 'zebra' is not in {grid['base'] / 'tokens.txt'}" in result.output
    tokenizer = Tokenizer.from_dir(grid["base"])
    sentences, mapped = training_ids(read_sentences(text, plain=True), tokenizer, grid["base"], unk=True)
    assert mapped == 1 and len(sentences) == 2 and sentences[1][1] == tokenizer.unk


def test_a_killed_adapt_run_resumes_to_the_state_an_uninterrupted_run_reaches(grid, tmp_path):
    invoke(*adapt_args(grid, tmp_path / "whole"))
    killed = tmp_path / "killed"
    (tmp_path / "half.yaml").write_text(yaml.safe_dump({**TINY_ADAPT, "steps": 2}))  # as if killed after epoch 1
    invoke(*adapt_args(grid, killed)[:7], tmp_path / "half.yaml", *adapt_args(grid, killed)[8:])
    assert torch.load(killed / "checkpoint.pth", weights_only=False)["epoch"] == 1
    invoke(*adapt_args(grid, killed, "--resume"))
    whole, resumed = (torch.load(d / "checkpoint.pth", weights_only=False) for d in (tmp_path / "whole", killed))
    assert resumed["epoch"] == 2
    for key, tensor in whole["model"].items():
        assert torch.equal(resumed["model"][key], tensor), key


def test_resuming_an_adapt_run_with_other_target_text_is_refused_naming_it(grid, tmp_path):
    out = tmp_path / "out"
    (tmp_path / "half.yaml").write_text(yaml.safe_dump({**TINY_ADAPT, "steps": 2}))
    invoke(*adapt_args(grid, out)[:7], tmp_path / "half.yaml", *adapt_args(grid, out)[8:])
    other = tmp_path / "other.txt"
    other.write_text(grid["target"].read_text().splitlines()[0] + "\n")
    args = adapt_args(grid, out, "--resume")
    args[args.index(grid["target"])] = other
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 1
    assert f"{out}: resuming would continue a run trained with other inputs.text " in result.output
    assert torch.load(out / "checkpoint.pth", weights_only=False)["epoch"] == 1  # the checkpoint is left as it was


def test_adapt_run_on_an_espnet_imported_model_yields_an_exp_dir_that_decodes(grid, tmp_path):
    from test_espnet_interop import ESPNET_CONFIG, build_espnet_model

    from asrkit.interop.espnet import import_espnet

    espnet = tmp_path / "espnet"
    espnet.mkdir()
    tokens = (grid["base"] / "tokens.txt").read_text().split()
    build_espnet_model({**ESPNET_CONFIG, "token_list": tokens,
                        "normalize_conf": {"stats_file": str(grid["base"] / "cmvn.npz")}}, espnet)
    exp = import_espnet(espnet / "config.yaml", espnet / "valid.acc.ave.pth", tmp_path / "imported")
    (tmp_path / "tle.yaml").write_text(yaml.safe_dump({**TINY_TLE, "max_epoch": 2}))
    invoke("adapt", "tle-train", exp, grid["train"], tmp_path / "tle", "--config", tmp_path / "tle.yaml",
           "--cache-dir", tmp_path / "cache" / "source")
    invoke(*adapt_args(grid, tmp_path / "adapted", base=exp, tle=tmp_path / "tle", cache=tmp_path / "cache"))
    assert frozen_tensors_equal(exp, tmp_path / "adapted")
    results = decode_data_dir(tmp_path / "adapted", grid["dev"], DecodeConfig(beam_size=2, maxlenratio=0.1))
    assert len(results) == 6 and any(r.text for r in results.values())


def test_tle_tts_draws_from_three_arms_and_stops_early_once_dev_accuracy_stalls(grid, tmp_path):
    # lr 0: the dev accuracy never beats epoch 1's, so patience 1 stops the run after epoch 2 of 5
    (tmp_path / "stall.yaml").write_text(yaml.safe_dump({**TINY_ADAPT, "steps": 10, "patience": 1, "lr": 0.0}))
    args = adapt_args(grid, tmp_path / "out", "--synth-data", grid["dev"])  # real speech standing in for synthesis
    args[args.index("tle")] = "tle+tts"
    args[args.index(grid["adapt_yaml"])] = tmp_path / "stall.yaml"
    invoke(*args)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["arms"] == {"source": 2, "tle": 2, "tts": 2}
    assert summary["epochs"] == 2


def test_without_save_frozen_the_adapted_model_file_holds_only_the_decoder_and_loads_whole(grid, tmp_path):
    from asrkit.expdir import load_asr

    (tmp_path / "lean.yaml").write_text(yaml.safe_dump({**TINY_ADAPT, "save_frozen": False}))
    args = adapt_args(grid, tmp_path / "lean")
    args[args.index(grid["adapt_yaml"])] = tmp_path / "lean.yaml"
    invoke(*args)
    saved = torch.load(tmp_path / "lean" / "valid.acc.ave.pth")
    assert saved and not any(key.startswith(("encoder.", "ctc.")) for key in saved)
    model, _ = load_asr(tmp_path / "lean")
    base = torch.load(grid["base"] / "valid.acc.ave.pth")
    for key, tensor in model.state_dict().items():
        expected = saved.get(key, base[key])
        assert torch.equal(tensor, expected), key


def test_tle_train_resumed_after_it_finished_reuses_its_summary_unless_the_config_changed(grid, tmp_path):
    import shutil

    tle = tmp_path / "tle"
    shutil.copytree(grid["tle"], tle)
    summary = tle / "summary.json"
    before = summary.stat().st_mtime_ns
    train = ["adapt", "tle-train", grid["base"], grid["train"], tle, "--cache-dir", grid["root"] / "cache" / "source",
             "--resume", "--config"]
    invoke(*train, grid["root"] / "tle.yaml")
    assert summary.stat().st_mtime_ns == before
    assert "summary.json reused" in (tle / "train.log").read_text()
    (tmp_path / "tle9.yaml").write_text(yaml.safe_dump({**TINY_TLE, "max_epoch": 9}))
    invoke(*train, tmp_path / "tle9.yaml")
    assert summary.stat().st_mtime_ns != before
    assert torch.load(tle / "checkpoint.pth", weights_only=False)["epoch"] == 9
