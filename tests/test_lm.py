"""`asrkit lm` and shallow fusion: an LM trained on one GRID sentence finds it near-certain, fused with weight 0 it
changes nothing, fused strongly it pulls the tiny GRID s1 model's hypotheses to its sentence; unknown tokens are
errors naming the line; the LM's tokens must be the ASR model's; a stopped `lm train` resumes to the same state; the
adapt summaries' latent decoding fuses it too."""

import json
import math
import shutil

import numpy as np
import pytest
import torch
import yaml
from espnet.nets.batch_beam_search import BatchBeamSearch
from espnet.nets.scorers.ctc import CTCPrefixScorer
from espnet.nets.scorers.length_bonus import LengthBonus
from typer.testing import CliRunner

from asrkit.adapt.latents import read_latents
from asrkit.asr.batch_encoding import encode_batch
from asrkit.asr.batching import FeatureSet
from asrkit.asr.decode_dir import decode_data_dir
from asrkit.asr.decoding import DecodeConfig, beam_search
from asrkit.cli import app
from asrkit.data.datadir import read_dict
from asrkit.data.tokens import Tokenizer
from asrkit.errors import AsrkitError
from asrkit.expdir import load_asr, load_lm
from asrkit.lm.text import read_sentences, training_ids
from asrkit.lm.train import LMInputs, train_lm
from asrkit.pack import write_pack

LM_CONF = {"seq_rnn": {"unit": 32, "nlayers": 1},
           "transformer": {"pos_enc": "sinusoidal", "embed_unit": 32, "att_unit": 32, "head": 2, "unit": 64,
                           "layer": 2, "dropout_rate": 0.0}}  # 2: a layer reads the state (the cache)
TRAINING = {"max_epoch": 8, "batch_tokens": 100, "lr": 0.02, "warmup_steps": 5, "keep_nbest": 1}
LEARNT = "s1_bbaf2n"  # "bin blue at f two now", one of grid_aligned's 12 utterances


def write_config(path, lm="seq_rnn", **options):
    path.write_text(yaml.safe_dump({"lm": lm, "lm_conf": LM_CONF[lm], **TRAINING, **options}))
    return path


def one_sentence_corpus(path, sentence: str, copies: int = 32):
    """The sentence on every line of a plain text: a one-sentence corpus, several batches per epoch."""
    path.write_text((sentence + "\n") * copies)
    return path


def train_one_sentence_lm(root, asr_exp, sentence, lm="seq_rnn"):
    corpus = one_sentence_corpus(root / "corpus.txt", sentence)
    exp = root / f"lm_{lm}"
    train_lm(exp, write_config(root / f"{lm}.yaml", lm), LMInputs(corpus, asr_exp, valid=corpus, plain=True))
    return exp


@pytest.fixture(scope="module")
def learnt(grid_aligned, tmp_path_factory) -> dict:
    """LEARNT's transcript ("sentence") and an LM of each type trained on it (exp dirs by type), over the tiny GRID
    ASR model's char tokens."""
    sentence = read_dict(grid_aligned["data"] / "text")[LEARNT]
    root = tmp_path_factory.mktemp("lm")
    return {"sentence": sentence, **{lm: train_one_sentence_lm(root, grid_aligned["asr"], sentence, lm) for lm in LM_CONF}}


@pytest.mark.parametrize("lm", list(LM_CONF))
def test_an_lm_trained_on_one_sentence_finds_it_near_certain_and_another_not(lm, learnt, grid_aligned, tmp_path):
    other = read_dict(grid_aligned["data"] / "text")["s1_bbas3a"]
    scored = tmp_path / "scored"
    scored.write_text(f"a {learnt['sentence']}\nb {other}\nc nine 9\n")  # c: '9' is no token
    result = CliRunner().invoke(app, ["lm", "ppl", str(learnt[lm]), str(scored), "--out-dir", str(tmp_path / "ppl")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "ppl" / "summary.json").read_text())
    assert (summary["utterances"], summary["oov_utterances"]) == (2, 1)
    assert (tmp_path / "ppl" / "oov").read_text() == "c 9\n"
    assert "lm_ppl_lm_corpus" in result.output
    lm_model, tokenizer = load_lm(learnt[lm])
    with torch.no_grad():
        nll = lm_model.nll([tokenizer.encode(learnt["sentence"]), tokenizer.encode(other)])["lm"].tolist()
    lengths = [len(tokenizer.encode(text)) + 1 for text in (learnt["sentence"], other)]
    learnt_ppl, other_ppl = (math.exp(v / n) for v, n in zip(nll, lengths))
    assert learnt_ppl < 1.3, learnt_ppl
    assert other_ppl > 2 * learnt_ppl  # the other sentence is surprising
    assert summary["perplexity"]["lm"]["mean"] == pytest.approx((learnt_ppl + other_ppl) / 2, rel=1e-4)


def test_fusion_with_lm_weight_0_is_plain_decoding(grid_aligned, learnt):
    exp, data = grid_aligned["asr"], grid_aligned["data"]
    plain = decode_data_dir(exp, data, DecodeConfig(beam_size=4, nbest=2))
    fused = decode_data_dir(exp, data, DecodeConfig(beam_size=4, nbest=2, lm=str(learnt["seq_rnn"]), lm_weight=0.0))
    assert len(plain) == 12
    for utt, said in plain.items():
        assert [(h.text, h.score) for h in fused[utt].nbest] == [(h.text, h.score) for h in said.nbest], utt


def test_a_strong_lm_pulls_every_hypothesis_to_its_sentence(grid_aligned, learnt, tmp_path):
    """`asrkit decode` with lm and lm_weight 5 in its YAML: the one-sentence LM outweighs the (barely trained) model."""
    exp, data = grid_aligned["asr"], grid_aligned["data"]
    plain = decode_data_dir(exp, data, DecodeConfig(beam_size=4))
    config = tmp_path / "decode.yaml"
    config.write_text(yaml.safe_dump({"beam_size": 4, "lm": str(learnt["seq_rnn"]), "lm_weight": 5.0}))
    result = CliRunner().invoke(app, ["decode", str(exp), str(data), str(tmp_path / "out"), "--config", str(config)])
    assert result.exit_code == 0, result.output
    fused = read_dict(tmp_path / "out" / "text")
    assert sum(r.text == learnt["sentence"] for r in plain.values()) < len(plain) / 2  # the model hears other words
    assert len(fused) == 12 and set(fused.values()) == {learnt["sentence"]}, fused


def test_latents_read_by_the_adapt_summaries_fuse_the_decode_configs_lm(grid_aligned, learnt):
    """`asrkit adapt`'s dev WER and TLE summaries decode latents with their `decode:` section: an LM it names is fused
    there as `asrkit decode` fuses it, not ignored."""
    model, tokenizer = load_asr(grid_aligned["asr"])
    data = FeatureSet.from_data_dir(grid_aligned["data"])

    def encoder_outputs(utts):  # what cache-encoder stores for these utterances
        return encode_batch(model, [torch.tensor(np.asarray(data.feats[u], dtype=np.float32)) for u in utts])

    config = DecodeConfig(beam_size=4, lm=str(learnt["seq_rnn"]), lm_weight=5.0)
    read = read_latents(model, tokenizer, encoder_outputs, sorted(data.num_frames), config)
    assert len(read) == 12 and set(read.values()) == {learnt["sentence"]}, read


def test_a_pack_refuses_a_decode_config_with_an_lm(grid_aligned, learnt, tmp_path):
    config = tmp_path / "decode.yaml"
    config.write_text(yaml.safe_dump({"lm": str(learnt["seq_rnn"])}))
    with pytest.raises(AsrkitError, match=r"decode\.yaml: names an LM \(lm:\), which a pack does not carry"):
        write_pack(grid_aligned["asr"], tmp_path / "model.zip", decode_config=config)


@pytest.mark.parametrize("lm_type", list(LM_CONF))
def test_fusion_finds_espnets_1best_and_score(lm_type, grid_aligned, learnt):
    """espnet's BatchBeamSearch with the same decoder, CTC and LM module as scorers (weights 0.7, 0.3, 0.5): the same
    1-best and score, so the LM counts as ESPnet counts it (a full scorer, in the pre-beam, scoring <eos>) and its
    state followed every hypothesis through the beam."""
    lm, _ = load_lm(learnt[lm_type])
    model, tokenizer = load_asr(grid_aligned["asr"])
    data = FeatureSet.from_data_dir(grid_aligned["data"])
    enc, enc_lens = encode_batch(model, [torch.from_numpy(data.load(sorted(data.num_frames)[4]))])
    ours = beam_search(model, enc, enc_lens, DecodeConfig(beam_size=4, ctc_weight=0.3, lm_weight=0.5), lm=lm)[0][0]
    scorers = {"decoder": model.decoder, "ctc": CTCPrefixScorer(ctc=model.ctc, eos=model.eos), "lm": lm.lm,
               "length_bonus": LengthBonus(tokenizer.vocab_size)}
    weights = {"decoder": 0.7, "ctc": 0.3, "lm": 0.5, "length_bonus": 0.0}
    espnet = BatchBeamSearch(scorers=scorers, weights=weights, beam_size=4, vocab_size=tokenizer.vocab_size,
                             sos=model.sos, eos=model.eos, token_list=tokenizer.tokens, pre_beam_score_key="full")
    with torch.no_grad():
        theirs = espnet(x=enc[0], maxlenratio=0.0, minlenratio=0.0)[0]
    assert ours.tokens == [int(t) for t in theirs.yseq[1:-1]]
    assert ours.score == pytest.approx(float(theirs.score), abs=1e-3)
    assert tokenizer.decode(ours.tokens).startswith("bin blue at")  # the LM's sentence shows through


def test_an_lm_over_other_tokens_or_an_asr_exp_as_lm_is_refused_by_decoding(grid_aligned, learnt, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(learnt["seq_rnn"], other)
    tokens = (other / "tokens.txt").read_text().splitlines()
    tokens[2], tokens[3] = tokens[3], tokens[2]
    (other / "tokens.txt").write_text("\n".join(tokens) + "\n")
    with pytest.raises(AsrkitError, match=r"other/tokens\.txt: the LM's \d+ tokens are not the ASR model's .* line 3"):
        decode_data_dir(grid_aligned["asr"], grid_aligned["data"], DecodeConfig(lm=str(other)))
    with pytest.raises(AsrkitError, match=r"config\.yaml: kind: asr; this needs a lm exp dir"):
        decode_data_dir(grid_aligned["asr"], grid_aligned["data"], DecodeConfig(lm=str(grid_aligned["asr"])))


def test_an_unknown_token_is_an_error_naming_its_line_or_mapped_with_unk(grid_aligned, tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("bin blue\n\nset blue 9 now\n")
    result = CliRunner().invoke(app, ["lm", "train", str(text), str(grid_aligned["asr"]), str(tmp_path / "lm"),
                                      "--config", str(write_config(tmp_path / "lm.yaml")), "--plain"])
    assert result.exit_code == 1
    assert f"lm train: {text}:3: token '9' is not in {grid_aligned['asr']}/tokens.txt" in result.output
    tokenizer = Tokenizer.from_dir(grid_aligned["asr"])
    ids, mapped = training_ids(read_sentences(text, plain=True), tokenizer, grid_aligned["asr"], unk=True)
    assert mapped == 1 and ids[1].count(tokenizer.unk) == 1 and len(ids) == 2


def test_a_stopped_lm_training_resumes_to_the_uninterrupted_state(grid_aligned, tmp_path):
    """Stopped after epoch 1 (max_epoch 1), resumed to epoch 2: the uninterrupted run's model, exactly."""
    corpus = one_sentence_corpus(tmp_path / "corpus.txt", "bin blue at f two now", copies=8)
    inputs = LMInputs(corpus, grid_aligned["asr"], valid=corpus, plain=True)
    train_lm(tmp_path / "straight", write_config(tmp_path / "two.yaml", max_epoch=2), inputs)
    train_lm(tmp_path / "resumed", write_config(tmp_path / "one.yaml", max_epoch=1), inputs)
    train_lm(tmp_path / "resumed", tmp_path / "two.yaml", inputs, resume=True)
    straight = torch.load(tmp_path / "straight" / "checkpoint.pth", weights_only=False)
    resumed = torch.load(tmp_path / "resumed" / "checkpoint.pth", weights_only=False)
    assert resumed["epoch"] == 2 and resumed["history"] == straight["history"]
    for name, tensor in straight["model"].items():
        assert torch.equal(resumed["model"][name], tensor), name
