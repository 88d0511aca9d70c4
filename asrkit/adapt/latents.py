"""Reading latents with an ASR decoder: what the adapt stage measures a TLE and a fine-tune by.

A latent source is any (utts -> padded frames (B, T, D), lengths (B,)) function: a cache of the real encoder's
outputs (asrkit/train/cache.py) or a TLE's generated frames. The ASR model's batched beam search
(asrkit/asr/decoding.py) reads them in place of its encoder's outputs, fusing the LM the decode config names (`lm:`,
as `asrkit decode` does), and the 1-bests are scored like decode dirs (asrkit/scoring.py: WER over words, CER over
non-space characters).
"""

from collections.abc import Callable

import torch

from asrkit.asr.decoding import DecodeConfig, beam_search
from asrkit.asr.recognize import fusion_lm
from asrkit.scoring import Counts, align, summarize

LatentSource = Callable[[list[str]], tuple[torch.Tensor, torch.Tensor]]


@torch.no_grad()
def read_latents(model, tokenizer, source: LatentSource, utts: list[str], config: DecodeConfig) -> dict[str, str]:
    """The 1-best text of each utterance's latents, decoded `config.batch_size` at a time."""
    device = next(model.parameters()).device
    lm = fusion_lm(config, tokenizer)
    lm = lm.to(device) if lm is not None else None
    texts = {}
    for start in range(0, len(utts), config.batch_size):
        chunk = utts[start:start + config.batch_size]
        enc, lens = source(chunk)
        hyps = beam_search(model, enc.to(device), lens.to(device), config, lm=lm)
        texts.update({utt: tokenizer.decode(nbest[0].tokens) for utt, nbest in zip(chunk, hyps)})
    return texts


def error_rate(refs: dict[str, str], hyps: dict[str, str], metric: str) -> float:
    """WER or CER in percent of `hyps` against `refs` (the same utterance ids)."""
    counts = sum((a.counts() for a in align(refs, hyps, metric)), Counts())
    return summarize(metric, counts)[metric]
