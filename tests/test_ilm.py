"""The decoder's internal LM (`asrkit ilm-ppl`): no acoustic context reaches it, a decoder that learnt one GRID
sentence finds it near-certain and another one surprising, and utterances with tokens outside the list are counted,
not scored."""

import copy
import json
import os
import subprocess
import sys

import pytest
import torch
import yaml
from conftest import shared_corpus

from asrkit.asr.ilm import ilm_nll, ilm_perplexity
from asrkit.asr.model import ASRModel, ModelConfig
from asrkit.data.datadir import write_table
from asrkit.data.grid import read_alignment
from asrkit.data.tokens import Tokenizer, build_token_list, copy_token_dir
from asrkit.expdir import load_asr
from asrkit.scoring import write_results_md

MODEL = {
    "input_size": 20,
    "encoder": {"output_size": 32, "attention_heads": 2, "num_blocks": 1, "linear_units": 32,
                "cgmlp_linear_units": 32, "cgmlp_conv_kernel": 3, "input_layer": "conv2d"},
    "decoder": {"attention_heads": 2, "linear_units": 64, "num_blocks": 3},
    "decred": {"layers": [2], "weights": [0.3], "final_weight": 0.7, "head_input": "pre_norm", "head_bias": False},
}
LEARNT, OTHER = "bbaf2n", "pbac2p"  # "bin blue at f two now", "place blue at c two please"


def grid_sentence(uttid: str) -> str:
    return " ".join(w.word for w in read_alignment(shared_corpus("grid_s1") / "align" / f"{uttid}.align"))


def write_text(path, entries: dict):
    write_table(path, entries)
    return path


@pytest.fixture(scope="module")
def exp(tmp_path_factory):
    """An exp dir (in a recipe's exp/) whose decoder and DeCRED head learnt the sentence LEARNT as a language model,
    through the ILM itself; its characters and OTHER's make the token list."""
    root = tmp_path_factory.mktemp("ilm")
    sentences = {utt: grid_sentence(utt) for utt in (LEARNT, OTHER)}
    build_token_list(write_text(root / "lm" / "text", sentences), root / "tokens", "char")
    tokenizer = Tokenizer.from_dir(root / "tokens")
    torch.manual_seed(0)
    model = ASRModel(ModelConfig.from_dict(MODEL), tokenizer.vocab_size).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small trains fastest on one thread; on a busy machine, 20x faster
    try:
        for _ in range(150):
            loss = sum(nll.sum() for nll in ilm_nll(model, [tokenizer.encode(sentences[LEARNT])]).values())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    exp_dir = root / "recipe" / "exp" / "asr_one_sentence"
    exp_dir.mkdir(parents=True)
    (exp_dir / "config.yaml").write_text(yaml.safe_dump({"kind": "asr", "model": MODEL}))
    copy_token_dir(root / "tokens", exp_dir)
    torch.save(model.state_dict(), exp_dir / "valid.acc.ave.pth")
    return exp_dir


def perplexity(exp_dir, tmp_path, utts: list[str]) -> dict:
    model, tokenizer = load_asr(exp_dir)
    text = write_text(tmp_path / "data" / "text", {utt: grid_sentence(utt) for utt in utts})
    return ilm_perplexity(model, tokenizer, text, tmp_path / "out")["perplexity"]


def test_a_learnt_sentence_is_near_certain_and_another_is_not(exp, tmp_path):
    learnt, other = perplexity(exp, tmp_path / "a", [LEARNT]), perplexity(exp, tmp_path / "b", [OTHER])
    for output in ("final", "head2"):
        assert learnt[output]["mean"] < 1.2, learnt
        assert other[output]["mean"] > 5, other
        assert learnt[output]["mean"] == pytest.approx(learnt[output]["corpus"])  # one utterance: the same figure


@torch.no_grad()
def test_no_acoustic_context_reaches_the_ilm(exp):
    model, tokenizer = load_asr(exp)
    ids = [tokenizer.encode(grid_sentence(OTHER))]
    before = ilm_nll(model, ids)
    perturbed = copy.deepcopy(model)
    for name, parameter in perturbed.named_parameters():
        if name.startswith(("encoder.", "ctc.")) or ".src_attn." in name:
            parameter.add_(torch.randn_like(parameter))
    for output, nll in ilm_nll(perturbed, ids).items():
        torch.testing.assert_close(nll, before[output])
    perturbed.decoder.decoders[0].self_attn.linear_v.weight.add_(1.0)  # the ILM's own parameters do count
    assert not torch.allclose(ilm_nll(perturbed, ids)["final"], before["final"])


def test_cli_excludes_and_counts_oov_utterances_and_results_md_shows_the_ilm(exp, tmp_path):
    text = write_text(tmp_path / "test" / "text", {LEARNT: grid_sentence(LEARNT), OTHER: grid_sentence(OTHER),
                                                   "oov": "bin blue at q two now"})
    result = subprocess.run([sys.executable, "-m", "asrkit.cli", "ilm-ppl", str(exp), str(text)],
                            capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    figures = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()}
    assert figures["ilm_utterances"] == ["2", "utts"] and figures["ilm_oov_utterances"] == ["1", "utts"]
    summary = json.loads((exp / "ilm_ppl" / "test" / "summary.json").read_text())
    assert (exp / "ilm_ppl" / "test" / "oov").read_text() == "oov q\n"
    assert summary["perplexity"] == perplexity(exp, tmp_path, [LEARNT, OTHER])  # as if the OOV line were not there
    assert figures["ilm_ppl_head2_corpus"] == [str(round(summary["perplexity"]["head2"]["corpus"], 3)), "ppl"]
    results = write_results_md(exp.parent.parent).read_text()
    assert "### ILM perplexity" in results
    assert f"|test|2|1|{summary['tokens']}|{summary['perplexity']['final']['mean']:.2f}|" in results
