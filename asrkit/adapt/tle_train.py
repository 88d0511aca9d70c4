"""`asrkit adapt tle-train`: train a text-to-latent VAE (asrkit/adapt/tle.py) for an ASR exp dir, on paired data,
against its frozen encoder's outputs, by the shared training loop; then measure it.

The encoder's outputs over DATA are cached first (asrkit/train/cache.py; a cache made by this model is reused).
`heldout` utterances of DATA (drawn by the seed) are held out: the loop validates on them and the summary measures
on them. OUT is a `kind: tle` exp dir:
    config.yaml        the resolved config; inputs: asr_exp, data, encoder_key (of the ASR exp's encoder, so a
                       fine-tune refuses a TLE made for another encoder), out_size (D), cache
    tokens.txt, token_type (+ bpe.model)    the ASR exp's, so the TLE reads the same token ids
    heldout            the held-out utterance ids, one a line
    valid.recon.ave.pth, checkpoint.pth, <N>epoch.pth, train.log, images/   the loop's files
    summary.json       on the held-out utterances: reconstruction L1 and MSE (posterior mean, true T), the length
                       model's relative error (mean, max, share within 10 %), and the CER and WER of the ASR exp's
                       *unadapted* decoder (beam search by `decode`, CTC weight 0) reading the TLE's latents
                       (posterior mean, predicted T) and, for reference, reading the real encoder outputs
With resume, a finished run (summary.json) with the same config and inputs is returned as it is, not measured again;
an unfinished one continues from its checkpoint, refused when its options or inputs differ (`decode` and the cache's
place aside).
"""

import json
import math
import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

import torch
import yaml

from asrkit.adapt.latents import error_rate, read_latents
from asrkit.adapt.tle import TLE, TLEConfig
from asrkit.asr.batching import FeatureSet, bucket_batches, pad
from asrkit.asr.decoding import DecodeConfig
from asrkit.asr.train import Batch
from asrkit.config import from_mapping
from asrkit.data.datadir import read_dict
from asrkit.data.tokens import copy_token_dir
from asrkit.errors import ConfigError
from asrkit.expdir import load_asr, load_tle, model_path
from asrkit.fileio import atomic_write
from asrkit.train.cache import cache_encoder, encoder_key, load_cache
from asrkit.train.distributed import Distributed
from asrkit.train.loop import seed_everything, set_up_logging, train_loop
from asrkit.train.options import LoopOptions, check_resumable, write_exp_config
from asrkit.train.params import load_training_config

log = logging.getLogger("asrkit.train")


@dataclass(kw_only=True)
class TLETrainConfig(LoopOptions):
    model: dict = field(default_factory=dict)  # TLEConfig (asrkit/adapt/tle.py): sizes, recon, beta, free bits
    kind: str = "tle"  # what the exp dir holds, for the exp-dir loader (asrkit/expdir.py)
    max_epoch: int = 30  # epochs over the training utterances
    batch_frames: int = 4000  # cap on padded encoder-output frames per batch (longest x batch size)
    heldout: int = 20  # utterances of DATA held out of training: validation and the summary's measurements
    lr: float = 0.001
    warmup_steps: int = 100
    decode: dict = field(default_factory=lambda: {"beam_size": 4})  # DecodeConfig of the summary's decoding of
    #   latents (its ctc_weight is set to 0: the TLE is for the attention decoder, which reads latents without CTC)
    inputs: dict = field(default_factory=dict)  # filled in the exp dir's copy: where the model and data came from

    @classmethod
    def load(cls, path) -> "TLETrainConfig":
        config = load_training_config(cls, path, "TLE training", "tle", "`asrkit adapt tle-train`")
        from_mapping(TLEConfig, config.model, f"{path}: model", "TLE").check(f"{path}: model")
        from_mapping(DecodeConfig, config.decode, f"{path}: decode", "decoding")
        return config


def paired_set(asr_exp: Path, data_dir: Path, cache_dir: Path, tokenizer) -> FeatureSet:
    """DATA's cached encoder outputs (cached now unless done with this model) with DATA/text's token ids."""
    cache_encoder(asr_exp, data_dir, cache_dir)
    cache = load_cache(cache_dir, encoder_key(asr_exp, model_path(asr_exp, "asr")))
    text = read_dict(Path(data_dir) / "text")
    return FeatureSet(cache.feats, cache.num_frames, {utt: tokenizer.encode(text[utt]) for utt in cache.num_frames})


def split_heldout(utts: list[str], count: int, seed: int, origin) -> tuple[list[str], list[str]]:
    """(train, held-out) utterance ids: `count` drawn by `seed`, at least one left to train on."""
    if not 0 < count < len(utts):
        raise ConfigError(f"{origin}: heldout: {count}, but DATA has {len(utts)} utterances (need 0 < heldout < that)")
    heldout = sorted(random.Random(seed).sample(sorted(utts), count))
    chosen = set(heldout)
    return [u for u in sorted(utts) if u not in chosen], heldout


def train_tle(asr_exp: Path, data_dir: Path, out_dir: Path, config_file: Path, cache_dir: Path | None = None,
              resume: bool = False) -> dict:
    """Train OUT's TLE for ASR_EXP on DATA as config_file says; returns the summary written to OUT/summary.json."""
    out_dir, asr_exp = Path(out_dir), Path(asr_exp)
    config = TLETrainConfig.load(config_file)
    asr, tokenizer = load_asr(asr_exp)
    cache_dir = Path(cache_dir or out_dir / "cache")
    inputs = {"asr_exp": str(asr_exp.resolve()), "data": str(Path(data_dir).resolve()),
              "cache": str(cache_dir.resolve()), "encoder_key": encoder_key(asr_exp, model_path(asr_exp, "asr")),
              "out_size": asr.encoder.output_size()}
    resolved = {**config.__dict__, "inputs": inputs}
    if resume and finished(out_dir, resolved):
        set_up_logging(out_dir / "train.log", True)
        log.info(f"{out_dir}: trained and measured earlier with this config and encoder; summary.json reused")
        return json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    # decode only measures the summary; the cache holds the same encoder outputs wherever it is
    check_resumable(out_dir, resolved, resume, may_change=("decode", "inputs.cache"))
    out_dir.mkdir(parents=True, exist_ok=True)
    set_up_logging(out_dir / "train.log", True)
    data = paired_set(asr_exp, data_dir, cache_dir, tokenizer)
    train_utts, heldout = split_heldout(list(data.num_frames), config.heldout, config.seed, config_file)
    with atomic_write(out_dir / "heldout") as f:
        f.writelines(utt + "\n" for utt in heldout)
    copy_token_dir(asr_exp, out_dir)
    write_exp_config(out_dir, resolved)
    (out_dir / "summary.json").unlink(missing_ok=True)  # from here on the run is measured anew
    seed_everything(config.seed)
    model = TLE(from_mapping(TLEConfig, config.model, "model", "TLE"), tokenizer.vocab_size, inputs["out_size"])
    model.log_rate.fill_(sum(math.log(data.num_frames[u] / max(len(data.targets[u]), 1)) for u in train_utts)
                         / len(train_utts))
    dist_env = Distributed(single=True)

    def step(model, batch: Batch) -> dict:
        enc, enc_lens, ys, ys_lens = (t.to(dist_env.device) for t in batch.data.batch(batch.utts))
        return model(ys, ys_lens, enc, enc_lens)

    def batches(utts):
        return [Batch(data, b) for b in bucket_batches({u: data.num_frames[u] for u in utts}, config.batch_frames)]

    train_loop(out_dir, model, config, step, batches(train_utts), batches(heldout), dist_env, config_file, resume)
    summary = measure_tle(out_dir, asr, data, heldout, DecodeConfig(**{**config.decode, "ctc_weight": 0.0}))
    with atomic_write(out_dir / "summary.json") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    return summary


def finished(out_dir: Path, resolved: dict) -> bool:
    """Does OUT hold a summary of a run with exactly this config and these inputs (the encoder's key among them)?
    A run that changed either removed the summary when it started."""
    config_file = out_dir / "config.yaml"
    return ((out_dir / "summary.json").is_file() and config_file.is_file()
            and yaml.safe_load(config_file.read_text(encoding="utf-8")) == yaml.safe_load(yaml.safe_dump(resolved)))


@torch.no_grad()
def measure_tle(tle_exp: Path, asr, data: FeatureSet, utts: list[str], decode: DecodeConfig) -> dict:
    """The summary.json figures (module docstring) of TLE_EXP's averaged model on `utts` of `data`."""
    tle, tokenizer, _ = load_tle(tle_exp)
    real, real_lens, ys, ys_lens = data.batch(utts)
    mu, _, frames = tle.encode_text(ys, ys_lens)
    recon = tle.decode(mu, ys_lens, real_lens)
    valid = torch.arange(real.size(1)).unsqueeze(0) < real_lens.unsqueeze(1)
    diff = (recon - real)[valid]
    rel = ((frames - real_lens) / real_lens).abs()

    def tle_latents(chunk):
        return tle.generate(*pad([torch.tensor(data.targets[u]) for u in chunk], 0), sample=False)

    refs = {utt: tokenizer.decode(data.targets[utt]) for utt in utts}
    summary = {"heldout_utts": len(utts), "recon_l1": round(diff.abs().mean().item(), 4),
               "recon_mse": round(diff.pow(2).mean().item(), 4),
               "length_rel_err_mean": round(rel.mean().item(), 4), "length_rel_err_max": round(rel.max().item(), 4),
               "length_within_10pct": round((rel <= 0.1).float().mean().item(), 4)}
    for name, source in (("tle", tle_latents), ("real", lambda chunk: data.batch(chunk)[:2])):
        hyps = read_latents(asr, tokenizer, source, utts, decode)
        summary[f"{name}_cer"], summary[f"{name}_wer"] = error_rate(refs, hyps, "cer"), error_rate(refs, hyps, "wer")
    log.info(f"TLE on {len(utts)} held-out utterances: {summary}")
    return summary
