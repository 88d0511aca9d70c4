"""espnet2's TransformerDecoder run one token at a time for a beam search over a batch of utterances.

espnet2's forward_one_step projects the encoder memory into every layer's source-attention keys and values again
at every step and for every beam, which is most of the decoding time. Here they are projected once per utterance
and shared by its beams; everything else is the espnet2 layer's own modules in the order its forward uses them
(pre-norm layers, the configuration espnet2 builds by default).
"""

import math

import torch

from asrkit.asr.decred import combine
from asrkit.asr.model import ASRModel
from asrkit.errors import AsrkitError


def pre_norm_layers(model: ASRModel, what: str) -> list:
    """The decoder's layers, which must be the pre-norm layers without concat_after that espnet2 builds by default:
    the only layout `what` (run here layer by layer from the layer's own modules) supports."""
    layers = list(model.decoder.decoders)
    for layer in layers:
        if not layer.normalize_before or layer.concat_after or getattr(layer, "sequential_attn", None) is not None:
            raise AsrkitError(f"{what} supports pre-norm decoder layers without concat_after (decoder: "
                              f"normalize_before: true, concat_after: false)")
    return layers


class IncrementalDecoder:
    def __init__(self, model: ASRModel, memory: torch.Tensor, memory_mask: torch.Tensor, beam: int):
        """memory (B, T, D) and memory_mask (B, 1, T): one row per utterance; steps take B * beam prefixes."""
        self.model, self.beam = model, beam
        self.layers = pre_norm_layers(model, "incremental decoding")
        self.memory_mask = memory_mask.unsqueeze(1).eq(0)  # (B, 1, 1, T): True where padded
        self.keys_values = [self._project(layer.src_attn, memory) for layer in self.layers]

    @staticmethod
    def _project(attn, memory):
        batch = memory.size(0)
        k = attn.k_norm(attn.linear_k(memory).view(batch, -1, attn.h, attn.d_k).transpose(1, 2))
        v = attn.linear_v(memory).view(batch, -1, attn.h, attn.d_k).transpose(1, 2)
        return k, v  # (B, h, T, d_k)

    def step(self, ys: torch.Tensor, cache: list | None, weights: list[float] | None = None):
        """Log-probs (B * beam, V) of the next token after prefixes ys (B * beam, i), and the new cache.

        weights: how the DeCRED heads and the final layer combine (asrkit/asr/decred.py output_weights); None: the
        final layer alone. The cache holds every layer's outputs so far, so the heads read their layer for free.
        """
        decoder = self.model.decoder
        tgt_mask = torch.tril(torch.ones(ys.size(1), ys.size(1), dtype=torch.bool, device=ys.device))[-1:].unsqueeze(0)
        x = decoder.embed(ys)
        new_cache = []
        for i, layer in enumerate(self.layers):
            x = self._layer_step(layer, x, tgt_mask, *self.keys_values[i])
            if cache is not None:
                x = torch.cat([cache[i], x], dim=1)
            new_cache.append(x)
        logits = decoder.output_layer(decoder.after_norm(x[:, -1]))
        heads = self.model.decred_logits([c[:, -1] for c in new_cache]) if weights is not None else []
        return combine(logits, heads, weights), new_cache

    def _layer_step(self, layer, x, tgt_mask, k, v):
        """espnet's DecoderLayer.forward with a cache, for the last position only."""
        normed = layer.norm1(x)
        h = x[:, -1:] + layer.dropout(layer.self_attn(normed[:, -1:], normed, normed, tgt_mask))
        h = h + layer.dropout(self._source_attention(layer.src_attn, layer.norm2(h), k, v))
        return h + layer.dropout(layer.feed_forward(layer.norm3(h)))

    def _source_attention(self, attn, query, k, v):
        """espnet's MultiHeadedAttention over the projected memory; the beams of an utterance share its k, v."""
        batch = k.size(0)
        q = attn.q_norm(attn.linear_q(query).view(batch, self.beam, attn.h, attn.d_k).transpose(1, 2))
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(attn.d_k)  # (B, h, beam, T)
        scores = scores.masked_fill(self.memory_mask, torch.finfo(scores.dtype).min)
        weights = torch.softmax(scores, dim=-1).masked_fill(self.memory_mask, 0.0)
        out = torch.matmul(attn.dropout(weights), v)  # (B, h, beam, d_k)
        return attn.linear_out(out.transpose(1, 2).reshape(batch * self.beam, 1, attn.h * attn.d_k))
