"""Stage 4, finetune: the ASR fine-tuned from the current model (init_param) on the round's mix.

The model keeps the current exp dir's architecture, token list, CMVN and features; the refine YAML's `finetune`
section sets the training options. Validation is the labelled target-domain dev set when the config names one
(dev_data: its accuracy ranks the epochs, and the round's model averages the best keep_nbest of them, a form of early
stopping on the target domain), else `valid_utts` utterances held out of the mix.
STAGE/
    train/, dev/  data dirs with features (fbank/ holds the arks)
    mix/, mix.json   the mix and its utterance count by source (`new`, `original`)
    train.yaml    the training config
    asr/          the fine-tuned exp dir (asrkit train; resumes from its checkpoint.pth when re-run)
"""

import json
import random
from pathlib import Path

import yaml

from asrkit.data.datadir import read_dict, subset_data_dir
from asrkit.fileio import atomic_write
from asrkit.refine.config import RefineConfig
from asrkit.refine.mix import mix_data_dir


def finetune_stage(config: RefineConfig, current_exp: Path, parts: list[Path], stage_dir: Path) -> Path:
    """Mix, make features, train; returns the fine-tuned exp dir."""
    from asrkit.asr.train import Inputs, train
    from asrkit.data.features import compute_fbank_job, merge_feature_jobs
    from asrkit.expdir import fbank_config

    mix = mix_data_dir(parts, config.train_data, config.finetune.original_ratio, config.seed, stage_dir / "mix")
    with atomic_write(stage_dir / "mix.json") as f:
        json.dump(mix, f)
    train_dir, dev_dir = _split(config, stage_dir / "mix", stage_dir)
    for data in (train_dir, dev_dir):
        compute_fbank_job(data, stage_dir / "fbank" / data.name, fbank_config(current_exp))
        merge_feature_jobs(data, stage_dir / "fbank" / data.name, 1)
    write_train_config(config, current_exp, stage_dir / "train.yaml", mix)
    train(stage_dir / "asr", stage_dir / "train.yaml", Inputs(train_dir, dev_dir, current_exp, current_exp / "cmvn.npz"),
          resume=True, init=current_exp)
    return stage_dir / "asr"


def _split(config: RefineConfig, mix: Path, stage_dir: Path) -> tuple[Path, Path]:
    """(train, dev) data dirs: the dev set as given, or a seeded hold-out of the mix."""
    text = read_dict(mix / "text")
    if config.dev_data:
        dev_text = read_dict(Path(config.dev_data) / "text")
        dev = subset_data_dir(config.dev_data, sorted(dev_text), dev_text, stage_dir / "dev")
        return subset_data_dir(mix, sorted(text), text, stage_dir / "train"), dev
    held = set(random.Random(f"{config.seed}/valid").sample(sorted(text), min(config.finetune.valid_utts, len(text) // 2)))
    return (subset_data_dir(mix, sorted(set(text) - held), text, stage_dir / "train"),
            subset_data_dir(mix, sorted(held), text, stage_dir / "dev"))


def write_train_config(config: RefineConfig, current_exp: Path, path: Path, mix: dict):
    """The current model's architecture with the finetune section's training options."""
    from asrkit.expdir import read_config

    options = {k: v for k, v in config.finetune.__dict__.items() if k not in ("original_ratio", "valid_utts")}
    model = read_config(current_exp, "asr")["model"]
    with atomic_write(path) as f:
        f.write(f"# asrkit refine: fine-tune {current_exp} on {mix['new']} new + {mix['original']} original utterances\n")
        yaml.safe_dump({"seed": config.seed, **options, "model": model}, f, sort_keys=False)
