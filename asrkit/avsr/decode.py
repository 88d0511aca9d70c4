"""`asrkit avsr decode`: beam search of a trained Omni-AVSR model for one task (asr, vsr, avsr) at one audio and one
video rate (elastic inference: coarser rates, fewer LLM tokens, faster), over a data dir's cached encoder outputs.

Search: the prompts of a batch of utterances are left-padded and run through the LLM once (KV cache), then every
step feeds the last token of all beams of all utterances in one forward pass; a hypothesis ends at EOS and then only
repeats EOS at no cost, so the beam keeps it while the others grow. The score is the sum of the tokens' log-probs
(EOS included). Search ends when every beam has ended or at `max_tokens`.

The decode dir holds, as `asrkit decode` writes them (asrkit/asr/decode_dir.py), sorted by utterance id:
    text    uttid transcript (the LLM tokenizer's decoding of the 1-best, whitespace normalised); written last
    score   uttid log-prob of the 1-best
    cost.json   utterances, mean audio and video tokens per utterance (after pooling), decode seconds per utterance
so `asrkit score DIR DATA` scores it.
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from asrkit.avsr.model import MODALITIES, AVSRModel
from asrkit.config import load_config
from asrkit.data.datadir import read_dict, write_table
from asrkit.fileio import atomic_write
from asrkit.progress import progress_bar
from asrkit.train.cache import load_cache_covering

NEG_INF = float("-inf")


@dataclass
class AVSRDecodeConfig:
    beam_size: int = 5  # hypotheses kept per utterance at every step
    max_tokens: int = 40  # LLM tokens generated at most per utterance (EOS included)
    batch_size: int = 8  # utterances decoded together


def load_decode_config(path) -> AVSRDecodeConfig:
    return load_config(AVSRDecodeConfig, path, "AVSR decoding")


def left_padded(embeds: torch.Tensor, lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded prompts -> left-padded ones, their attention mask and position ids (0 at each prompt's start)."""
    width = embeds.shape[1]
    rows = [torch.roll(e, width - int(n), 0) for e, n in zip(embeds, lens)]
    mask = (torch.arange(width, device=lens.device)[None] >= (width - lens)[:, None]).long()
    return torch.stack(rows), mask, (mask.cumsum(-1) - 1).clamp(min=0)


@torch.no_grad()
def beam_search(model: AVSRModel, task: str, inputs: dict, rates: dict,
                config: AVSRDecodeConfig) -> list[tuple[list[int], float]]:
    """(token ids without EOS, score) of the best hypothesis of each utterance of the batch."""
    model.use_adapters(task)
    prompt = model.prompt(task, inputs, rates)
    batch, beam, llm, eos = len(prompt.lens), config.beam_size, model.llm, model.eos_id
    embeds, mask, positions = left_padded(prompt.embeds, prompt.lens)
    # logits_to_keep=1: the LM head runs at the last position only, not over the whole prompt
    out = llm(inputs_embeds=embeds, attention_mask=mask, position_ids=positions, use_cache=True, logits_to_keep=1)
    scores, hyps = out.logits[:, -1].float().log_softmax(-1).topk(beam, -1)
    cache, hyps, scores = out.past_key_values, hyps.view(-1, 1), scores.view(-1)
    cache.batch_repeat_interleave(beam)
    mask, position = mask.repeat_interleave(beam, 0), positions[:, -1:].repeat_interleave(beam, 0)
    offsets = torch.arange(batch, device=hyps.device)[:, None] * beam
    for _ in range(config.max_tokens - 1):
        done = hyps[:, -1] == eos
        if done.all():
            break
        mask, position = F.pad(mask, (0, 1), value=1), position + 1
        out = llm(inputs_embeds=model.embed_tokens(hyps[:, -1:]), attention_mask=mask, position_ids=position,
                  past_key_values=cache, use_cache=True, logits_to_keep=1)
        logp = out.logits[:, -1].float().log_softmax(-1)
        logp[done] = NEG_INF
        logp[done, eos] = 0.0  # an ended hypothesis only repeats EOS, at no cost
        vocab = logp.shape[-1]
        scores, index = (scores[:, None] + logp).view(batch, beam * vocab).topk(beam, -1)
        source = (index // vocab + offsets).view(-1)
        hyps, scores = torch.cat([hyps[source], (index % vocab).view(-1, 1)], 1), scores.view(-1)
        cache.reorder_cache(source)
    best = scores.view(batch, beam).argmax(-1) + offsets[:, 0]
    results = []
    for row in best.tolist():
        ids = hyps[row].tolist()
        results.append((ids[: ids.index(eos)] if eos in ids else ids, float(scores[row])))
    return results


def decode_data_dir(model: AVSRModel, data_dir: Path, caches: dict[str, Path], task: str, rates: dict,
                    config: AVSRDecodeConfig, out_dir: Path) -> int:
    """Decode every utterance of DATA/text for `task` from caches {"audio": dir, "video": dir} (those the task
    reads) into the decode dir OUT; returns the utterance count."""
    utts = sorted(read_dict(Path(data_dir) / "text"))
    sources = {m: load_cache_covering(caches[m], utts, Path(data_dir) / "text") for m in MODALITIES[task]}
    device = model.markers.device
    (Path(out_dir) / "text").unlink(missing_ok=True)  # unfinished until written again
    text, score, tokens, start = {}, {}, {m: 0 for m in sources}, time.perf_counter()
    batches = [utts[i: i + config.batch_size] for i in range(0, len(utts), config.batch_size)]
    for batch in progress_bar(batches, total=len(batches), description=f"avsr decode {task}"):
        inputs = {m: tuple(t.to(device) for t in s.batch(batch)) for m, s in sources.items()}
        for m, (_, lens) in inputs.items():
            tokens[m] += int(((lens + rates[m] - 1) // rates[m]).sum())
        for utt, (ids, value) in zip(batch, beam_search(model, task, inputs, rates, config)):
            text[utt] = " ".join(model.tokenizer.decode(ids, skip_special_tokens=True).split())
            score[utt] = f"{value:.4f}"
    seconds = time.perf_counter() - start
    cost = {"task": task, "rates": rates, "utterances": len(utts), "seconds_per_utterance": seconds / len(utts),
            **{f"{m}_tokens_per_utterance": n / len(utts) for m, n in tokens.items()}}
    with atomic_write(Path(out_dir) / "cost.json") as f:
        json.dump(cost, f, indent=1)
    write_table(Path(out_dir) / "score", score)
    write_table(Path(out_dir) / "text", text)
    return len(utts)
