"""`asrkit avsr train`: the Omni-AVSR model on cached encoder outputs, by the shared training loop.

Inputs per data set (train, valid): the data dir (its `text`), an audio cache and a video cache, each made by
`asrkit cache-encoder` (asrkit/train/cache.py: feats.scp, utt2num_frames, key). The audio cache is either
    one merged cache dir (clean audio only), or
    a dir of merged caches, one per noise condition, any names (e.g. clean/, babble_snr-5/, …, babble_snr20/: the
    encoder run over `asrkit perturb --noise` copies of the data dir): every training step draws one of them.
Validation reads the single cache, or the copy named `clean`, at the finest rates (the first of each list).
Every utterance of the data dir's text must be in every cache.

Each step draws one audio rate, one video rate (and one noisy copy), shared by the ASR, VSR and AVSR passes, and
minimises Σ w_task · L_task / (number of tasks) (`task_weights`, default asr 1, vsr 1.5, avsr 1, the paper's).

exp/<name>/ holds config.yaml (resolved, `kind: avsr`; `llm` names the LLM by absolute path, or `smollm2`, and
`llm_key` is the sha256 of its files, so a changed LLM is refused at decode), and what the loop writes:
checkpoint.pth, <N>epoch.pth, valid.acc.ave.pth (n-best by valid accuracy, averaged), train.log, images/. Model
files hold only the trained tensors (projectors, markers, LoRA): the LLM is reloaded from its path.
"""

import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

from asrkit.asr.batching import FeatureSet, bucket_batches
from asrkit.avsr.llm import SMOLLM2, LLMConfig, llm_key, resolve_path
from asrkit.avsr.model import TASKS, ModelConfig, build_avsr
from asrkit.config import from_mapping
from asrkit.data.datadir import DataDirError, read_dict
from asrkit.errors import ConfigError
from asrkit.train.cache import load_cache_covering
from asrkit.train.distributed import Distributed
from asrkit.train.loop import seed_everything, set_up_logging, train_loop
from asrkit.train.options import LoopOptions, check_resumable, write_exp_config
from asrkit.train.params import load_training_config

log = logging.getLogger("asrkit.train")
CLEAN = "clean"  # the noise copy validation reads


@dataclass(kw_only=True)
class AVSRTrainConfig(LoopOptions):
    model: dict  # ModelConfig (asrkit/avsr/model.py) without audio_dim/video_dim (read off the caches)
    llm: dict = field(default_factory=dict)  # LLMConfig (asrkit/avsr/llm.py): path, num_layers, dtype
    task_weights: dict = field(default_factory=lambda: {"asr": 1.0, "vsr": 1.5, "avsr": 1.0})  # loss weight per task
    kind: str = "avsr"  # what the exp dir holds, for the exp-dir loader (asrkit/expdir.py)
    max_epoch: int = 10  # epochs to train
    batch_frames: int = 600  # cap on padded audio-cache frames per batch (longest utterance x batch size)
    lr: float = 0.001
    grad_clip: float = 1.0
    save_frozen: bool = False  # the LLM is never saved; nor are freeze_param'd tensors
    llm_key: str = ""  # filled in the exp dir's copy: sha256 of the LLM's files
    inputs: dict = field(default_factory=dict)  # filled in the exp dir's copy: where the data came from

    @classmethod
    def load(cls, path) -> "AVSRTrainConfig":
        config = load_training_config(cls, path, "AVSR training", "avsr", "`asrkit avsr train`")
        if set(config.task_weights) - set(TASKS) or not any(config.task_weights.values()):
            raise ConfigError(f"{path}: task_weights: give some of {', '.join(TASKS)} a weight > 0")
        from_mapping(LLMConfig, config.llm, f"{path}: llm", "LLM")
        return config


@dataclass
class DataSet:
    """One data set's utterances: transcripts, the audio cache's copies by name, the video cache."""

    text: dict[str, str]
    audio: dict[str, FeatureSet]
    video: FeatureSet

    @classmethod
    def load(cls, data_dir: Path, audio_dir: Path, video_dir: Path) -> "DataSet":
        text = read_dict(Path(data_dir) / "text")
        text_file = Path(data_dir) / "text"
        copies = {path: load_cache_covering(path, text, text_file) for path in audio_copies(Path(audio_dir))}
        video = load_cache_covering(video_dir, text, text_file)
        return cls(text, {path.name: cache for path, cache in copies.items()}, video)

    def valid_copy(self, where: Path) -> FeatureSet:
        if len(self.audio) == 1:
            return next(iter(self.audio.values()))
        if CLEAN not in self.audio:
            raise DataDirError(f"{where}: several audio copies and none named '{CLEAN}' for validation")
        return self.audio[CLEAN]


def audio_copies(audio_dir: Path) -> list[Path]:
    """The merged caches of an audio cache: the dir itself, or its subdirs that are merged caches (module doc)."""
    if (audio_dir / "key").exists():
        return [audio_dir]
    copies = sorted(path for path in audio_dir.iterdir() if (path / "key").exists()) if audio_dir.is_dir() else []
    if not copies:
        raise DataDirError(f"{audio_dir}: neither a merged encoder cache (no key) nor a dir of them")
    return copies


@dataclass
class Batch:
    """Utterance ids of one data set: what the loop hands the step function."""

    data: DataSet
    utts: list[str]

    def __len__(self):
        return len(self.utts)


def write_avsr_config(exp_dir: Path, config: AVSRTrainConfig, train: DataSet, inputs: dict, resume: bool) -> dict:
    """config.yaml of the exp dir: the model with the caches' widths, the LLM by absolute path and key (a resumed
    run: with the options and inputs it was trained with, the config file's name aside; check_resumable)."""
    first = next(iter(train.audio.values()))
    audio_dim = first.load(next(iter(train.text))).shape[1]
    video_dim = train.video.load(next(iter(train.text))).shape[1]
    model = {**config.model, "audio_dim": audio_dim, "video_dim": video_dim}
    ModelConfig.from_dict(model, f"{inputs['config']}: model")
    path = config.llm.get("path", SMOLLM2)  # `smollm2` stays a name: every install has its own copy
    llm = {**config.llm, "path": path if path == SMOLLM2 else str(resolve_path(path).resolve())}
    resolved = {**config.__dict__, "model": model, "llm": llm, "llm_key": llm_key(resolve_path(path)), "inputs": inputs}
    check_resumable(exp_dir, resolved, resume, may_change=("inputs.config",))
    exp_dir.mkdir(parents=True, exist_ok=True)
    write_exp_config(exp_dir, resolved)
    return resolved


def make_step(config: AVSRTrainConfig, model_config: ModelConfig, device):
    """The loop's step: one draw of rates (and noisy copy) shared by the task passes; in eval mode the finest rates
    and the clean copy, so validation is the same every epoch."""
    weights = {task: w for task, w in config.task_weights.items() if w}

    def step(model, batch: Batch) -> dict:
        if model.training:
            rates = {"audio": random.choice(model_config.audio_rates), "video": random.choice(model_config.video_rates)}
            audio = random.choice(list(batch.data.audio.values()))
        else:
            rates = {"audio": model_config.audio_rates[0], "video": model_config.video_rates[0]}
            audio = batch.data.valid_copy(Path(config.inputs.get("valid_audio", "valid audio")))
        inputs = {"audio": audio.batch(batch.utts), "video": batch.data.video.batch(batch.utts)}
        inputs = {m: (x.to(device), n) for m, (x, n) in inputs.items()}
        targets = model.encode_targets([batch.data.text[utt] for utt in batch.utts])
        stats = {task: model(task, inputs, rates, targets) for task in weights}
        out = {"loss": sum(weights[t] * s["loss"] for t, s in stats.items()) / len(stats),
               "acc": sum(float(s["acc"]) for s in stats.values()) / len(stats)}
        out.update({f"loss_{t}": float(s["loss"].detach()) for t, s in stats.items()})
        return out
    return step


def train(exp_dir: Path, config_file: Path, paths: dict[str, Path], resume: bool = False,
          lora_variant: str | None = None) -> Path:
    """Train as config_file says (lora_variant, if given, replacing model.lora.variant) on paths
    {train,valid}_{data,audio,video}; returns the averaged model file."""
    exp_dir, dist_env = Path(exp_dir), Distributed()
    if dist_env.world_size > 1:  # a step is three passes, each with its own adapters and unused projectors
        raise ConfigError("asrkit avsr train runs as one process (no torchrun/DDP): DDP's reducer takes one forward "
                          "pass per backward, an Omni-AVSR step makes three")
    config = AVSRTrainConfig.load(config_file)
    if lora_variant:
        config.model = {**config.model, "lora": {**config.model.get("lora", {}), "variant": lora_variant}}
    train_set = DataSet.load(paths["train_data"], paths["train_audio"], paths["train_video"])
    valid_set = DataSet.load(paths["valid_data"], paths["valid_audio"], paths["valid_video"])
    inputs = {"config": str(config_file), **{k: str(v) for k, v in paths.items()}}
    resolved = write_avsr_config(exp_dir, config, train_set, inputs, resume)  # one process (above): it writes
    config.inputs = resolved["inputs"]
    set_up_logging(exp_dir / "train.log", dist_env.is_main)
    seed_everything(config.seed)
    model = build_avsr(resolved)
    log.info(f"{len(train_set.text)} train / {len(valid_set.text)} valid utterances, audio copies "
             f"{', '.join(train_set.audio)}")
    frames = next(iter(train_set.audio.values())).num_frames
    train_batches = [Batch(train_set, utts) for utts in bucket_batches({u: frames[u] for u in train_set.text},
                                                                         config.batch_frames)]
    valid_frames = valid_set.valid_copy(Path(paths["valid_audio"])).num_frames
    valid_batches = [Batch(valid_set, utts) for utts in bucket_batches({u: valid_frames[u] for u in valid_set.text},
                                                                         config.batch_frames)]
    step = make_step(config, model.config, dist_env.device)
    average = train_loop(exp_dir, model, config, step, train_batches, valid_batches, dist_env, config_file, resume)
    dist_env.close()
    return average
