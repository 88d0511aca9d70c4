"""`asrkit train`: the E-Branchformer CTC/attention model on a data dir's features, by the shared training loop.

exp/<name>/ holds config.yaml (resolved, `kind: asr`), the token dir's files (tokens.txt, token_type, bpe.model),
cmvn.npz, fbank.yaml (TRAIN_DATA's, as merge-fbank wrote it; a lip-reading model, `frontend: video_roi`, trains on
DATA/roi.scp and keeps roi.yaml instead, without CMVN: the ROI stage normalises), and what the loop
(asrkit/train/loop.py) writes: checkpoint.pth, <N>epoch.pth for the n-best epochs by valid accuracy,
valid.acc.ave.pth (their average), train.log and images/{loss,acc}.png. Under torchrun, or as one rank per `srun`
task, the same command trains with DDP.
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path

from asrkit.asr.batching import FeatureSet, bucket_batches
from asrkit.asr.model import ModelConfig
from asrkit.data.datadir import DataDirError
from asrkit.data.features import FBANK, FeatureKind, check_features_fit
from asrkit.data.tokens import copy_token_dir
from asrkit.errors import ConfigError
from asrkit.expdir import build_asr, feature_kind
from asrkit.fileio import copy_file
from asrkit.train.distributed import Distributed
from asrkit.train.loop import seed_everything, set_up_logging, train_loop
from asrkit.train.options import LoopOptions, check_resumable, write_exp_config
from asrkit.train.params import load_training_config

log = logging.getLogger("asrkit.train")


@dataclass(kw_only=True)
class TrainConfig(LoopOptions):
    model: dict  # ModelConfig (asrkit/asr/model.py): input_size, encoder, decoder, ctc_weight, specaug, decred
    kind: str = "asr"  # what the exp dir holds, for the exp-dir loader (asrkit/expdir.py)
    max_epoch: int = 20  # epochs to train (a resumed run continues up to it)
    batch_frames: int = 20000  # cap on padded input frames per batch (longest utterance x batch size)
    weight_decay: float = 1e-6
    warmup_steps: int = 500
    keep_nbest: int = 5  # by valid accuracy
    inputs: dict = field(default_factory=dict)  # filled in the exp dir's copy: where the data came from

    @classmethod
    def load(cls, path, init: Path | None = None) -> "TrainConfig":
        """The training YAML; `init` (asrkit train --init) is shorthand for one more init_param entry."""
        config = load_training_config(cls, path, "training", "asr", "`asrkit train`", [str(init)] if init else [])
        ModelConfig.from_dict(config.model, f"{path}: model")
        return config


@dataclass
class Inputs:
    train_data: Path  # data dir with feats.scp, utt2num_frames, text and fbank.yaml (merge-fbank's), or roi.*
    valid_data: Path  # the same, features made with the same config
    token_dir: Path  # `asrkit tokens` output: tokens.txt, token_type (+ bpe.model)
    cmvn: Path | None  # global CMVN stats of the training fbank (compute-cmvn's .npz); None for ROI features


def prepare_exp_dir(exp_dir: Path, config_file: Path, inputs: Inputs, init: Path | None = None,
                    resume: bool = False) -> TrainConfig:
    """Copy everything decoding needs into the exp dir, so it stands on its own (a resumed run: with the options
    and inputs it was trained with, check_resumable)."""
    config = TrainConfig.load(config_file, init)
    resolved = {**config.__dict__, "inputs": {k: str(v) for k, v in inputs.__dict__.items()}}
    check_resumable(exp_dir, resolved, resume)
    exp_dir.mkdir(parents=True, exist_ok=True)
    copy_token_dir(inputs.token_dir, exp_dir)
    kind = feature_kind({"model": config.model})
    if inputs.cmvn is not None:
        copy_file(inputs.cmvn, exp_dir / "cmvn.npz")
    elif kind == FBANK:
        raise ConfigError(f"{config_file}: an fbank model trains with global CMVN stats (--cmvn)")
    features_config = features_config_of(inputs, kind)
    check_feature_size(config_file, ModelConfig.from_dict(config.model), kind, features_config)
    copy_file(features_config, exp_dir / kind.config)
    write_exp_config(exp_dir, resolved)
    return config


def features_config_of(inputs: Inputs, kind: FeatureKind) -> Path:
    """TRAIN_DATA/fbank.yaml (merge-fbank wrote it; roi.yaml for ROI features), checked against VALID_DATA's: a
    model must not train on features decode would not make."""
    features_config = Path(inputs.train_data) / kind.config
    if not features_config.is_file():
        raise DataDirError(f"{features_config}: missing; run `{kind.stage}` (its merge writes it)")
    check_features_fit(inputs.valid_data, features_config, kind)
    return features_config


def check_feature_size(config_file: Path, model: ModelConfig, kind: FeatureKind, features_config: Path):
    """The model reads frames of the features' size: input_size fbank bins, or the video front-end's ROI size."""
    features = kind.load_config(features_config)
    if kind == FBANK and features.n_mels != model.input_size:
        raise ConfigError(f"{config_file}: model.input_size {model.input_size}, but the features ({features_config}) "
                          f"have {features.n_mels} mel bins")
    video = model.video_frontend_config()
    if kind != FBANK and (video.height, video.width) != (features.height, features.width):
        raise ConfigError(f"{config_file}: model.video_frontend reads {video.width}x{video.height} ROIs, but the "
                          f"features ({features_config}) are {features.width}x{features.height}")


@dataclass
class Batch:
    """Utterances of one FeatureSet: what the training loop hands the step function."""

    data: FeatureSet
    utts: list[str]

    def __len__(self):
        return len(self.utts)


def train(exp_dir: Path, config_file: Path, inputs: Inputs, resume: bool = False, init: Path | None = None) -> Path:
    """Train as config_file says (with `init` as one more init_param entry); returns the averaged model file."""
    exp_dir = Path(exp_dir)
    dist_env = Distributed()
    config = dist_env.on_main(lambda: prepare_exp_dir(exp_dir, config_file, inputs, init, resume),
                               "prepare the exp dir")
    config = config or TrainConfig.load(config_file, init)
    set_up_logging(exp_dir / "train.log", dist_env.is_main)
    seed_everything(config.seed)
    model, tokenizer = build_asr(exp_dir, {"model": config.model})
    kind = feature_kind({"model": config.model})
    train_set = FeatureSet.from_data_dir(inputs.train_data, tokenizer, kind)
    valid_set = FeatureSet.from_data_dir(inputs.valid_data, tokenizer, kind)
    log.info(f"{len(train_set)} train / {len(valid_set)} valid utterances")

    def step(model, batch: Batch) -> dict:
        return model(*(t.to(dist_env.device) for t in batch.data.batch(batch.utts)))

    train_batches = [Batch(train_set, utts) for utts in bucket_batches(train_set.num_frames, config.batch_frames)]
    valid_batches = [Batch(valid_set, utts) for utts in bucket_batches(valid_set.num_frames, config.batch_frames)]
    average = train_loop(exp_dir, model, config, step, train_batches, valid_batches, dist_env, config_file, resume)
    dist_env.close()
    return average
