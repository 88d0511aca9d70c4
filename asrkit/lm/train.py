"""`asrkit lm train`: a language model over an ASR model's tokens on a text, by the shared training loop.

exp/<name>/ holds config.yaml (resolved, `kind: lm`), the token dir's files (tokens.txt, token_type, bpe.model: the
ASR model's, copied from TOKEN_DIR, a token dir or an ASR exp dir) and what the loop (asrkit/train/loop.py) writes:
checkpoint.pth, <N>epoch.pth for the n-best epochs by valid loss, valid.loss.ave.pth (their average), train.log and
images/loss.png. Validation: the --valid text, else the last `valid_lines` sentences of TEXT (held out of training).
One process: a small LM on a domain's text trains in minutes on a CPU.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path

from asrkit.asr.batching import bucket_batches
from asrkit.data.tokens import Tokenizer, copy_token_dir
from asrkit.errors import AsrkitError
from asrkit.lm.model import LanguageModel
from asrkit.lm.text import read_sentences, training_ids
from asrkit.train.distributed import Distributed
from asrkit.train.loop import seed_everything, set_up_logging, train_loop
from asrkit.train.options import LoopOptions, check_resumable, write_exp_config
from asrkit.train.params import load_training_config

log = logging.getLogger("asrkit.lm")


@dataclass(kw_only=True)
class LMTrainConfig(LoopOptions):
    lm: str = "seq_rnn"  # espnet2 LM class (ESPnet's `lm:`): seq_rnn (SequentialRNNLM) or transformer (TransformerLM)
    lm_conf: dict = field(default_factory=dict)  # that class's arguments, e.g. seq_rnn: unit, nlayers, rnn_type
    kind: str = "lm"  # what the exp dir holds, for the exp-dir loader (asrkit/expdir.py)
    max_epoch: int = 20  # epochs to train (a resumed run continues up to it)
    batch_tokens: int = 4000  # cap on padded tokens per batch (longest sentence + 1, x batch size)
    valid_lines: int = 100  # without --valid: the last sentences of TEXT held out to validate
    inputs: dict = field(default_factory=dict)  # filled in the exp dir's copy: where the text came from

    @classmethod
    def load(cls, path) -> "LMTrainConfig":
        return load_training_config(cls, path, "LM training", "lm", "`asrkit lm train`")


@dataclass
class LMInputs:
    text: Path  # data dir or Kaldi text (or, with plain, one sentence per line) to train on
    token_dir: Path  # the ASR model's token dir, or its exp dir
    valid: Path | None = None  # text to validate on (same format); None: TEXT's last valid_lines sentences
    plain: bool = False  # text and valid are plain text, one sentence per line
    unk: bool = False  # map tokens outside the token list to <unk> (else: an error naming the line)


def prepare_exp_dir(exp_dir: Path, config_file: Path, inputs: LMInputs, resume: bool = False) -> LMTrainConfig:
    """Copy the token list and the resolved config into the exp dir, so it stands on its own (a resumed run: with
    the options and inputs it was trained with, check_resumable)."""
    config = LMTrainConfig.load(config_file)
    resolved = {**config.__dict__, "inputs": {k: str(v) for k, v in inputs.__dict__.items()}}
    check_resumable(exp_dir, resolved, resume)
    exp_dir.mkdir(parents=True, exist_ok=True)
    copy_token_dir(inputs.token_dir, exp_dir)
    write_exp_config(exp_dir, resolved)
    return config


def load_texts(inputs: LMInputs, tokenizer: Tokenizer, valid_lines: int) -> tuple[list[list[int]], list[list[int]]]:
    """Train and valid sentences as token ids; sentences with unknown tokens as --unk says."""
    train, mapped = training_ids(read_sentences(inputs.text, inputs.plain), tokenizer, inputs.token_dir, inputs.unk)
    if inputs.valid is not None:
        valid, valid_mapped = training_ids(read_sentences(inputs.valid, inputs.plain), tokenizer, inputs.token_dir,
                                           inputs.unk)
        mapped += valid_mapped
    elif len(train) <= valid_lines:
        raise AsrkitError(f"{inputs.text}: {len(train)} sentences leave none to train on after {valid_lines} for "
                          f"validation (give --valid, or lower valid_lines)")
    else:
        train, valid = train[: len(train) - valid_lines], train[len(train) - valid_lines :]
    if mapped:
        log.info(f"{mapped} tokens outside {inputs.token_dir}/tokens.txt mapped to <unk>")
    if not valid:
        raise AsrkitError(f"{inputs.valid}: no sentence to validate on")
    return train, valid


def _batches(utts: list[list[int]], batch_tokens: int) -> list[list[list[int]]]:
    lengths = {str(i): len(ids) + 1 for i, ids in enumerate(utts)}  # + <eos>
    return [[utts[int(i)] for i in batch] for batch in bucket_batches(lengths, batch_tokens)]


def train_lm(exp_dir: Path, config_file: Path, inputs: LMInputs, resume: bool = False) -> Path:
    """Train as config_file says; returns the averaged model file."""
    exp_dir = Path(exp_dir)
    config = prepare_exp_dir(exp_dir, config_file, inputs, resume)
    set_up_logging(exp_dir / "train.log", is_main=True)
    tokenizer = Tokenizer.from_dir(exp_dir)
    train, valid = load_texts(inputs, tokenizer, config.valid_lines)
    log.info(f"{len(train)} train / {len(valid)} valid sentences, {sum(map(len, train))} train tokens")
    seed_everything(config.seed)
    lm = LanguageModel(config.lm, config.lm_conf, tokenizer.vocab_size, str(config_file))
    dist_env = Distributed(single=True)

    def step(model, batch: list[list[int]]) -> dict:
        return model(*(t.to(dist_env.device) for t in lm.batch(batch)))

    return train_loop(exp_dir, lm, config, step, _batches(train, config.batch_tokens),
                      _batches(valid, config.batch_tokens), dist_env, config_file, resume)
