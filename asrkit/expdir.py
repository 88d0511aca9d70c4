"""Exp dirs: the one loader of what training leaves behind, for every stage and method that uses a trained model.

An exp dir stands on its own (it never points back at the data it was trained on):
    config.yaml        the resolved training config; `kind:` names what it holds (asr, tts, lm, tle, avsr)
    tokens.txt, token_type (+ bpe.model)   its token dir (as `asrkit tokens` writes one)
    cmvn.npz           asr: global CMVN of the training features (absent: the model normalises nothing)
    fbank.yaml         asr: the features the model reads (`asrkit fbank --config`)
    roi.yaml           asr with `frontend: video_roi` (lip reading), instead: the mouth-ROI features it reads
    stats.npz          tts: target statistics (mel, pitch, energy)
    <model file>       asr: valid.acc.ave.pth, tts and lm: valid.loss.ave.pth, tle: valid.recon.ave.pth (n-best
                       average), or any <N>epoch.pth;
                       with `save_frozen: false` only the trained tensors: the rest comes from config's init_param
Decoding, alignment, TTS evaluation, interop and the methods load models here; none of them imports a trainer.
An avsr exp dir's model file (valid.acc.ave.pth) holds only projectors, markers and LoRA: its config.yaml's `llm`
names the frozen LLM (path, layers kept) and `llm_key` the sha256 of its files.
"""

from pathlib import Path

import torch
import yaml

from asrkit.config import from_mapping
from asrkit.data.features import FBANK, FbankConfig, FeatureKind
from asrkit.data.tokens import Tokenizer
from asrkit.errors import AsrkitError

# Per model kind: the valid stat that ranks epochs for the n-best average, whether higher is better, and the average's
# file name (named after that stat), what training leaves as "the" model. A new kind is one more row here.
RANKING = {"asr": ("acc", True), "tts": ("loss", False), "lm": ("loss", False), "tle": ("recon", False),
           "avsr": ("acc", True)}
MODEL_FILES = {kind: f"valid.{stat}.ave.pth" for kind, (stat, _) in RANKING.items()}


def read_config(exp_dir: Path, kind: str | None = None) -> dict:
    """EXP/config.yaml as a dict; with `kind`, an exp dir of another kind is an error naming both."""
    path = Path(exp_dir) / "config.yaml"
    if not path.is_file():
        raise AsrkitError(f"{exp_dir}: not an exp dir (no config.yaml)")
    with open(path, encoding="utf-8") as f:
        config = yaml.safe_load(f) or {}
    found = _kind_of(config)
    if found not in RANKING:
        raise AsrkitError(f"{path}: kind: {found} is not one of {', '.join(RANKING)}")
    if kind is not None and found != kind:
        raise AsrkitError(f"{path}: kind: {found}; this needs a {kind} exp dir")
    return config


def _kind_of(config: dict) -> str:
    # exp dirs written before kinds were recorded: only TTS configs have a vocoder
    return config.get("kind") or ("tts" if "vocoder" in config else "asr")


def default_model(exp_dir: Path) -> Path:
    """The model file training leaves in an exp dir of any kind (its MODEL_FILES entry), which must exist."""
    return model_path(exp_dir, _kind_of(read_config(exp_dir)))


def model_path(exp_dir: Path, kind: str, model_file: str | None = None) -> Path:
    """EXP/<model_file> (default: the kind's n-best average), which must exist."""
    path = Path(exp_dir) / (model_file or MODEL_FILES[kind])
    if not path.is_file():
        raise AsrkitError(f"{path}: missing; has training of {exp_dir} finished?")
    return path


def feature_kind(config: dict) -> FeatureKind:
    """The features an asr exp dir's model reads, by its config's model.frontend: fbank, or video ROI frames."""
    if (config.get("model") or {}).get("frontend") == "video_roi":
        from asrkit.avsr.roi import ROI

        return ROI
    return FBANK


def feature_config(exp_dir: Path):
    """The config of the features an asr exp dir's model reads: EXP/fbank.yaml (FbankConfig), or EXP/roi.yaml
    (RoiConfig, asrkit/avsr/roi.py) for a `frontend: video_roi` model."""
    kind = feature_kind(read_config(exp_dir, "asr"))
    path = Path(exp_dir) / kind.config
    if not path.is_file():
        raise AsrkitError(f"{path}: missing; the exp dir does not say which features its model reads")
    return kind.load_config(path)


def fbank_config(exp_dir: Path) -> FbankConfig:
    """The fbank an asr exp dir's model reads; a model that reads video is an error naming the exp dir."""
    config = feature_config(exp_dir)
    if not isinstance(config, FbankConfig):
        raise AsrkitError(f"{exp_dir}: its model reads video (roi.yaml), not audio")
    return config


def build_asr(exp_dir: Path, config: dict | None = None):
    """The (untrained) ASR model an exp dir's config describes, with its CMVN, and the tokenizer."""
    from asrkit.asr.model import ASRModel, ModelConfig

    config = config or read_config(exp_dir, "asr")
    tokens = Tokenizer.from_dir(exp_dir)
    cmvn = Path(exp_dir) / "cmvn.npz"
    model = ASRModel(ModelConfig.from_dict(config["model"]), tokens.vocab_size, cmvn_stats=str(cmvn) if cmvn.exists() else None)
    return model, tokens


def load_asr(exp_dir: Path, model_file: str | None = None):
    """A trained ASR exp dir's model (eval mode) and tokenizer."""
    config = read_config(exp_dir, "asr")
    model, tokens = build_asr(exp_dir, config)
    load_weights(model, exp_dir, config, model_file)
    return model.eval(), tokens


def load_tts(exp_dir: Path, model_file: str | None = None):
    """A trained TTS exp dir's model (eval mode), its tokenizer and config."""
    import numpy as np

    from asrkit.tts.model import TTSConfig, TTSModel

    raw = read_config(exp_dir, "tts")
    config = from_mapping(TTSConfig, raw, f"{Path(exp_dir) / 'config.yaml'}", "TTS")
    tokens = Tokenizer.from_dir(exp_dir)
    model = TTSModel(config, tokens.vocab_size, dict(np.load(Path(exp_dir) / "stats.npz")))
    load_weights(model, exp_dir, raw, model_file)
    return model.eval(), tokens, config


def load_lm(exp_dir: Path, model_file: str | None = None):
    """A trained LM exp dir's (`asrkit lm train`) language model (eval mode) and tokenizer."""
    from asrkit.lm.model import LanguageModel

    config = read_config(exp_dir, "lm")
    tokens = Tokenizer.from_dir(exp_dir)
    model = LanguageModel(config["lm"], config["lm_conf"], tokens.vocab_size, f"{Path(exp_dir) / 'config.yaml'}")
    load_weights(model, exp_dir, config, model_file)
    return model.eval(), tokens


def load_tle(exp_dir: Path, model_file: str | None = None):
    """A trained text-to-latent VAE (asrkit adapt tle-train; eval mode), its tokenizer (the ASR model's) and config."""
    from asrkit.adapt.tle import TLE, TLEConfig

    raw = read_config(exp_dir, "tle")
    tokens = Tokenizer.from_dir(exp_dir)
    model = TLE(from_mapping(TLEConfig, raw["model"], f"{Path(exp_dir) / 'config.yaml'}: model", "TLE"),
                tokens.vocab_size, raw["inputs"]["out_size"])
    load_weights(model, exp_dir, raw, model_file)
    return model.eval(), tokens, raw


def load_avsr(exp_dir: Path, model_file: str | None = None):
    """A trained AVSR exp dir's model (eval mode): its LLM from the path config.yaml names, refused when that LLM's
    files changed since training, and the trained tensors (projectors, markers, LoRA) from the model file."""
    from asrkit.avsr.llm import llm_key, resolve_path
    from asrkit.avsr.model import build_avsr

    config = read_config(exp_dir, "avsr")
    llm_path = resolve_path(config["llm"]["path"])
    if llm_key(llm_path) != config.get("llm_key"):
        raise AsrkitError(f"{Path(exp_dir) / 'config.yaml'}: llm_key: {llm_path} is not the LLM this model was trained "
                          f"on (its files changed)")
    model = build_avsr(config)
    load_weights(model, exp_dir, config, model_file)
    return model.eval()


def load_weights(model, exp_dir: Path, config: dict, model_file: str | None = None):
    """EXP/<model_file> into `model`; `config` is the exp dir's (read_config). A model trained with `save_frozen:
    false` saved only what training changed: its frozen part is loaded first from the init_param sources it names."""
    path = model_path(exp_dir, _kind_of(config), model_file)
    state = torch.load(path, map_location="cpu")
    if config.get("save_frozen", True):
        model.load_state_dict(state)
        return
    from asrkit.train.params import init_params

    loaded = init_params(model, config.get("init_param", []), Path(exp_dir) / "config.yaml")
    missing, unexpected = model.load_state_dict(state, strict=False)
    if set(missing) - loaded or unexpected:
        raise AsrkitError(f"{path}: does not fit its exp dir's model with the init_param part: missing "
                          f"{sorted(set(missing) - loaded)[:5]}, unexpected {unexpected[:5]}")
