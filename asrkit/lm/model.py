"""The language model of `asrkit lm`: espnet2's SequentialRNNLM (`lm: seq_rnn`, LSTM/GRU) or TransformerLM
(`lm: transformer`) over an ASR model's own tokens, as ESPnet's lm.sh trains them.

A sentence is read as `<sos/eos> t1 .. tn` and predicts `t1 .. tn <sos/eos>` (ESPnet's ESPnetLanguageModel): the LM's
start and end token is the ASR model's `<sos/eos>`, so its prefixes are the beam search's. Inputs are padded with 0
(`<blank>`, never a text token; espnet2's LMs treat 0 as padding), targets with IGNORE_ID.
For shallow fusion (asrkit/asr/decoding.py) `step` scores the next token of every hypothesis of a batched beam
search at once; its state (LSTM (h, c), or every Transformer layer's outputs so far) has one row per hypothesis and
follows the hypotheses through `select`.
"""

import torch
from espnet2.lm.seq_rnn_lm import SequentialRNNLM
from espnet2.lm.transformer_lm import TransformerLM

from asrkit.asr.batching import pad
from asrkit.asr.model import IGNORE_ID
from asrkit.errors import ConfigError

LM_CLASSES = {"seq_rnn": SequentialRNNLM, "transformer": TransformerLM}  # ESPnet's `lm:` names


class LanguageModel(torch.nn.Module):
    def __init__(self, lm: str, lm_conf: dict, vocab_size: int, where: str):
        """espnet2's `lm` class built with lm_conf's arguments; `where` (the config file) is named in errors."""
        super().__init__()
        if lm not in LM_CLASSES:
            raise ConfigError(f"{where}: lm: {lm} is not one of {', '.join(LM_CLASSES)}")
        try:
            self.lm = LM_CLASSES[lm](vocab_size, **lm_conf)
        except (TypeError, ValueError) as error:  # an argument the class lacks, or a value it refuses
            raise ConfigError(f"{where}: lm_conf does not fit espnet2's {LM_CLASSES[lm].__name__}: {error}") from None
        self.transformer = lm == "transformer"
        self.sos = self.eos = vocab_size - 1

    def logits(self, ys_in: torch.Tensor) -> torch.Tensor:
        """(B, L, V) next-token logits for inputs ys_in (B, L) that start with <sos>."""
        return self.lm(ys_in, None)[0]

    def batch(self, utts: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded inputs (<sos> + ids) and targets (ids + <eos>), both (B, max len + 1)."""
        ys_in, _ = pad([torch.tensor([self.sos, *ids]) for ids in utts], 0)
        ys_out, _ = pad([torch.tensor([*ids, self.eos]) for ids in utts], IGNORE_ID)
        return ys_in, ys_out

    def token_nll(self, ys_in: torch.Tensor, ys_out: torch.Tensor) -> torch.Tensor:
        """(B, L) NLL (nats) of each target token; 0 at padding."""
        return torch.nn.functional.cross_entropy(self.logits(ys_in).transpose(1, 2), ys_out, ignore_index=IGNORE_ID,
                                                 reduction="none")

    def forward(self, ys_in: torch.Tensor, ys_out: torch.Tensor) -> dict:
        """The training step's stats: loss = the batch's mean NLL per target token (ESPnet's LM loss)."""
        nll = self.token_nll(ys_in, ys_out)
        return {"loss": nll.sum() / (ys_out != IGNORE_ID).sum()}

    def nll(self, utts: list[list[int]]) -> dict[str, torch.Tensor]:
        """{"lm": each utterance's total NLL (B,)} over its tokens and <eos>: the perplexity report's scorer."""
        device = next(self.parameters()).device
        return {"lm": self.token_nll(*(t.to(device) for t in self.batch(utts))).sum(1)}

    def step(self, yseq: torch.Tensor, state):
        """Log-probs (N, V) of the token after each prefix yseq (N, i) (<sos> first), and the new state; state is
        None at the first step, then what the previous step returned (rows re-ordered by `select`)."""
        if self.transformer:
            lm = self.lm
            h, _, state = lm.encoder.forward_one_step(lm.embed(yseq), lm._target_mask(yseq), cache=state)
            return lm.decoder(h[:, -1]).log_softmax(-1), state
        logits, state = self.lm(yseq[:, -1:], state)  # the RNN state holds the rest of the prefix
        return logits[:, -1].log_softmax(-1), state

    def select(self, state, rows: torch.Tensor):
        """The state of the hypotheses `rows` (indices into the N of the last step)."""
        if self.transformer:
            return [layer[rows] for layer in state]  # (N, i, D) per layer
        # RNN: (layers, N, hidden), for an LSTM the pair (h, c)
        return tuple(s[:, rows] for s in state) if isinstance(state, tuple) else state[:, rows]
