"""DeCRED heads (arXiv 2508.08938): classifiers on intermediate decoder layers; their config, and how decoding
combines them with the final layer (the decode config's `decred_logits`, `decred_weights`).

What the reference does (github BUTSpeechFIT/DeCRED; its decoder is a GPT-2 with extra LM heads in the
huggingface_asr submodule, src/models/decoders/multi_head_gpt2.py), as read there:
  - Placement: a head location indexes GPT-2's hidden states, whose entry i (1 .. layers-1) is block i's output
    BEFORE the final layer norm (ln_f is applied to the last entry only). DeCRED-small: 6 blocks, one head at 4
    (`layers: [4]` here, 1-based), head weights [0.3, 0.7]: the heads' first, the final layer's last.
  - A head is a linear layer without bias on that un-normalised output: `head_input: pre_norm`, `head_bias: false`.
    asrkit's heads read it through the decoder's final layer norm (after_norm) and have a bias: the defaults,
    `post_norm` and `true`, keep that until the two are measured against each other.
  - Training: loss = sum_i w_i * CE(head i) + w_final * CE(final layer), with label smoothing (as here).
  - Decoding with its `average_logits` switch: logits = sum_i w_i * z_i over the heads and the final layer with the
    training weights: a weighted sum of raw logits, not normalised by the weight sum, whose log-softmax generation
    then scores. log_softmax(z) is z minus a per-row constant, so the weighted sum of log-probabilities, renormalised,
    is the same distribution: log_softmax(sum_i w_i log_softmax(z_i)) = log_softmax(sum_i w_i z_i). `weighted`
    computes that; `decred_weights: []` takes the training weights, as the reference does. `mean` gives every output
    the same weight (the plain average of the logits); `final` ignores the heads (the reference's default too).
  - ILM perplexity (src/analysis/compute_ilm_ppl.ipynb): asrkit/asr/ilm.py says how it is measured.
"""

from dataclasses import dataclass, field

import torch

from asrkit.errors import ConfigError

HEAD_INPUTS = ("pre_norm", "post_norm")
DECRED_LOGITS = ("final", "mean", "weighted")


@dataclass
class DecredConfig:
    layers: list[int] = field(default_factory=list)  # 1-based decoder layers below the last that get a head; []: none
    weights: list[float] = field(default_factory=list)  # training loss weight of each head, in `layers` order
    final_weight: float = 1.0  # training loss weight of the final layer's output
    tie_embedding: bool = False  # heads share their weight matrix with the decoder's input embedding
    head_input: str = "post_norm"  # post_norm: a head reads its block's output through after_norm; pre_norm: raw
    head_bias: bool = True  # heads have a bias vector (the reference's have none)


def check_decred(decred: DecredConfig, num_blocks: int):
    """The head list fits a decoder of `num_blocks` layers."""
    if len(decred.layers) != len(decred.weights):
        raise ConfigError(f"decred: {len(decred.layers)} layers but {len(decred.weights)} weights")
    for layer in decred.layers:
        if not 1 <= layer < num_blocks:
            raise ConfigError(f"decred: head layer {layer} is not an intermediate layer (1..{num_blocks - 1})")
    if decred.head_input not in HEAD_INPUTS:
        raise ConfigError(f"decred: head_input '{decred.head_input}' is not one of {', '.join(HEAD_INPUTS)}")


def check_decode_options(mode: str, weights: list[float]):
    """The decode config's decred_logits / decred_weights, before any model is loaded."""
    if mode not in DECRED_LOGITS:
        raise ConfigError(f"decred_logits '{mode}' is not one of {', '.join(DECRED_LOGITS)}")
    if weights and mode != "weighted":
        raise ConfigError(f"decred_weights is read only with decred_logits: weighted (found {mode})")


def output_weights(decred: DecredConfig, mode: str, weights: list[float]) -> list[float] | None:
    """Weights of the heads (in `decred.layers` order) and of the final layer (last) for decoding;
    None: the final layer alone (mode `final`, or a model without heads)."""
    heads = len(decred.layers)
    if mode == "weighted" and weights and len(weights) != heads + 1:
        raise ConfigError(f"decred_weights: {len(weights)} weights, but the model has {heads} head(s); "
                          f"give one per head, then the final layer's")
    if mode == "final" or heads == 0:
        return None
    if mode == "mean":
        return [1.0 / (heads + 1)] * (heads + 1)
    return list(weights) or [*decred.weights, decred.final_weight]


def combine(final_logits: torch.Tensor, head_logits: list[torch.Tensor], weights: list[float] | None) -> torch.Tensor:
    """Log-probabilities of the next token: the final layer's, or the renormalised weighted sum of every output's
    log-probabilities (heads first, as `weights` is ordered)."""
    if weights is None:
        return torch.log_softmax(final_logits, dim=-1)
    outputs = [*head_logits, final_logits]
    mixed = sum(w * torch.log_softmax(z, dim=-1) for w, z in zip(weights, outputs))
    return torch.log_softmax(mixed, dim=-1)
