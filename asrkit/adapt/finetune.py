"""`asrkit adapt run`: fine-tune an ASR exp dir's decoder on target-domain text, encoder and CTC frozen.

Methods and the arms of their batches (every step draws `batch_size` utterances, shared out by `mix`):
    tts       source + tts
    tle       source + tle
    tle+tts   source + tle + tts
  source  real paired source utterances: the base encoder's cached outputs (asrkit/train/cache.py) and their text
  tle     target sentences through the frozen TLE (asrkit/adapt/tle.py): z drawn from its posterior, T from its length
          model, new draws every step
  tts     a synthesized data dir of target text (`asrkit synth`): the base encoder's cached outputs and its text
The encoder never trains, so its cached outputs are exactly what it would give (without SpecAugment: the frozen
encoder's input is not augmented here). The training loop (asrkit/train/loop.py) runs `valid_every` steps an epoch,
validates the decoder on the source dev set's cached outputs, keeps the best epoch by accuracy (keep_nbest) and stops
after `patience` epochs without a better one. freeze_param (default encoder, ctc) leaves those tensors bit-identical
to the base's; with save_frozen false the checkpoints hold only the trained tensors and the rest comes from BASE_EXP.

OUT is an ordinary asr exp dir (config.yaml with kind asr, the base's model section, init_param = BASE_EXP; the base's
tokens, cmvn.npz, fbank.yaml (a lip-reading base's roi.yaml); valid.acc.ave.pth), so decode, export, pack and
transcribe use it unchanged, and OUT/summary.json holds the source dev WER/CER before and after (beam search with the
config's `decode`), the arms, epochs run and the number of target tokens mapped to <unk>. Every draw is seeded per
epoch: `--resume` after a kill continues to the state an uninterrupted run reaches.
"""

import json
import logging
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from asrkit.adapt.latents import error_rate, read_latents
from asrkit.adapt.tle_train import paired_set
from asrkit.asr.batching import FeatureSet, pad
from asrkit.asr.decoding import DecodeConfig
from asrkit.asr.model import IGNORE_ID
from asrkit.asr.train import Batch
from asrkit.config import from_mapping, load_config
from asrkit.data.tokens import copy_token_dir
from asrkit.errors import AsrkitError, ConfigError
from asrkit.expdir import build_asr, load_asr, load_tle, model_path, read_config
from asrkit.fileio import atomic_write, copy_file
from asrkit.lm.text import read_sentences, training_ids
from asrkit.train.cache import encoder_key
from asrkit.train.distributed import Distributed
from asrkit.train.loop import set_up_logging, train_loop
from asrkit.train.options import LoopOptions, check_resumable, write_exp_config

log = logging.getLogger("asrkit.train")
METHODS = {"tts": ("source", "tts"), "tle": ("source", "tle"), "tle+tts": ("source", "tle", "tts")}
# What the adapted exp dir copies from the base besides its token dir: CMVN and the features its model reads
# (asrkit/expdir.py feature_config: fbank.yaml, or roi.yaml for `frontend: video_roi`).
EXP_FILES = ("cmvn.npz", "fbank.yaml", "roi.yaml")


@dataclass(kw_only=True)
class AdaptConfig(LoopOptions):
    kind: str = "asr"  # the adapted exp dir is an ordinary asr exp dir
    steps: int = 500  # optimizer steps at most
    valid_every: int = 50  # steps per loop epoch: the decoder's loss and accuracy on the source dev set after each
    patience: int = 3
    batch_size: int = 16  # utterances per step, shared out between the method's arms by `mix`
    mix: dict = field(default_factory=lambda: {"source": 1.0, "tle": 1.0, "tts": 1.0})  # arm shares of a batch
    lr: float = 0.0001
    warmup_steps: int = 25
    keep_nbest: int = 1  # by source dev accuracy; 1: the best epoch alone
    freeze_param: list = field(default_factory=lambda: ["encoder", "ctc"])  # left bit-identical to the base's
    init_param: list = field(default_factory=list)  # filled in: BASE_EXP (everything starts from the base model)
    decode: dict = field(default_factory=lambda: {"beam_size": 4})  # DecodeConfig of the summary's dev WER
    model: dict = field(default_factory=dict)  # filled in: the base's model section
    inputs: dict = field(default_factory=dict)  # filled in: base, method, text, tle, data dirs, caches

    @property
    def max_epoch(self) -> int:
        return math.ceil(self.steps / self.valid_every)

    @classmethod
    def load(cls, path) -> "AdaptConfig":
        config = load_config(cls, path, "adaptation")
        unknown = set(config.mix) - {arm for arms in METHODS.values() for arm in arms}
        if unknown or any(w < 0 for w in config.mix.values()):
            raise ConfigError(f"{path}: mix: arms are source, tle, tts with weights >= 0 (found {config.mix})")
        from_mapping(DecodeConfig, config.decode, f"{path}: decode", "decoding")
        if config.kind != "asr" or config.valid_every < 1 or config.steps < 1:
            raise ConfigError(f"{path}: kind must be asr, steps and valid_every at least 1")
        return config


def arm_sizes(config: AdaptConfig, method: str, origin) -> dict[str, int]:
    """Utterances per step of each of the method's arms: batch_size shared by the mix weights (renormalised over
    the method's arms; an arm absent from mix weighs 0), at least 1 each."""
    arms = METHODS[method]
    weights = {arm: float(config.mix.get(arm, 0.0)) for arm in arms}
    if not sum(weights.values()) or config.batch_size < len(arms):
        raise ConfigError(f"{origin}: mix {config.mix} and batch_size {config.batch_size} leave no room for the "
                          f"arms of {method} ({', '.join(arms)})")
    return {arm: max(1, round(config.batch_size * w / sum(weights.values()))) for arm, w in weights.items()}


class PairedArm:
    """Cached encoder outputs with their transcripts: draws random utterances."""

    def __init__(self, data: FeatureSet):
        self.data, self.utts = data, sorted(data.num_frames)

    def draw(self, count: int, device) -> tuple:
        utts = random.sample(self.utts, count) if count <= len(self.utts) else random.choices(self.utts, k=count)
        return tuple(t.to(device) for t in self.data.batch(utts))


class TLEArm:
    """Target sentences through a frozen TLE: draws random sentences and fresh latents (z sampled)."""

    def __init__(self, tle, sentences: list[list[int]]):
        self.tle, self.sentences = tle, sentences

    def draw(self, count: int, device) -> tuple:
        chosen = [torch.tensor(s) for s in random.choices(self.sentences, k=count)]
        ys, ys_lens = pad(chosen, IGNORE_ID)
        enc, enc_lens = self.tle.to(device).generate(ys.to(device), ys_lens.to(device), sample=True)
        return enc, enc_lens, ys.to(device), ys_lens.to(device)


def concat(parts: list[tuple]) -> tuple:
    """One batch (enc, enc_lens, ys, ys_lens) from several, padded to the longest (frames with 0, tokens IGNORE_ID)."""
    frames, tokens = max(p[0].size(1) for p in parts), max(p[2].size(1) for p in parts)
    enc = torch.cat([torch.nn.functional.pad(p[0], (0, 0, 0, frames - p[0].size(1))) for p in parts])
    ys = torch.cat([torch.nn.functional.pad(p[2], (0, tokens - p[2].size(1)), value=IGNORE_ID) for p in parts])
    return enc, torch.cat([p[1] for p in parts]), ys, torch.cat([p[3] for p in parts])


@dataclass
class Draw:
    """One training step's batch: `sizes[arm]` utterances from each arm, drawn when the step runs."""

    sizes: dict[str, int]

    def __len__(self):
        return sum(self.sizes.values())


@dataclass
class Inputs:
    source_data: Path  # the base's paired training data (a data dir with text; features or audio)
    dev_data: Path  # source dev data dir: validation, early stopping and the summary's WER
    text: Path | None = None  # target text, one sentence a line (tle, tle+tts)
    tle: Path | None = None  # `asrkit adapt tle-train` exp dir made for the base (tle, tle+tts)
    synth_data: Path | None = None  # data dir of target text synthesized by `asrkit synth` (tts, tle+tts)
    cache_dir: Path | None = None  # where the encoder caches go (default OUT/cache), one sub-dir per data dir


def adapt(base_exp: Path, out_dir: Path, method: str, config_file: Path, inputs: Inputs, unk: bool = False,
          resume: bool = False) -> dict:
    """Fine-tune BASE_EXP's decoder into OUT by `method`; returns the summary written to OUT/summary.json."""
    base_exp, out_dir, start = Path(base_exp), Path(out_dir), time.time()
    if method not in METHODS:
        raise ConfigError(f"--method {method} is not one of {', '.join(METHODS)}")
    config = AdaptConfig.load(config_file)
    sizes = arm_sizes(config, method, config_file)
    _check_inputs(method, inputs)
    _prepare_exp_dir(base_exp, out_dir, config, method, inputs, resume)
    set_up_logging(out_dir / "train.log", True)
    model, tokenizer = build_asr(out_dir)
    sentences, mapped = (training_ids(read_sentences(inputs.text, plain=True), tokenizer, base_exp, unk)
                         if "tle" in sizes else ([], 0))
    if "tle" in sizes and not sentences:
        raise AsrkitError(f"{inputs.text}: no target text (every line is blank)")
    cache_root = Path(inputs.cache_dir or out_dir / "cache")
    dev = paired_set(base_exp, inputs.dev_data, cache_root / "dev", tokenizer)
    arms = _arms(base_exp, inputs, sizes, tokenizer, cache_root, sentences)
    log.info(f"{len(sentences)} target sentences; {mapped} tokens mapped to <unk>")
    dist_env = Distributed(single=True)

    def step(model, batch) -> dict:
        if isinstance(batch, Draw):
            enc, enc_lens, ys, ys_lens = concat([arms[arm].draw(n, dist_env.device) for arm, n in batch.sizes.items()])
        else:
            enc, enc_lens, ys, ys_lens = (t.to(dist_env.device) for t in batch.data.batch(batch.utts))
        loss, acc, aux = model.decoder_loss(enc, enc_lens, ys, ys_lens)
        return dict(loss=loss, acc=acc, **aux)

    dev_utts = sorted(dev.num_frames)
    valid = [Batch(dev, dev_utts[i:i + config.batch_size]) for i in range(0, len(dev_utts), config.batch_size)]
    train_loop(out_dir, model, config, step, [Draw(sizes)] * config.valid_every, valid, dist_env, config_file, resume)
    summary = {"method": method, "arms": sizes, "epochs": _epochs_run(out_dir), "unk_mapped": mapped,
               **_dev_error_rates(base_exp, out_dir, dev, DecodeConfig(**config.decode)),
               "seconds": round(time.time() - start, 1)}
    with atomic_write(out_dir / "summary.json") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    log.info(f"adapt {method}: {summary}")
    return summary


def _arms(base_exp: Path, inputs: Inputs, sizes: dict, tokenizer, cache_root: Path, sentences: list) -> dict:
    """The method's arms by name: source (and tts) from the base encoder's caches under cache_root, tle from the
    frozen TLE and the target sentences' token ids."""
    arms = {"source": PairedArm(paired_set(base_exp, inputs.source_data, cache_root / "source", tokenizer))}
    if "tts" in sizes:
        # one cache per synthesized set: two voices' sets (their own utterance ids or not) never share outputs
        synth_cache = cache_root / f"synth_{Path(inputs.synth_data).name}"
        arms["tts"] = PairedArm(paired_set(base_exp, inputs.synth_data, synth_cache, tokenizer))
    if "tle" in sizes:
        arms["tle"] = TLEArm(_frozen_tle(inputs.tle, base_exp), sentences)
    return arms


def _check_inputs(method: str, inputs: Inputs):
    needs = {"tle": ("text", "tle"), "tts": ("synth_data",)}
    for arm in METHODS[method]:
        for name in needs.get(arm, ()):
            if getattr(inputs, name) is None:
                raise ConfigError(f"--method {method} needs --{name.replace('_', '-')}")


def _prepare_exp_dir(base_exp: Path, out_dir: Path, config: AdaptConfig, method: str, inputs: Inputs, resume: bool):
    """The base's token dir, CMVN and fbank config, and config.yaml: the base's model, init_param = the base, and
    `inputs` (base and its encoder's key, method, data dirs, text, TLE). A resumed run must have the options and
    inputs of the run it continues (check_resumable), `steps`, `decode` and the cache's place aside."""
    base = read_config(base_exp, "asr")
    config.model = base["model"]
    # a base saved without its frozen part (save_frozen: false) gets it from its own init_param sources first
    inherited = [] if base.get("save_frozen", True) else base.get("init_param", [])
    config.init_param = [*inherited, str(base_exp.resolve())]
    config.inputs = {"base_exp": str(base_exp.resolve()), "method": method,
                     "encoder_key": encoder_key(base_exp, model_path(base_exp, "asr")),  # a base retrained in place
                     **{k: str(Path(v).resolve()) for k, v in inputs.__dict__.items() if v is not None}}
    # steps is this config's max_epoch; decode only measures; the cache holds the same encoder outputs anywhere
    check_resumable(out_dir, config.__dict__, resume, may_change=("steps", "decode", "inputs.cache_dir"))
    out_dir.mkdir(parents=True, exist_ok=True)
    copy_token_dir(base_exp, out_dir)
    for name in EXP_FILES:
        if (base_exp / name).exists():
            copy_file(base_exp / name, out_dir / name)
    write_exp_config(out_dir, config.__dict__)


def _frozen_tle(tle_exp: Path, base_exp: Path):
    """TLE_EXP's model, which must have been trained against BASE_EXP's encoder and token list."""
    tle, _, raw = load_tle(tle_exp)
    if raw["inputs"].get("encoder_key") != encoder_key(base_exp, model_path(base_exp, "asr")):
        raise AsrkitError(f"{tle_exp}: this TLE was trained against another encoder than {base_exp}'s "
                          f"({raw['inputs'].get('asr_exp')}); train one for this model (asrkit adapt tle-train)")
    if (Path(tle_exp) / "tokens.txt").read_bytes() != (base_exp / "tokens.txt").read_bytes():
        raise AsrkitError(f"{tle_exp}/tokens.txt differs from {base_exp}/tokens.txt")
    for param in tle.parameters():
        param.requires_grad_(False)
    return tle


def _epochs_run(out_dir: Path) -> int:
    return torch.load(out_dir / "checkpoint.pth", map_location="cpu", weights_only=False)["epoch"]


def _dev_error_rates(base_exp: Path, out_dir: Path, dev: FeatureSet, decode: DecodeConfig) -> dict:
    """Source dev WER and CER of the base model and of the adapted one, both reading the base encoder's outputs."""
    utts = sorted(dev.num_frames)
    rates = {}
    for name, exp in (("before", base_exp), ("after", out_dir)):
        model, tokenizer = load_asr(exp)
        refs = {utt: tokenizer.decode(dev.targets[utt]) for utt in utts}
        hyps = read_latents(model, tokenizer, lambda chunk: dev.batch(chunk)[:2], utts, decode)
        for metric in ("wer", "cer"):
            rates[f"dev_{metric}_{name}"] = error_rate(refs, hyps, metric)
    return rates
