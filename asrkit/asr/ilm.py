"""The attention decoder's internal language model (ILM) and its perplexity on a text: `asrkit ilm-ppl`.

The ILM is the decoder with no acoustic context, as DeCRED's reference measures it (github BUTSpeechFIT/DeCRED,
src/analysis/compute_ilm_ppl.ipynb, which calls its GPT-2 decoder without encoder states, so GPT-2 leaves out its
cross-attention blocks): in every decoder layer the source-attention sub-layer is skipped, residual branch and all.
It is not fed zeros or an all-zero memory: attention over any memory still adds its output projection's bias, an
acoustic-side term the ILM must not have. `<sos>` is prepended; each utterance is scored on its tokens and `<eos>`,
its perplexity being exp(mean NLL over them). Figures, for the final layer and each DeCRED head separately:
    mean     the mean over utterances of the per-utterance perplexities (the figure the reference reports)
    corpus   exp(total NLL / total tokens)
An utterance with a token outside the token list (one that would need `<unk>`, or `<unk>` itself) is excluded and
counted, as SRILM counts OOVs; nothing is mapped to `<unk>`.

Files: OUT/summary.json (the figures and counts), OUT/oov (`uttid token`: each excluded utterance and its first
token outside the list). OUT defaults to EXP/ilm_ppl/<set>, <set> being the data dir of a `text` file (else the
file's name); `asrkit results` gathers EXP/ilm_ppl/*/summary.json into RESULTS.md. The reporting (perplexity_report,
figures) is any token scorer's: `asrkit lm ppl` (asrkit/lm/ppl.py) writes the same summary for an external LM.
"""

import json
import math
from pathlib import Path
from typing import Callable

import torch
from espnet.nets.pytorch_backend.nets_utils import make_pad_mask
from espnet.nets.pytorch_backend.transformer.add_sos_eos import add_sos_eos
from espnet.nets.pytorch_backend.transformer.mask import subsequent_mask

from asrkit.asr.batching import pad
from asrkit.asr.incremental_decoder import pre_norm_layers
from asrkit.asr.model import IGNORE_ID, ASRModel
from asrkit.data.datadir import write_table
from asrkit.data.tokens import Tokenizer
from asrkit.errors import AsrkitError
from asrkit.fileio import atomic_write
from asrkit.lm.text import known_ids, read_sentences
from asrkit.progress import make_progress
from asrkit.scoring import ILM_DIR


def default_out_dir(exp_dir: Path, text: Path, subdir: str = ILM_DIR) -> Path:
    """EXP/<subdir>/<set>: data/test/text gives `test`, lm/other.txt gives `other`."""
    return Path(exp_dir) / subdir / (text.parent.name if text.name == "text" else text.stem)


def ilm_logits(model: ASRModel, ys_in: torch.Tensor, ys_in_lens: torch.Tensor):
    """Logits (B, L, V) of the final layer and the list of each DeCRED head's: the decoder on ys_in (B, L), which
    starts with <sos>, with every layer's source-attention sub-layer left out."""
    decoder = model.decoder
    mask = (~make_pad_mask(ys_in_lens, maxlen=ys_in.size(1)))[:, None, :].to(ys_in.device)
    mask = mask & subsequent_mask(ys_in.size(1), device=ys_in.device).unsqueeze(0)
    x, outputs = decoder.embed(ys_in), []
    for layer in pre_norm_layers(model, "the ILM"):
        normed = layer.norm1(x)
        x = x + layer.dropout(layer.self_attn(normed, normed, normed, mask))
        x = x + layer.dropout(layer.feed_forward(layer.norm3(x)))
        outputs.append(x)
    return decoder.output_layer(decoder.after_norm(x)), model.decred_logits(outputs)


def output_names(model: ASRModel) -> list[str]:
    """"final", then "head<layer>" for each DeCRED head: the order ilm_nll returns them in."""
    return ["final", *(f"head{layer}" for layer in model.config.decred.layers)]


def ilm_nll(model: ASRModel, utts: list[list[int]]) -> dict[str, torch.Tensor]:
    """Each output's total NLL (nats) per utterance (B,), over its tokens and <eos>; on the model's device."""
    device = model.decoder.embed[0].weight.device
    ys, lens = pad([torch.tensor(ids, dtype=torch.long) for ids in utts], IGNORE_ID)
    ys_in, ys_out = add_sos_eos(ys.to(device), model.sos, model.eos, IGNORE_ID)
    final, heads = ilm_logits(model, ys_in, lens.to(device) + 1)
    return {name: torch.nn.functional.cross_entropy(logits.transpose(1, 2), ys_out, ignore_index=IGNORE_ID,
                                                    reduction="none").sum(1)
            for name, logits in zip(output_names(model), [final, *heads])}


@torch.no_grad()
def ilm_perplexity(model: ASRModel, tokenizer: Tokenizer, text: Path, out_dir: Path, batch_size: int = 32) -> dict:
    """Score TEXT with the model's ILM (model in eval mode); writes OUT/summary.json (and OUT/oov) and returns it."""
    utts, oov = known_ids(read_sentences(text), tokenizer)
    return perplexity_report(lambda batch: ilm_nll(model, batch), utts, oov, text, out_dir, batch_size, "ilm-ppl")


def perplexity_report(nll: Callable[[list[list[int]]], dict[str, torch.Tensor]], utts: dict[str, list[int]],
                      oov: dict[str, str], text: Path, out_dir: Path, batch_size: int, what: str) -> dict:
    """The perplexity figures of every output of a scorer on utts (uttid -> token ids), in length-sorted batches:
    nll(batch) gives each output's total NLL per utterance over its tokens and <eos>. oov (uttid -> first token
    outside the list) are the excluded utterances. Writes OUT/summary.json (and OUT/oov) and returns the summary."""
    if not utts:
        raise AsrkitError(f"{text}: no utterance to score ({len(oov)} with tokens outside the model's token list)")
    order = sorted(utts, key=lambda u: (-len(utts[u]), u))
    totals = {}
    with make_progress() as progress:
        task = progress.add_task(what, total=len(order), status="")
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            for name, values in nll([utts[u] for u in batch]).items():
                totals.setdefault(name, []).extend(values.tolist())
            progress.update(task, advance=len(batch))
    summary = _summary(text, [len(utts[u]) + 1 for u in order], totals, len(oov))
    with atomic_write(Path(out_dir) / "summary.json") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    (Path(out_dir) / "oov").unlink(missing_ok=True)  # an earlier run's
    if oov:
        write_table(Path(out_dir) / "oov", oov)
    return summary


def _summary(text: Path, lengths: list[int], nll: dict[str, list[float]], oov_count: int) -> dict:
    tokens = sum(lengths)
    perplexity = {name: {"mean": sum(math.exp(v / n) for v, n in zip(values, lengths)) / len(lengths),
                         "corpus": math.exp(sum(values) / tokens)}
                  for name, values in nll.items()}
    return {"text": str(text), "utterances": len(lengths), "oov_utterances": oov_count, "tokens": tokens,
            "perplexity": perplexity}


def figures(summary: dict, prefix: str = "ilm") -> list[tuple[str, float, str]]:
    """The summary as (name, value, unit) figures, one per stdout line, named <prefix>_..."""
    lines = [(f"{prefix}_utterances", summary["utterances"], "utts"),
             (f"{prefix}_oov_utterances", summary["oov_utterances"], "utts"),
             (f"{prefix}_tokens", summary["tokens"], "tokens")]
    for name, ppl in summary["perplexity"].items():
        lines += [(f"{prefix}_ppl_{name}_mean", round(ppl["mean"], 3), "ppl"),
                  (f"{prefix}_ppl_{name}_corpus", round(ppl["corpus"], 3), "ppl")]
    return lines
