"""What a trained model says about some features: the n-best, a confidence, and the 1-best's token times.

A Recognizer is a loaded exp dir (model, tokenizer, the features it reads), a decode config and the LM that config
fuses (its `lm:`, loaded once here; its tokens must be the model's). For each input it runs the batched joint
CTC/attention beam search (asrkit/asr/decoding.py), then CTC-force-aligns the 1-best against
the encoder output (torchaudio's forced_align, the aligner of `asrkit tts align` too):

- token times: each 1-best token's span of encoder frames, in seconds: frame i starts at
  i x (feature frame shift x encoder subsampling), as ESPnet's CTC segmentation counts them. A span holds the
  frames where the alignment emits the token, so blank frames between tokens belong to no token.
- token confidence: the mean CTC posterior of the token over its span (torchaudio's TokenSpan score).
- utterance confidence: the mean token confidence of the 1-best, in [0, 1]; for an empty 1-best, the mean blank
  posterior (how sure CTC is that nothing was said). Chosen over the length-normalised attention log-prob (unbounded,
  and the attention decoder is over-confident) and over the n-best posterior margin (it depends on beam size and
  nbest, and is 1 when nbest is 1): the CTC posterior along the 1-best is bounded, needs one extra forward of the
  CTC head only, and falls when CTC and the attention decoder disagree, which is where pseudo-labels go wrong.
  A 1-best that CTC cannot emit at all (more tokens, plus blanks between repeats, than encoder frames; possible only
  with ctc_weight 0) has confidence 0 and no token times.

An input shorter than the encoder's subsampling needs is an error for `recognize` (a file given to transcribe);
decoding a data dir (`recognize_set`) logs it and says nothing for it (empty text, confidence 0), as a Kaldi decoder
skips an utterance it cannot decode instead of failing the whole set.
"""

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torchaudio.functional as F
from espnet.nets.pytorch_backend.transformer.subsampling import check_short_utt

from asrkit.asr.batch_encoding import SUBSAMPLING_SLICES, encode_batch
from asrkit.asr.batching import FeatureSet
from asrkit.asr.decoding import DecodeConfig, Hypothesis, beam_search
from asrkit.asr.model import ASRModel
from asrkit.avsr.roi import RoiConfig
from asrkit.data.features import FbankConfig
from asrkit.data.tokens import Tokenizer
from asrkit.errors import AsrkitError
from asrkit.expdir import feature_config, load_asr, load_lm, read_config
from asrkit.lm.model import LanguageModel
from asrkit.progress import make_progress

log = logging.getLogger("asrkit.decode")


@dataclass
class NbestEntry:
    ids: list[int]  # token ids, without <sos/eos>
    tokens: list[str]  # the tokens as the decode dir's `token` file spells them (e.g. <space>)
    text: str  # the tokens as text (tokenizer.decode)
    score: float  # beam search score: joint CTC/attention log-prob plus length bonus


@dataclass
class TokenTime:
    token: str  # the token as the decode dir's `token` file spells it (e.g. <space>)
    start: float  # seconds from the start of the input
    end: float  # seconds from the start of the input (end of the token's last frame)
    confidence: float  # mean CTC posterior of the token over its frames, in [0, 1]


@dataclass
class Recognition:
    nbest: list[NbestEntry]  # best first; at least one entry (possibly empty tokens)
    confidence: float  # utterance confidence in [0, 1] (see the module docstring)
    token_times: list[TokenTime]  # the 1-best's tokens, in order; empty when CTC cannot emit it

    @property
    def text(self) -> str:
        return self.nbest[0].text


def ctc_spans(log_probs: torch.Tensor, targets: list[int]) -> list[F.TokenSpan]:
    """Each target token's span (start, end encoder frames, score = mean posterior) by CTC forced alignment of
    (frames, vocab) log-probs; the targets must fit (see ctc_can_emit)."""
    if len(targets) == 0:
        return []
    alignment, scores = F.forced_align(log_probs.unsqueeze(0), torch.tensor([targets], dtype=torch.int32), blank=0)
    return F.merge_tokens(alignment[0], scores[0].exp(), blank=0)


def ctc_can_emit(targets: list[int], num_frames: int) -> bool:
    """CTC needs one frame per token plus a blank between two equal neighbours."""
    repeats = sum(a == b for a, b in zip(targets[:-1], targets[1:]))
    return len(targets) + repeats <= num_frames


def subsampling_factor(model: ASRModel) -> int:
    """Feature frames per encoder frame: the product of the subsampling's strides (1 for an unknown input layer)."""
    slices = SUBSAMPLING_SLICES.get(type(model.encoder.embed).__name__, ())
    return math.prod(step for _, step in slices)


def fusion_lm(config: DecodeConfig, tokenizer: Tokenizer) -> LanguageModel | None:
    """The LM exp dir a decode config names (None when it names none or lm_weight is 0: as ESPnet drops a scorer of
    weight 0, it is not run); its token list must be the ASR model's."""
    if not config.lm or not config.lm_weight:
        return None
    read_config(config.lm, "lm")  # an LM exp dir at all, before its tokens are compared
    lm_tokens = Tokenizer.from_dir(config.lm)
    if lm_tokens.tokens != tokenizer.tokens:
        differ = next((i for i, (a, b) in enumerate(zip(lm_tokens.tokens, tokenizer.tokens)) if a != b),
                      min(len(lm_tokens.tokens), len(tokenizer.tokens)))
        raise AsrkitError(f"{Path(config.lm) / 'tokens.txt'}: the LM's {lm_tokens.vocab_size} tokens are not the ASR "
                          f"model's {tokenizer.vocab_size} (first difference at line {differ + 1}); train the LM on the "
                          f"model's token dir")
    return load_lm(config.lm)[0]


@dataclass
class Recognizer:
    model: ASRModel  # a trained model in eval mode
    tokenizer: Tokenizer  # its token list
    features: FbankConfig | RoiConfig  # the features it reads (EXP/fbank.yaml, or EXP/roi.yaml for lip reading)
    config: DecodeConfig  # beam search options
    lm: LanguageModel | None = None  # the LM of config.lm (shallow fusion), on the model's device; None: no LM

    @classmethod
    def from_exp_dir(cls, exp_dir: Path, config: DecodeConfig | None = None, model_file: str | None = None):
        """An exp dir's model (model_file, default valid.acc.ave.pth) with a decode config (default: the defaults)
        and the LM it names."""
        model, tokenizer = load_asr(Path(exp_dir), model_file)
        config = config or DecodeConfig()
        return cls(model, tokenizer, feature_config(exp_dir), config, fusion_lm(config, tokenizer))

    @property
    def frame_seconds(self) -> float:
        """Seconds per encoder frame."""
        return self.features.frame_shift_s() * subsampling_factor(self.model)

    @torch.no_grad()
    def recognize(self, feats: list[np.ndarray], names: list[str]) -> list[Recognition]:
        """One batch of (frames, dims) feature matrices, decoded together; names: what an error calls each."""
        for name, f in zip(names, feats):
            if limit := self.too_short(len(f)):
                raise AsrkitError(f"{name}: {len(f)} feature frames are too short for the model (it needs {limit})")
        enc, enc_lens = encode_batch(self.model, [torch.from_numpy(np.asarray(f, dtype=np.float32)) for f in feats])
        log_probs = self.model.ctc.log_softmax(enc)
        hyps = beam_search(self.model, enc, enc_lens, self.config, log_probs, self.lm)
        return [self._recognition(nbest, lp[:n]) for nbest, lp, n in zip(hyps, log_probs, enc_lens.tolist())]

    def too_short(self, frames: int) -> int:
        """The frames the encoder's subsampling needs when `frames` are fewer, else 0."""
        short, limit = check_short_utt(self.model.encoder.embed, frames)
        return limit if short else 0

    def recognize_set(self, data: FeatureSet, utts: list[str]) -> dict[str, Recognition]:
        """Utterances of a feature set in length-sorted batches of config.batch_size, with a progress bar; one too
        short for the encoder is logged and recognized as nothing (module docstring)."""
        short = {u: limit for u in utts if (limit := self.too_short(data.num_frames[u]))}
        for utt, limit in short.items():
            log.warning(f"utterance '{utt}': {data.num_frames[utt]} feature frames are too short for the model (it "
                        f"needs {limit}); decoded as nothing")
        results = {utt: Recognition([NbestEntry([], [], "", 0.0)], 0.0, []) for utt in short}
        utts = sorted(set(utts) - set(short), key=lambda u: (-data.num_frames[u], u))
        with make_progress() as progress:
            task = progress.add_task("decode", total=len(utts), status="")
            for start in range(0, len(utts), self.config.batch_size):
                batch = utts[start : start + self.config.batch_size]
                said = self.recognize([data.load(utt) for utt in batch], [f"utterance '{utt}'" for utt in batch])
                results.update(zip(batch, said))
                progress.update(task, advance=len(batch))
        return results

    def _recognition(self, nbest: list[Hypothesis], log_probs: torch.Tensor) -> Recognition:
        tok = self.tokenizer
        entries = [NbestEntry(h.tokens, tok.ids_to_tokens(h.tokens), tok.decode(h.tokens), h.score) for h in nbest]
        best = [t for t in nbest[0].tokens if t not in (0, self.model.eos)]  # what ids_to_tokens keeps
        if not best:
            blank = log_probs[:, 0].exp().mean().item() if len(log_probs) else 0.0
            return Recognition(entries, blank, [])
        if not ctc_can_emit(best, len(log_probs)):
            return Recognition(entries, 0.0, [])
        step = self.frame_seconds
        times = [TokenTime(name, span.start * step, span.end * step, float(span.score))
                 for name, span in zip(entries[0].tokens, ctc_spans(log_probs, best))]
        return Recognition(entries, float(np.mean([t.confidence for t in times])), times)
