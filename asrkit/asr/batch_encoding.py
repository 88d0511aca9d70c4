"""Encode a padded batch of utterances so that each gets the output it gets alone (as espnet2's Speech2Text encodes).

espnet2's encoders are not padding-exact: the conv subsampling derives output lengths by slicing the padded mask (so a
shorter utterance gets frames whose receptive field reaches into the padding), and the time convolutions of the
E-Branchformer and Conformer layers read the padded frames. Two kinds of hooks put that right for one forward pass:
the subsampling's mask is replaced by the one each utterance gets alone, and every time convolution sees zeros
beyond each utterance's end, as its own zero padding gives a lone utterance. Encoders these hooks cannot make
exact (other subsamplings, legacy relative positions) encode one utterance at a time.
"""

import contextlib

import torch
from espnet.nets.pytorch_backend.nets_utils import make_pad_mask
from torch import nn

from asrkit.asr.batching import pad
from asrkit.asr.model import ASRModel

# How each espnet subsampling slices its input mask, as (stop, step) pairs: x_mask[:, :, :-stop:step]...
SUBSAMPLING_SLICES = {
    "Conv2dSubsampling": ((2, 2), (2, 2)),
    "Conv2dSubsampling1": ((4, 1),),
    "Conv2dSubsampling2": ((2, 2), (2, 1)),
    "Conv2dSubsampling6": ((2, 2), (4, 3)),
    "Conv2dSubsampling8": ((2, 2), (2, 2), (2, 2)),
}


def subsampled_length(frames: int, slices) -> int:
    positions = range(frames)
    for stop, step in slices:
        positions = positions[:-stop:step]
    return len(positions)


def supports_batch_encoding(model: ASRModel) -> bool:
    """A known subsampling, and no legacy relative positions (their encoding depends on the padded length)."""
    legacy = any(type(m).__name__.startswith("Legacy") for m in model.encoder.modules())
    return type(model.encoder.embed).__name__ in SUBSAMPLING_SLICES and not legacy


@torch.no_grad()
def encode_batch(model: ASRModel, feats: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Encoder outputs (B, T', D) and lengths of utterances (T_i, F), padded, each as if encoded alone."""
    if not supports_batch_encoding(model):
        return pad([model.encode(f.unsqueeze(0), torch.tensor([len(f)]))[0][0] for f in feats], 0.0)
    slices = SUBSAMPLING_SLICES[type(model.encoder.embed).__name__]
    lens = torch.tensor([subsampled_length(len(f), slices) for f in feats])
    batch, batch_lens = pad(feats, 0.0)
    with _exact_padding(model.encoder, lens):
        enc, _ = model.encode(batch, batch_lens)
    return enc, lens


@contextlib.contextmanager
def _exact_padding(encoder: nn.Module, lens: torch.Tensor):
    valid = {}  # the subsampled frames' mask (B, 1, T'), known once the subsampling ran

    def fix_subsampling_mask(module, inputs, output):
        features, mask = output
        valid["mask"] = ~make_pad_mask(lens, maxlen=mask.size(-1))[:, None, :]
        return features, valid["mask"]

    def zero_padding(module, inputs):
        (x,) = inputs  # (B, C, T')
        return x * valid["mask"].to(x.dtype)

    handles = [encoder.embed.register_forward_hook(fix_subsampling_mask)]
    handles += [m.register_forward_pre_hook(zero_padding) for m in encoder.encoders.modules()
                if isinstance(m, nn.Conv1d) and m.kernel_size[0] > 1]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
