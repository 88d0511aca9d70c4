"""E-Branchformer encoder + Transformer decoder, hybrid CTC/attention, with DeCRED auxiliary heads.

The encoder is espnet2's E-Branchformer by default; `encoder_type` also takes espnet2's Conformer and Transformer,
so models imported from ESPnet (asrkit/interop/espnet.py) run unchanged.

DeCRED (arXiv 2508.08938) adds classifier heads on intermediate decoder layers, trained on the same targets:
    decoder loss = sum_i w_i * CE_i  (intermediate heads and the final layer),
    total loss   = a * CTC + (1 - a) * decoder loss.
The heads are training-only: decoding runs the plain decoder unless asked to average the head logits.
An empty head list is the plain hybrid CTC/attention baseline.
"""

from dataclasses import dataclass, field

import torch
from espnet.nets.pytorch_backend.nets_utils import th_accuracy
from espnet.nets.pytorch_backend.transformer.add_sos_eos import add_sos_eos
from espnet.nets.pytorch_backend.transformer.label_smoothing_loss import (
    LabelSmoothingLoss,
)
from espnet2.asr.ctc import CTC
from espnet2.asr.decoder.transformer_decoder import TransformerDecoder
from espnet2.asr.encoder.conformer_encoder import ConformerEncoder
from espnet2.asr.encoder.e_branchformer_encoder import EBranchformerEncoder
from espnet2.asr.encoder.transformer_encoder import TransformerEncoder
from espnet2.asr.specaug.specaug import SpecAug
from espnet2.layers.global_mvn import GlobalMVN
from torch import nn

from asrkit.errors import ConfigError

IGNORE_ID = -1
# espnet2's names for its encoders (the `encoder:` key of an ESPnet config).
ENCODERS = {"e_branchformer": EBranchformerEncoder, "conformer": ConformerEncoder, "transformer": TransformerEncoder}


@dataclass
class DecredConfig:
    layers: list[int] = field(default_factory=list)  # 1-based decoder layers that get a head
    weights: list[float] = field(default_factory=list)  # one weight per head
    final_weight: float = 1.0
    tie_embedding: bool = False


@dataclass
class ModelConfig:
    input_size: int = 80
    encoder_type: str = "e_branchformer"
    encoder: dict = field(default_factory=dict)
    decoder: dict = field(default_factory=dict)
    specaug: dict | None = None
    ctc_weight: float = 0.3
    lsm_weight: float = 0.1
    decred: DecredConfig = field(default_factory=DecredConfig)

    @classmethod
    def from_dict(cls, conf: dict) -> "ModelConfig":
        conf = dict(conf)
        conf["decred"] = DecredConfig(**conf.get("decred") or {})
        encoder_type = conf.get("encoder_type", cls.encoder_type)
        if encoder_type not in ENCODERS:
            raise ConfigError(f"model.encoder_type '{encoder_type}' is not one of {', '.join(ENCODERS)}")
        return cls(**conf)


def _use_channels_last(module: nn.Module):
    """oneDNN runs 2-D convolutions about 1.5x faster (forward + backward) with channels-last weights, and the
    conv2d subsampling is half of a CPU training step (bench/README.md). Parameters keep their values, only the
    memory layout changes; the activations follow the weights' layout."""
    for conv in module.modules():
        if isinstance(conv, nn.Conv2d):
            conv.to(memory_format=torch.channels_last)


class ASRModel(nn.Module):
    def __init__(self, config: ModelConfig, vocab_size: int, cmvn_stats: str | None = None):
        super().__init__()
        self.config = config
        self.vocab_size = vocab_size
        self.sos = self.eos = vocab_size - 1
        self.normalize = GlobalMVN(cmvn_stats) if cmvn_stats else None
        self.specaug = SpecAug(**config.specaug) if config.specaug else None
        self.encoder = ENCODERS[config.encoder_type](config.input_size, **config.encoder)
        _use_channels_last(self.encoder)
        self.decoder = TransformerDecoder(vocab_size, self.encoder.output_size(), **config.decoder)
        self.ctc = CTC(vocab_size, self.encoder.output_size())
        self.aux_heads = nn.ModuleList(self._make_head(layer) for layer in config.decred.layers)
        self.criterion = LabelSmoothingLoss(vocab_size, IGNORE_ID, config.lsm_weight, normalize_length=False)
        self._check_decred()

    def _make_head(self, layer: int) -> nn.Linear:
        head = nn.Linear(self.decoder.output_layer.in_features, self.vocab_size)
        if self.config.decred.tie_embedding:
            head.weight = self.decoder.embed[0].weight
        return head

    def _check_decred(self):
        decred, num_blocks = self.config.decred, len(self.decoder.decoders)
        if len(decred.layers) != len(decred.weights):
            raise ConfigError(f"decred: {len(decred.layers)} layers but {len(decred.weights)} weights")
        for layer in decred.layers:
            if not 1 <= layer < num_blocks:
                raise ConfigError(f"decred: head layer {layer} is not an intermediate layer (1..{num_blocks - 1})")

    def encode(self, feats: torch.Tensor, feats_lens: torch.Tensor):
        if self.normalize is not None:
            feats, feats_lens = self.normalize(feats, feats_lens)
        if self.specaug is not None and self.training:
            feats, feats_lens = self.specaug(feats, feats_lens)
        enc, enc_lens, _ = self.encoder(feats, feats_lens)
        return enc, enc_lens

    def forward(self, feats, feats_lens, ys, ys_lens) -> dict[str, torch.Tensor]:
        """ys: (B, L) token ids padded with IGNORE_ID. Returns the loss and its parts for logging."""
        enc, enc_lens = self.encode(feats, feats_lens)
        loss_ctc = self.ctc(enc, enc_lens, ys, ys_lens)
        loss_att, acc, aux = self._decoder_loss(enc, enc_lens, ys, ys_lens)
        a = self.config.ctc_weight
        loss = a * loss_ctc + (1 - a) * loss_att
        return dict(loss=loss, loss_ctc=loss_ctc.detach(), loss_att=loss_att.detach(), acc=acc, **aux)

    def _decoder_loss(self, enc, enc_lens, ys, ys_lens):
        ys_in, ys_out = add_sos_eos(ys, self.sos, self.eos, IGNORE_ID)
        (logits, layer_outputs), _ = self.decoder(enc, enc_lens, ys_in, ys_lens + 1, return_all_hs=True)
        decred = self.config.decred
        loss = decred.final_weight * self.criterion(logits, ys_out)
        aux = {}
        for layer, weight, head in zip(decred.layers, decred.weights, self.aux_heads):
            head_loss = self.criterion(head(self.decoder.after_norm(layer_outputs[layer - 1])), ys_out)
            loss = loss + weight * head_loss
            aux[f"loss_aux{layer}"] = head_loss.detach()
        acc = th_accuracy(logits.view(-1, self.vocab_size), ys_out, ignore_label=IGNORE_ID)
        return loss, torch.tensor(acc), aux
