"""DeCRED heads: they shape training (gradients of lower decoder layers) and cost nothing at inference;
the incremental decoder that decoding runs computes what espnet2's forward_one_step computes."""

import pytest
import torch
from espnet.nets.pytorch_backend.nets_utils import make_pad_mask
from espnet.nets.pytorch_backend.transformer.mask import subsequent_mask

from asrkit.asr.batch_encoding import encode_batch, supports_batch_encoding
from asrkit.asr.decoding import DecodeConfig, beam_search, load_decode_config
from asrkit.asr.decred import output_weights
from asrkit.asr.incremental_decoder import IncrementalDecoder
from asrkit.asr.model import ASRModel, ModelConfig
from asrkit.errors import AsrkitError

VOCAB = 12
TINY = {
    "input_size": 20,
    "encoder": {"output_size": 32, "attention_heads": 2, "num_blocks": 1, "linear_units": 32,
                "cgmlp_linear_units": 32, "cgmlp_conv_kernel": 3, "input_layer": "conv2d"},
    "decoder": {"attention_heads": 2, "linear_units": 32, "num_blocks": 3},
}


def tiny_model(decred=None, seed=0):
    torch.manual_seed(seed)
    return ASRModel(ModelConfig.from_dict({**TINY, "decred": decred}), VOCAB).eval()


def batch():
    torch.manual_seed(1)
    feats = torch.randn(3, 60, 20)
    ys = torch.randint(1, VOCAB - 1, (3, 5))
    ys[2, 3:] = -1
    return feats, torch.tensor([60, 50, 40]), ys, torch.tensor([5, 5, 3])


def lower_layer_grads(model):
    model.zero_grad()
    model(*batch())["loss"].backward()
    return [p.grad.clone() for p in model.decoder.decoders[0].parameters()]


DECRED = {"layers": [1], "weights": [0.3], "final_weight": 0.7}


def test_heads_change_the_gradient_of_lower_decoder_layers():
    with_heads, baseline = tiny_model(DECRED), tiny_model()
    baseline.load_state_dict(with_heads.state_dict(), strict=False)
    grads = lower_layer_grads(with_heads)
    base_grads = lower_layer_grads(baseline)
    assert any(not torch.allclose(g, b) for g, b in zip(grads, base_grads))
    assert with_heads.aux_heads[0].weight.grad is not None


def test_heads_report_their_loss():
    stats = tiny_model(DECRED)(*batch())
    assert "loss_aux1" in stats and torch.isfinite(stats["loss_aux1"])


def test_heads_vanish_at_inference():
    with_heads, baseline = tiny_model(DECRED), tiny_model()
    baseline.load_state_dict(with_heads.state_dict(), strict=False)
    feats, feats_lens, _, _ = batch()
    config = DecodeConfig(beam_size=3)
    results = []
    for model in (with_heads, baseline):
        enc, enc_lens = model.encode(feats, feats_lens)
        results.append([[(h.tokens, round(h.score, 4)) for h in hyps] for hyps in beam_search(model, enc, enc_lens, config)])
    assert results[0] == results[1]


def first_step(model, weights):
    """The incremental decoder's first log-probs (3 utterances, beam 1) with the outputs combined by `weights`."""
    feats, feats_lens, _, _ = batch()
    enc, enc_lens = model.encode(feats, feats_lens)
    decoder = IncrementalDecoder(model, enc, (~make_pad_mask(enc_lens))[:, None, :], beam=1)
    return decoder.step(torch.full((3, 1), model.sos), None, weights)[0]


def first_logits(model):
    """The final layer's and the heads' logits at the first step, from the full (non-incremental) decoder."""
    feats, feats_lens, _, _ = batch()
    enc, enc_lens = model.encode(feats, feats_lens)
    (logits, hs), _ = model.decoder(enc, enc_lens, torch.full((3, 1), model.sos), torch.ones(3, dtype=torch.long),
                                    return_all_hs=True)
    return logits[:, 0], [z[:, 0] for z in model.decred_logits(hs)]


@torch.no_grad()
def test_combining_head_outputs_is_opt_in():
    model = tiny_model(DECRED)
    final = output_weights(model.config.decred, "final", [])
    mean = output_weights(model.config.decred, "mean", [])
    assert final is None and mean == [0.5, 0.5]
    plain, averaged = first_step(model, final), first_step(model, mean)
    assert not torch.allclose(plain, averaged)
    torch.testing.assert_close(averaged.exp().sum(-1), torch.ones(3))


@torch.no_grad()
def test_weighted_with_weights_0_1_is_the_final_layer():
    model = tiny_model(DECRED)
    weights = output_weights(model.config.decred, "weighted", [0.0, 1.0])
    torch.testing.assert_close(first_step(model, weights), first_step(model, None))


@torch.no_grad()
def test_weighted_is_the_references_weighted_logit_sum_and_mean_averages_logits():
    model = tiny_model({**DECRED, "head_input": "pre_norm", "head_bias": False})
    final, (head,) = first_logits(model)
    training_weights = output_weights(model.config.decred, "weighted", [])
    assert training_weights == [0.3, 0.7]
    torch.testing.assert_close(first_step(model, training_weights), torch.log_softmax(0.3 * head + 0.7 * final, -1))
    torch.testing.assert_close(first_step(model, [0.5, 0.5]), torch.log_softmax((head + final) / 2, -1))


def head_input_and_block_output(head_input):
    """What the head of layer 1 reads in a training forward pass, and layer 1's output, of a tiny model."""
    model, seen = tiny_model({**DECRED, "head_input": head_input}), []
    model.aux_heads[0].register_forward_hook(lambda head, inputs, output: seen.append(inputs[0]))
    feats, feats_lens, ys, ys_lens = batch()
    model(feats, feats_lens, ys, ys_lens)
    enc, enc_lens = model.encode(feats, feats_lens)
    ys_in = torch.cat([torch.full((3, 1), model.sos), ys.masked_fill(ys < 0, model.eos)], dim=1)
    (_, hs), _ = model.decoder(enc, enc_lens, ys_in, ys_lens + 1, return_all_hs=True)
    return seen[0], hs[0], model.decoder.after_norm


def test_a_pre_norm_head_reads_the_unnormalised_block_output():
    read, block, after_norm = head_input_and_block_output("pre_norm")
    torch.testing.assert_close(read, block)
    assert not torch.allclose(read, after_norm(block), atol=1e-3)


def test_a_post_norm_head_reads_the_block_output_through_after_norm():
    read, block, after_norm = head_input_and_block_output("post_norm")
    torch.testing.assert_close(read, after_norm(block))


def test_heads_without_bias_have_none():
    assert tiny_model({**DECRED, "head_bias": False}).aux_heads[0].bias is None
    assert tiny_model(DECRED).aux_heads[0].bias is not None


@torch.no_grad()
def test_incremental_decoder_matches_espnets_forward_one_step():
    model = tiny_model(DECRED).eval()
    feats, feats_lens, _, _ = batch()
    enc, enc_lens = model.encode(feats, feats_lens)
    beam = 2
    mask = (~make_pad_mask(enc_lens))[:, None, :]
    decoder = IncrementalDecoder(model, enc, mask, beam)
    memory, memory_mask = enc.repeat_interleave(beam, 0), mask.repeat_interleave(beam, 0)
    ys = torch.full((enc.size(0) * beam, 1), model.sos)
    ours = theirs = None
    for step in range(3):
        logp, ours = decoder.step(ys, ours)
        reference, theirs = model.decoder.forward_one_step(ys, subsequent_mask(ys.size(1)).unsqueeze(0), memory,
                                                           memory_mask, cache=theirs)
        torch.testing.assert_close(logp, reference, rtol=1e-5, atol=1e-5)
        ys = torch.cat([ys, logp.argmax(-1, keepdim=True)], dim=1)


@pytest.mark.parametrize("bad", [{"layers": [3]}, {"layers": [0]}, {"weights": []}, {"head_input": "norm"}])
def test_bad_head_configuration_is_refused(bad):
    with pytest.raises(AsrkitError, match="decred"):
        tiny_model({**DECRED, **bad})


@pytest.mark.parametrize("options,message", [("decred_logits: average", "not one of final, mean, weighted"),
                                             ("decred_weights: [0.3, 0.7]", "only with decred_logits: weighted")])
def test_bad_decred_decode_options_name_the_file(tmp_path, options, message):
    path = tmp_path / "decode.yaml"
    path.write_text(f"beam_size: 2\n{options}\n")
    with pytest.raises(AsrkitError, match=f"{path}: .*{message}"):
        load_decode_config(path)


def test_decred_weights_must_give_every_head_and_the_final_layer():
    with pytest.raises(AsrkitError, match="decred_weights: 3 weights"):
        output_weights(tiny_model(DECRED).config.decred, "weighted", [0.2, 0.3, 0.5])


@pytest.mark.parametrize("encoder_type,encoder", [
    ("e_branchformer", {**TINY["encoder"], "input_layer": "conv2d8"}),
    ("conformer", {"output_size": 32, "attention_heads": 2, "num_blocks": 1, "linear_units": 32, "cnn_module_kernel": 5,
                   "macaron_style": True, "use_cnn_module": True, "rel_pos_type": "latest"}),
])
def test_batch_encoding_gives_each_utterance_its_lone_encoding(encoder_type, encoder):
    torch.manual_seed(0)
    model = ASRModel(ModelConfig.from_dict({**TINY, "encoder_type": encoder_type, "encoder": encoder}), VOCAB).eval()
    assert supports_batch_encoding(model)
    feats = [torch.randn(n, 20) for n in (90, 61, 47)]
    enc, enc_lens = encode_batch(model, [f.clone() for f in feats])
    for i, f in enumerate(feats):
        alone, alone_lens = model.encode(f.unsqueeze(0), torch.tensor([len(f)]))
        assert enc_lens[i] == alone_lens[0]
        torch.testing.assert_close(enc[i, : enc_lens[i]], alone[0], rtol=1e-4, atol=1e-4)


def test_legacy_relative_positions_are_encoded_one_by_one():
    legacy = {"output_size": 32, "attention_heads": 2, "num_blocks": 1, "linear_units": 32}  # espnet's default: legacy
    torch.manual_seed(0)
    model = ASRModel(ModelConfig.from_dict({**TINY, "encoder_type": "conformer", "encoder": legacy}), VOCAB).eval()
    assert not supports_batch_encoding(model)
    feats = [torch.randn(n, 20) for n in (70, 45)]
    enc, enc_lens = encode_batch(model, [f.clone() for f in feats])
    alone, alone_lens = model.encode(feats[1].unsqueeze(0), torch.tensor([45]))
    assert enc_lens[1] == alone_lens[0]
    torch.testing.assert_close(enc[1, : enc_lens[1]], alone[0])
