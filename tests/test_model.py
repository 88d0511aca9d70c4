"""DeCRED heads: they shape training (gradients of lower decoder layers) and cost nothing at inference;
the incremental decoder that decoding runs computes what espnet2's forward_one_step computes."""

import pytest
import torch
from espnet.nets.pytorch_backend.nets_utils import make_pad_mask
from espnet.nets.pytorch_backend.transformer.mask import subsequent_mask

from asrkit.asr.batch_encoding import encode_batch, supports_batch_encoding
from asrkit.asr.decoding import DecodeConfig, beam_search
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


def test_averaging_head_logits_is_opt_in():
    model = tiny_model(DECRED)
    feats, feats_lens, _, _ = batch()
    enc, enc_lens = model.encode(feats, feats_lens)
    decoder = IncrementalDecoder(model, enc, (~make_pad_mask(enc_lens))[:, None, :], beam=1)
    ys = torch.full((3, 1), model.sos)
    plain, _ = decoder.step(ys, None)
    averaged, _ = decoder.step(ys, None, average_heads=True)
    assert not torch.allclose(plain, averaged)
    torch.testing.assert_close(averaged.exp().sum(-1), torch.ones(3))


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


@pytest.mark.parametrize("layers,weights", [([3], [0.3]), ([0], [0.3]), ([1], [])])
def test_bad_head_configuration_is_refused(layers, weights):
    with pytest.raises(AsrkitError, match="decred"):
        tiny_model({"layers": layers, "weights": weights})


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
