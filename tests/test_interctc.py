"""Intermediate CTC (model.interctc_weight + encoder.interctc_layer_idx): espnet2's intermediate-block outputs go
through the same CTC layer in training, and decoding still sees only the last block's output."""

import torch

from asrkit.asr.model import ASRModel, ModelConfig

VOCAB = 12
ENCODER = {"output_size": 32, "attention_heads": 2, "num_blocks": 2, "linear_units": 32, "cgmlp_linear_units": 32,
           "cgmlp_conv_kernel": 3, "input_layer": "conv2d"}


def model(**options):
    torch.manual_seed(0)
    encoder = {**ENCODER, **options.pop("encoder", {})}
    config = {"input_size": 20, "encoder": encoder, "decoder": {"attention_heads": 2, "linear_units": 32,
                                                                "num_blocks": 1}, **options}
    return ASRModel(ModelConfig.from_dict(config), VOCAB).eval()


def batch():
    torch.manual_seed(1)
    return torch.randn(2, 60, 20), torch.tensor([60, 45]), torch.randint(1, VOCAB - 1, (2, 4)), torch.tensor([4, 4])


def test_intermediate_ctc_mixes_the_intermediate_blocks_ctc_loss_into_the_ctc_loss():
    plain, mixed = model(), model(interctc_weight=0.5, encoder={"interctc_layer_idx": [1]})
    mixed.load_state_dict(plain.state_dict())
    feats, feats_lens, ys, ys_lens = batch()
    with torch.no_grad():
        final = plain(feats, feats_lens, ys, ys_lens)["loss_ctc"]
        stats = mixed(feats, feats_lens, ys, ys_lens)
    assert stats["loss_interctc"] != final
    assert torch.allclose(stats["loss_ctc"], 0.5 * final + 0.5 * stats["loss_interctc"])


def test_a_model_with_intermediate_ctc_encodes_to_the_last_blocks_output_only():
    plain, mixed = model(), model(interctc_weight=0.5, encoder={"interctc_layer_idx": [1]})
    mixed.load_state_dict(plain.state_dict())
    feats, feats_lens, _, _ = batch()
    with torch.no_grad():
        enc, enc_lens = mixed.encode(feats, feats_lens)
        assert isinstance(enc, torch.Tensor)
        assert torch.equal(enc, plain.encode(feats, feats_lens)[0])
