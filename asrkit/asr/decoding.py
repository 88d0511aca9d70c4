"""Joint CTC/attention beam search over a batch of utterances.

espnet2's BeamSearch decodes one utterance at a time. Here every decoder step scores all beams of all
utterances in one forward pass, with espnet's vectorised CTC prefix scorer (CTCPrefixScoreTH), which
is what makes decoding a test set fast on CPU. The score of a hypothesis is the usual
    (1 - ctc_weight) * log p_att + ctc_weight * log p_ctc-prefix + lm_weight * log p_lm + length_bonus * length,
the LM term being shallow fusion with an LM exp dir (`asrkit lm train`, asrkit/lm/) when the config names one: the
LM scores the same batched hypotheses in the same step, its state following each hypothesis as the decoder cache
does (ESPnet's semantics: the LM is a full scorer, so it counts in the pre-beam and scores <eos> too).
Search stops per utterance with ESPnet's end detection (maxlenratio 0) or at its maximum length.
It follows espnet2's BatchBeamSearch step for step, so both toolkits find the same 1-best: CTC scores only the
pre-beam (1.5 x beam) best tokens by attention score when the vocabulary is larger, and at the maximum length every
live hypothesis ends, with <eos> unscored unless it chose <eos> itself. Two departures: with ctc_weight 1 the decoder
is not run and CTC scores the whole vocabulary (espnet2's Speech2Text sets no pre-beam then, with the same effect),
and CTC's blank is never an output token (espnet scores it -1e10, which a beam wider than the vocabulary can keep).
"""

from dataclasses import dataclass, field

import numpy as np
import torch
from espnet.nets.ctc_prefix_score import CTCPrefixScoreTH
from espnet.nets.pytorch_backend.nets_utils import make_pad_mask

from asrkit.asr.decred import check_decode_options, output_weights
from asrkit.asr.incremental_decoder import IncrementalDecoder
from asrkit.asr.model import ASRModel
from asrkit.config import load_config
from asrkit.errors import ConfigError
from asrkit.lm.model import LanguageModel

NEG_INF = float("-inf")
BLANK_ID = 0  # CTC's blank (asrkit/data/tokens.py: id 0 of every token list)
PRE_BEAM_RATIO = 1.5  # espnet's BeamSearch default


@dataclass
class DecodeConfig:
    beam_size: int = 10  # hypotheses kept per utterance at every step
    ctc_weight: float = 0.3  # weight of the CTC prefix score; attention gets 1 - ctc_weight (0: no CTC; 1: CTC alone)
    length_bonus: float = 0.0  # added to a hypothesis' score per output token (log-prob units); > 0 favours long ones
    maxlenratio: float = 0.0  # max tokens = maxlenratio x encoder frames; 0: the frames, and ESPnet end detection
    minlenratio: float = 0.0  # min output tokens = minlenratio x encoder frames (<eos> is forbidden before)
    nbest: int = 1  # hypotheses written per utterance: the best in OUT, the k-th in OUT/<k>best_recog
    batch_size: int = 16  # utterances decoded together in one forward pass per step
    decred_logits: str = "final"  # final layer, or mean or weighted of DeCRED heads and final (asr/decred.py)
    decred_weights: list[float] = field(default_factory=list)  # weighted: one per head, then final; []: training's
    lm: str = ""  # LM exp dir (`asrkit lm train` on the ASR model's tokens) fused into the score; "": no LM
    lm_weight: float = 1.0  # weight of the LM's log-prob when `lm` is set (espnet2's default; 0: the LM is not loaded)

    def __post_init__(self):
        # here, not in the loader, so that configs built in code (adapt's, refine's) are checked too
        if not 0 <= self.ctc_weight <= 1:
            raise ConfigError(f"ctc_weight {self.ctc_weight} is not between 0 and 1")
        check_decode_options(self.decred_logits, self.decred_weights)


@dataclass
class Hypothesis:
    tokens: list[int]  # without <sos>/<eos>
    score: float


def max_lengths(enc_lens: torch.Tensor, config: DecodeConfig) -> tuple[list[int], list[int]]:
    """Per-utterance (min, max) output lengths. The max never exceeds the encoder frames: CTC cannot emit more."""
    lens = enc_lens.tolist()
    maxlens = [t if config.maxlenratio == 0 else max(1, min(t, int(config.maxlenratio * t))) for t in lens]
    minlens = [int(config.minlenratio * t) for t in lens]
    return minlens, maxlens


def end_detected(ended: list[Hypothesis], step: int, window: int = 3, margin: float = np.log(np.exp(-10))) -> bool:
    """ESPnet's end_detect: the best hypotheses that ended in each of the last steps are far below the best."""
    if not ended:
        return False
    best = max(h.score for h in ended)
    count = 0
    for m in range(window):
        same_length = [h.score for h in ended if len(h.tokens) + 2 == step - m]
        if same_length and max(same_length) - best < margin:
            count += 1
    return count == window


class _Scorers:
    """The decoder, CTC prefix scorer and LM of one search, each with the state it keeps per live hypothesis."""

    def __init__(self, model: ASRModel, enc, enc_lens, config: DecodeConfig, ctc_log_probs, lm: LanguageModel | None):
        self.config, self.lm, self.vocab = config, lm, model.vocab_size
        self.pre_beam = int(PRE_BEAM_RATIO * config.beam_size)
        # CTC alone (ESPnet's pre_beam_score_key=None): the decoder is not run, and CTC scores the whole vocabulary,
        # since a pre-beam on attention scores of weight 0 would keep arbitrary tokens
        self.decoder = self.ctc = None
        if config.ctc_weight < 1:
            mask = (~make_pad_mask(enc_lens, maxlen=enc.size(1)))[:, None, :]
            self.decoder = IncrementalDecoder(model, enc, mask, config.beam_size)
            self.weights = output_weights(model.config.decred, config.decred_logits, config.decred_weights)
        if config.ctc_weight > 0:
            log_probs = model.ctc.log_softmax(enc) if ctc_log_probs is None else ctc_log_probs.clone()
            self.ctc = CTCPrefixScoreTH(log_probs, enc_lens, BLANK_ID, model.eos)
        self.cache = self.lm_state = self.ctc_state = self.ctc_full_state = None

    def score(self, yseq: torch.Tensor) -> torch.Tensor:
        """Weighted scores (rows of yseq, vocab) of every next token (the module docstring's sum)."""
        config = self.config
        scores = torch.full((yseq.size(0), self.vocab), config.length_bonus, device=yseq.device)
        if self.decoder is not None:
            att_logp, self.cache = self.decoder.step(yseq, self.cache, self.weights)
            scores = scores + (1 - config.ctc_weight) * att_logp
        if self.lm is not None:
            lm_logp, self.lm_state = self.lm.step(yseq, self.lm_state)
            scores = scores + config.lm_weight * lm_logp
        if self.ctc is not None:
            pre_beam = self.decoder is not None and self.pre_beam < self.vocab
            ids = scores.topk(self.pre_beam, dim=1)[1] if pre_beam else None
            ctc_local, self.ctc_full_state = self.ctc(yseq, self.ctc_state, ids)
            scores = scores + config.ctc_weight * ctc_local
        scores[:, BLANK_ID] = NEG_INF  # never an output token; a beam wider than the vocabulary once kept it
        return scores

    def select(self, rows: torch.Tensor, top_ids: torch.Tensor):
        """Keep the states of the hypotheses the beam kept: `rows` of yseq, `top_ids` (B, beam) into beam x vocab."""
        if self.decoder is not None:
            self.cache = [c[rows] for c in self.cache]
        if self.lm is not None:
            self.lm_state = self.lm.select(self.lm_state, rows)
        if self.ctc is not None:
            self.ctc_state = self.ctc.index_select_state(self.ctc_full_state, top_ids)


@torch.no_grad()
def beam_search(model: ASRModel, enc: torch.Tensor, enc_lens: torch.Tensor, config: DecodeConfig,
                ctc_log_probs: torch.Tensor | None = None, lm: LanguageModel | None = None) -> list[list[Hypothesis]]:
    """Decode encoder outputs enc (B, T, D); returns the n-best list of each utterance, best first.
    ctc_log_probs: model.ctc.log_softmax(enc) when the caller has it already (it is not changed).
    lm: the LM of config.lm (loaded once by the caller, eval mode, on enc's device), fused with config.lm_weight."""
    batch, beam, vocab, eos = enc.size(0), config.beam_size, model.vocab_size, model.eos
    minlens, maxlens = max_lengths(enc_lens, config)
    scorers = _Scorers(model, enc, enc_lens, config, ctc_log_probs, lm)
    yseq = torch.full((batch * beam, 1), model.sos, dtype=torch.long, device=enc.device)
    scores = torch.full((batch, beam), NEG_INF, device=enc.device)
    scores[:, 0] = 0.0  # one live hypothesis (<sos>) per utterance at the start
    ended: list[list[Hypothesis]] = [[] for _ in range(batch)]
    done = [False] * batch
    batch_offsets = (torch.arange(batch, device=enc.device) * beam).unsqueeze(1)

    for step in range(max(maxlens)):
        token_scores = _forbid_early_eos(scorers.score(yseq).view(batch, beam, vocab), step, minlens, eos)
        candidates = (scores.unsqueeze(2) + token_scores).view(batch, beam * vocab)
        top_scores, top_ids = candidates.topk(beam, dim=1)
        prev_beam, tokens = top_ids // vocab, top_ids % vocab
        rows = (batch_offsets + prev_beam).view(-1)
        yseq = torch.cat([yseq[rows], tokens.view(-1, 1)], dim=1)
        scorers.select(rows, top_ids)
        at_maxlen = [step + 1 >= maxlen for maxlen in maxlens]
        scores = _retire_ended(top_scores, tokens, yseq, ended, done, at_maxlen, eos)
        _mark_done(done, scores, ended, at_maxlen, step, config)
        if all(done):
            break
    return [sorted(hyps, key=lambda h: h.score, reverse=True)[: config.nbest] or [Hypothesis([], NEG_INF)] for hyps in ended]


def _mark_done(done, scores, ended, at_maxlen, step, config):
    """An utterance's search is over at its max length, with no live hypothesis left, or (maxlenratio 0) at ESPnet's
    end detection; its live hypotheses are dropped."""
    for b in range(len(done)):
        if not done[b] and (at_maxlen[b] or torch.isinf(scores[b]).all()
                            or (config.maxlenratio == 0 and end_detected(ended[b], step))):
            done[b] = True
    scores[torch.tensor(done, device=scores.device)] = NEG_INF


def _forbid_early_eos(token_scores, step, minlens, eos):
    """No <eos> before an utterance's minimum length."""
    for b, minlen in enumerate(minlens):
        if step < minlen:
            token_scores[b, :, eos] = NEG_INF
    return token_scores


def _retire_ended(top_scores, tokens, yseq, ended, done, at_maxlen, eos):
    """Move hypotheses that chose <eos> to their utterance's ended list; their beam slot dies.

    At an utterance's maximum length every live hypothesis ends as it stands, as espnet's beam search ends them by
    appending an unscored <eos>.
    """
    batch, beam = tokens.shape
    is_eos = tokens == eos
    live = ~torch.tensor(done, device=tokens.device).unsqueeze(1) & (top_scores > NEG_INF)
    ending = live & (is_eos | torch.tensor(at_maxlen, device=tokens.device).unsqueeze(1))
    for b, w in ending.nonzero().tolist():
        end = -1 if is_eos[b, w] else None
        ended[b].append(Hypothesis(yseq[b * beam + w, 1:end].tolist(), top_scores[b, w].item()))
    return top_scores.masked_fill(is_eos, NEG_INF)


def load_decode_config(path) -> DecodeConfig:
    return load_config(DecodeConfig, path, "decoding")
