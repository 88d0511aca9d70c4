"""DeCRED heads: they shape training (gradients of lower decoder layers) and cost nothing at inference."""

import pytest
import torch

from asrkit.decoding import DecodeConfig, beam_search
from asrkit.model import ASRModel, ModelConfig

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
    ys = torch.full((3, 1), model.sos)
    plain, _ = model.decoder_step(ys, enc, None, None)
    averaged, _ = model.decoder_step(ys, enc, None, None, average_heads=True)
    assert not torch.allclose(plain, averaged)
    torch.testing.assert_close(averaged.exp().sum(-1), torch.ones(3))


@pytest.mark.parametrize("layers,weights", [([3], [0.3]), ([0], [0.3]), ([1], [])])
def test_bad_head_configuration_is_refused(layers, weights):
    with pytest.raises(ValueError, match="decred"):
        tiny_model({"layers": layers, "weights": weights})
