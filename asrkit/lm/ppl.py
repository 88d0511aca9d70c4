"""`asrkit lm ppl`: the perplexity of an LM exp dir on a text, reported as `asrkit ilm-ppl` reports the decoder's
internal LM (asrkit/asr/ilm.py perplexity_report): `<sos/eos>` is prepended, every token and `<eos>` is scored, and
the figures are the mean over sentences of their perplexities and exp(total NLL / total tokens), under the name `lm`.
Sentences with a token outside the token list are excluded and counted (OUT/oov: `key token`), never mapped to <unk>.

Files: OUT/summary.json, OUT/oov; OUT defaults to EXP/ppl/<set> (<set>: the data dir of a `text` file, else the
file's name).
"""

from pathlib import Path

import torch

from asrkit.asr.ilm import default_out_dir, perplexity_report
from asrkit.data.tokens import Tokenizer
from asrkit.lm.model import LanguageModel
from asrkit.lm.text import known_ids, read_sentences, text_file

PPL_DIR = "ppl"  # EXP/ppl/<set>/summary.json


def default_ppl_dir(exp_dir: Path, source: Path) -> Path:
    return default_out_dir(exp_dir, text_file(source), PPL_DIR)


@torch.no_grad()
def lm_perplexity(lm: LanguageModel, tokenizer: Tokenizer, source: Path, out_dir: Path, plain: bool = False,
                  batch_size: int = 32) -> dict:
    """Score SOURCE (data dir, Kaldi text, or with plain one sentence per line) with lm (eval mode); writes
    OUT/summary.json (and OUT/oov) and returns the summary."""
    utts, oov = known_ids(read_sentences(source, plain), tokenizer)
    return perplexity_report(lm.nll, utts, oov, text_file(source), out_dir, batch_size, "lm ppl")
