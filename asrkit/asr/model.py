"""E-Branchformer encoder + Transformer decoder, hybrid CTC/attention, with DeCRED auxiliary heads.

The encoder is espnet2's E-Branchformer by default; `encoder_type` also takes espnet2's Conformer and Transformer,
so models imported from ESPnet (asrkit/interop/espnet.py) run unchanged. The model reads fbank frames, or with
`frontend: video_roi` mouth-ROI video frames through the VSR front-end of asrkit/avsr/vsr.py (lip reading).

DeCRED (arXiv 2508.08938) adds classifier heads on intermediate decoder layers, trained on the same targets:
    decoder loss = sum_i w_i * CE_i  (intermediate heads and the final layer),
    total loss   = a * CTC + (1 - a) * decoder loss.
The heads are training-only: decoding runs the plain decoder unless its config combines them (asrkit/asr/decred.py,
which also says how the heads differ from the reference's and which options make them match).
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

from asrkit.asr.decred import DecredConfig, check_decred
from asrkit.config import from_mapping
from asrkit.errors import ConfigError

IGNORE_ID = -1
# espnet2's names for its encoders (the `encoder:` key of an ESPnet config).
ENCODERS = {"e_branchformer": EBranchformerEncoder, "conformer": ConformerEncoder, "transformer": TransformerEncoder}
FRONTENDS = ("fbank", "video_roi")  # what a model reads: DATA/feats.scp, or DATA/roi.scp (asrkit/avsr/roi.py)


@dataclass
class ModelConfig:
    input_size: int = 80  # feature dimension the encoder reads (fbank bins, or the video front-end's output size)
    frontend: str = "fbank"  # fbank: log-mel frames; video_roi: mouth-ROI frames through asrkit/avsr/vsr.py first
    video_frontend: dict = field(default_factory=dict)  # video_roi: VideoFrontendConfig options (ROI size, channels)
    encoder_type: str = "e_branchformer"  # espnet2 encoder: e_branchformer, conformer or transformer
    encoder: dict = field(default_factory=dict)  # keyword arguments of that espnet2 encoder class
    decoder: dict = field(default_factory=dict)  # keyword arguments of espnet2's TransformerDecoder (num_blocks, ...)
    specaug: dict | None = None  # keyword arguments of espnet2's SpecAug, applied in training only; null: none
    ctc_weight: float = 0.3  # a in loss = a * CTC + (1 - a) * decoder loss
    interctc_weight: float = 0.0  # w in CTC = (1 - w) * CTC(last block) + w * mean CTC(encoder.interctc_layer_idx
    #   blocks' outputs, espnet2's intermediate CTC through the same CTC layer); 0: the last block only
    lsm_weight: float = 0.1  # label smoothing of the decoder's cross-entropy: probability mass spread over all tokens
    decred: DecredConfig = field(default_factory=DecredConfig)  # DeCRED heads on intermediate decoder layers

    @classmethod
    def from_dict(cls, conf: dict, where: str = "model") -> "ModelConfig":
        """The `model:` section of a training config; `where` names it in errors (file: model)."""
        conf = dict(conf or {})
        conf["decred"] = from_mapping(DecredConfig, conf.get("decred") or {}, f"{where}.decred", "DeCRED")
        encoder_type = conf.get("encoder_type", cls.encoder_type)
        if encoder_type not in ENCODERS:
            raise ConfigError(f"model.encoder_type '{encoder_type}' is not one of {', '.join(ENCODERS)}")
        if conf.get("frontend", cls.frontend) not in FRONTENDS:
            raise ConfigError(f"{where}.frontend '{conf['frontend']}' is not one of {', '.join(FRONTENDS)}")
        config = from_mapping(cls, conf, where, "model")
        config.video_frontend_config(f"{where}.video_frontend")  # its options checked where the file is named
        return config

    def video_frontend_config(self, where: str = "model.video_frontend"):
        """The VSR front-end's options (asrkit/avsr/vsr.py), or None for an fbank model."""
        if self.frontend != "video_roi":
            return None
        from asrkit.avsr.vsr import VideoFrontendConfig

        return from_mapping(VideoFrontendConfig, self.video_frontend, where, "video front-end")


def _use_channels_last(module: nn.Module):
    """oneDNN runs 2-D convolutions about 1.5x faster (forward + backward) with channels-last weights, and the
    conv2d subsampling is half of a CPU training step (bench/README.md). Parameters keep their values, only the
    memory layout changes; the activations follow the weights' layout."""
    for conv in module.modules():
        if isinstance(conv, nn.Conv2d):
            conv.to(memory_format=torch.channels_last)


def _video_frontend(config: ModelConfig) -> nn.Module | None:
    """The VSR front-end of a `frontend: video_roi` model (None for fbank: no module, no parameters)."""
    frontend = config.video_frontend_config()
    if frontend is None:
        return None
    from asrkit.avsr.vsr import VideoFrontend

    return VideoFrontend(config.input_size, frontend)


class ASRModel(nn.Module):
    def __init__(self, config: ModelConfig, vocab_size: int, cmvn_stats: str | None = None):
        super().__init__()
        self.config = config
        self.vocab_size = vocab_size
        self.sos = self.eos = vocab_size - 1
        self.normalize = GlobalMVN(cmvn_stats) if cmvn_stats else None
        self.specaug = SpecAug(**config.specaug) if config.specaug else None
        self.video_frontend = _video_frontend(config)
        self.encoder = ENCODERS[config.encoder_type](config.input_size, **config.encoder)
        _use_channels_last(self.encoder)
        self.decoder = TransformerDecoder(vocab_size, self.encoder.output_size(), **config.decoder)
        check_decred(config.decred, len(self.decoder.decoders))
        self.ctc = CTC(vocab_size, self.encoder.output_size())
        self.aux_heads = nn.ModuleList(self._make_head(layer) for layer in config.decred.layers)
        self.criterion = LabelSmoothingLoss(vocab_size, IGNORE_ID, config.lsm_weight, normalize_length=False)

    def _make_head(self, layer: int) -> nn.Linear:
        head = nn.Linear(self.decoder.output_layer.in_features, self.vocab_size, bias=self.config.decred.head_bias)
        if self.config.decred.tie_embedding:
            head.weight = self.decoder.embed[0].weight
        return head

    def decred_logits(self, layer_outputs: list[torch.Tensor]) -> list[torch.Tensor]:
        """Each DeCRED head's logits from the decoder layers' outputs (the list espnet's return_all_hs gives)."""
        pre_norm = self.config.decred.head_input == "pre_norm"
        return [head(layer_outputs[layer - 1] if pre_norm else self.decoder.after_norm(layer_outputs[layer - 1]))
                for layer, head in zip(self.config.decred.layers, self.aux_heads)]

    def encode(self, feats: torch.Tensor, feats_lens: torch.Tensor):
        enc, enc_lens, _ = self.encode_all(feats, feats_lens)
        return enc, enc_lens

    def encode_all(self, feats: torch.Tensor, feats_lens: torch.Tensor):
        """encode's output and the outputs of the blocks in encoder.interctc_layer_idx (espnet2 returns them beside
        the last block's whenever that list is set; intermediate CTC trains on them)."""
        if self.video_frontend is not None:
            feats, feats_lens = self.video_frontend(feats, feats_lens)
        if self.normalize is not None:
            feats, feats_lens = self.normalize(feats, feats_lens)
        if self.specaug is not None and self.training:
            feats, feats_lens = self.specaug(feats, feats_lens)
        enc, enc_lens, _ = self.encoder(feats, feats_lens)
        if isinstance(enc, tuple):
            return enc[0], enc_lens, [out for _, out in enc[1]]
        return enc, enc_lens, []

    def forward(self, feats, feats_lens, ys, ys_lens) -> dict[str, torch.Tensor]:
        """ys: (B, L) token ids padded with IGNORE_ID. Returns the loss and its parts for logging."""
        enc, enc_lens, intermediate = self.encode_all(feats, feats_lens)
        loss_ctc = self.ctc(enc, enc_lens, ys, ys_lens)
        stats = {}
        if intermediate:
            loss_interctc = sum(self.ctc(out, enc_lens, ys, ys_lens) for out in intermediate) / len(intermediate)
            w = self.config.interctc_weight
            stats["loss_interctc"] = loss_interctc.detach()
            loss_ctc = (1 - w) * loss_ctc + w * loss_interctc
        loss_att, acc, aux = self.decoder_loss(enc, enc_lens, ys, ys_lens)
        a = self.config.ctc_weight
        loss = a * loss_ctc + (1 - a) * loss_att
        return dict(loss=loss, loss_ctc=loss_ctc.detach(), loss_att=loss_att.detach(), acc=acc, **stats, **aux)

    def decoder_loss(self, enc, enc_lens, ys, ys_lens):
        """The decoder's (and DeCRED heads') weighted cross-entropy on encoder outputs enc, its accuracy, and each
        head's loss (the adapt stage trains the decoder alone on latents from elsewhere)."""
        ys_in, ys_out = add_sos_eos(ys, self.sos, self.eos, IGNORE_ID)
        (logits, layer_outputs), _ = self.decoder(enc, enc_lens, ys_in, ys_lens + 1, return_all_hs=True)
        decred = self.config.decred
        loss = decred.final_weight * self.criterion(logits, ys_out)
        aux = {}
        for layer, weight, head_logits in zip(decred.layers, decred.weights, self.decred_logits(layer_outputs)):
            head_loss = self.criterion(head_logits, ys_out)
            loss = loss + weight * head_loss
            aux[f"loss_aux{layer}"] = head_loss.detach()
        acc = th_accuracy(logits.view(-1, self.vocab_size), ys_out, ignore_label=IGNORE_ID)
        return loss, torch.tensor(acc), aux
