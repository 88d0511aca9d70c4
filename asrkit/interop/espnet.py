"""Models in and out of ESPnet: an asrkit exp dir <-> an espnet2 ASR model dir (config.yaml + model .pth).

The two toolkits build the same espnet2 modules under the same attribute names (normalize, encoder, decoder, ctc),
so the parameters move over by name; only the configs are translated. asrkit models read precomputed Kaldi fbank,
which in espnet2 terms is `frontend: null` with `input_size`; its global CMVN is `normalize: global_mvn` with the
same feats_stats.npz layout. DeCRED heads are training-only and stay behind on export. A model that reads waveforms
through espnet2's `frontend: default` (the model zoo's usual layout) imports with that frontend as its fbank.yaml
(`espnet_frontend:`), so `asrkit fbank --config EXP/fbank.yaml` and decode compute the features it was trained on,
and exports with it again.

An export dir holds config.yaml, the model file, tokens.txt, feats_stats.npz, bpe.model (sentencepiece models) and
fbank.yaml (how asrkit computed the features). config.yaml is written last: its presence marks a finished export.
"""

from pathlib import Path

import humanfriendly
import torch
import yaml

from asrkit.asr.model import ENCODERS
from asrkit.config import save_config
from asrkit.data.features import (
    FBANK,
    FbankConfig,
    espnet_frontend,
    load_fbank_config,
)
from asrkit.data.tokens import TOKEN_TYPE_FILE
from asrkit.errors import AsrkitError
from asrkit.expdir import MODEL_FILES, feature_kind, load_asr, read_config
from asrkit.fileio import atomic_path, atomic_write, copy_file

# asrkit token types -> espnet2's: espnet2 calls every sentencepiece model "bpe".
ESPNET_TOKEN_TYPES = {"char": "char", "word": "word", "bpe": "bpe", "unigram": "bpe"}
# Config entries that change what an imported model computes and that asrkit's model lacks: they must be null.
UNSUPPORTED_IF_SET = ("preencoder", "postencoder")


class InteropError(AsrkitError):
    """A model that cannot cross between the toolkits; the message names the file and the entry."""


def resolve_model_file(exp_or_model: Path) -> tuple[Path, Path]:
    """(exp dir, model file) from either an exp dir (its valid.acc.ave.pth) or a model file inside one."""
    exp_or_model = Path(exp_or_model)
    if exp_or_model.is_dir():
        return exp_or_model, exp_or_model / MODEL_FILES["asr"]
    return exp_or_model.parent, exp_or_model


def export_espnet(exp_or_model: Path, out_dir: Path) -> Path:
    """Write an espnet2 ASR model dir that espnet2.bin.asr_inference.Speech2Text loads; returns its config.yaml."""
    exp_dir, model_file = resolve_model_file(exp_or_model)
    if feature_kind(read_config(exp_dir, "asr")) != FBANK:  # espnet2's ASR models read audio
        raise InteropError(f"{exp_dir}: its model reads video (roi.yaml); only audio models export to ESPnet")
    # through the exp-dir loader: a `save_frozen: false` model file gets its frozen part from its init_param sources
    model, tokenizer = load_asr(exp_dir, model_file.name)
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("aux_heads.")}
    frontend_conf = _espnet_frontend_conf(exp_dir)
    if frontend_conf is not None:
        # espnet2 loads strictly: its frontend's mel matrix is part of the model file.
        state.update({f"frontend.{k}": v for k, v in espnet_frontend(frontend_conf).state_dict().items()})
    with atomic_path(out_dir / model_file.name) as tmp:
        torch.save(state, tmp)
    for source, target in ((exp_dir / "tokens.txt", "tokens.txt"), (exp_dir / "cmvn.npz", "feats_stats.npz"),
                           (exp_dir / "bpe.model", "bpe.model"), (exp_dir / "fbank.yaml", "fbank.yaml")):
        if source.exists():
            copy_file(source, out_dir / target)
    espnet_config = espnet_config_from(read_config(exp_dir, "asr")["model"], tokenizer.token_type, out_dir)
    with atomic_write(out_dir / "config.yaml") as f:
        yaml.safe_dump(espnet_config, f, sort_keys=False, allow_unicode=True)
    return out_dir / "config.yaml"


def espnet_config_from(model: dict, token_type: str, out_dir: Path) -> dict:
    """The espnet2 ASR task config for an asrkit training config; paths point into out_dir."""
    has_cmvn = (out_dir / "feats_stats.npz").exists()
    frontend_conf = _espnet_frontend_conf(out_dir)
    return {
        "token_list": (out_dir / "tokens.txt").read_text(encoding="utf-8").split("\n")[:-1],
        "token_type": ESPNET_TOKEN_TYPES[token_type],
        "bpemodel": str(out_dir / "bpe.model") if (out_dir / "bpe.model").exists() else None,
        # Models on espnet2's own frontend (imported from the model zoo) read waveforms, as they did there.
        "input_size": None if frontend_conf is not None else model.get("input_size", 80),
        "frontend": "default" if frontend_conf is not None else None,
        "frontend_conf": frontend_conf or {},
        "specaug": "specaug" if model.get("specaug") else None,
        "specaug_conf": model.get("specaug") or {},
        "normalize": "global_mvn" if has_cmvn else None,
        "normalize_conf": {"stats_file": str(out_dir / "feats_stats.npz")} if has_cmvn else {},
        "model": "espnet",
        "model_conf": {"ctc_weight": model.get("ctc_weight", 0.3), "lsm_weight": model.get("lsm_weight", 0.1),
                       "length_normalized_loss": False},
        "preencoder": None,
        "preencoder_conf": {},
        "encoder": model.get("encoder_type", "e_branchformer"),
        "encoder_conf": model.get("encoder", {}),
        "postencoder": None,
        "postencoder_conf": {},
        "decoder": "transformer",
        "decoder_conf": model.get("decoder", {}),
        "ctc_conf": {},
        "init": None,
    }


def _espnet_frontend_conf(model_dir: Path) -> dict | None:
    """The espnet2 frontend_conf of a model that reads waveforms through espnet2's frontend (see fbank.yaml)."""
    fbank_yaml = model_dir / "fbank.yaml"
    return load_fbank_config(fbank_yaml).espnet_frontend if fbank_yaml.exists() else None


def import_espnet(config_yaml: Path, model_pth: Path, out_dir: Path) -> Path:
    """Turn an espnet2 CTC/attention ASR model into an asrkit exp dir (config.yaml, tokens.txt, token_type, cmvn.npz,
    bpe.model, fbank.yaml (the frontend of a waveform model, else asrkit's fbank), the model as valid.acc.ave.pth) that decode, train --init and
    train --resume use; returns OUT_DIR."""
    config_yaml, model_pth, out_dir = Path(config_yaml), Path(model_pth), Path(out_dir)
    with open(config_yaml, encoding="utf-8") as f:
        espnet = yaml.safe_load(f) or {}
    fbank = _frontend_fbank(espnet, config_yaml)
    model = asrkit_model_config(espnet, config_yaml, fbank)
    token_type = _asrkit_token_type(espnet, config_yaml)
    tokens = _token_list(espnet, config_yaml)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_write(out_dir / "tokens.txt") as f:
        f.write("".join(token + "\n" for token in tokens))
    with atomic_write(out_dir / TOKEN_TYPE_FILE) as f:
        f.write(token_type + "\n")
    copies = {"cmvn.npz": ("normalize_conf", "stats_file") if espnet.get("normalize") else None,
              "bpe.model": ("bpemodel",) if token_type in ("bpe", "unigram") else None}
    for target, keys in copies.items():
        (out_dir / target).unlink(missing_ok=True)
        if keys:
            copy_file(_resolve_path(espnet, keys, config_yaml), out_dir / target)
    # Every exp dir says which features its model reads: a model on precomputed features reads asrkit's fbank.
    save_config(fbank or FbankConfig(n_mels=model["input_size"]), out_dir / "fbank.yaml")
    _import_state(model_pth, model, len(tokens), out_dir)
    inputs = {"imported_from": str(config_yaml.resolve())}
    with atomic_write(out_dir / "config.yaml") as f:
        yaml.safe_dump({"kind": "asr", "model": model, "inputs": inputs}, f, sort_keys=False)
    return out_dir


def asrkit_model_config(espnet: dict, config_yaml: Path, fbank: FbankConfig | None) -> dict:
    """asrkit's `model:` section for an espnet2 ASR config (fbank: its frontend's features, for a waveform model),
    or InteropError naming what asrkit cannot run."""
    for key in UNSUPPORTED_IF_SET:
        if espnet.get(key) is not None:
            raise InteropError(f"{config_yaml}: {key}: {espnet[key]} is not supported (must be null)")
    checks = {"model": ("espnet",), "encoder": tuple(ENCODERS), "decoder": ("transformer",),
              "normalize": (None, "global_mvn"), "specaug": (None, "specaug")}
    for key, allowed in checks.items():
        if espnet.get(key) not in allowed:
            raise InteropError(f"{config_yaml}: {key}: {espnet.get(key)} is not supported (one of {allowed})")
    model_conf = espnet.get("model_conf") or {}
    return {
        "input_size": fbank.n_mels if fbank else espnet["input_size"],
        "encoder_type": espnet["encoder"],
        "encoder": espnet.get("encoder_conf") or {},
        "decoder": espnet.get("decoder_conf") or {},
        "specaug": espnet.get("specaug_conf") if espnet.get("specaug") else None,
        "ctc_weight": model_conf.get("ctc_weight", 0.5),
        "lsm_weight": model_conf.get("lsm_weight", 0.0),
    }


def _frontend_fbank(espnet: dict, config_yaml: Path) -> FbankConfig | None:
    """The features a waveform-reading model (`frontend: default`, no input_size) computes, as asrkit's fbank
    config; None for a model on precomputed features (espnet2 ignores the frontend when input_size is set)."""
    if espnet.get("input_size"):
        return None
    if espnet.get("frontend") != "default":
        raise InteropError(f"{config_yaml}: frontend: {espnet.get('frontend')} is not supported without input_size "
                           f"(default, or precomputed features with input_size)")
    frontend_conf = dict(espnet.get("frontend_conf") or {})
    multichannel = frontend_conf.get("frontend_conf") or {}
    if multichannel.get("use_wpe") or multichannel.get("use_beamformer"):
        raise InteropError(f"{config_yaml}: frontend_conf.frontend_conf: multichannel WPE/beamforming is not supported")
    fs = frontend_conf.get("fs", 16000)
    return FbankConfig(fs=humanfriendly.parse_size(fs) if isinstance(fs, str) else int(fs),
                       n_mels=frontend_conf.get("n_mels", 80), espnet_frontend=frontend_conf)


def _asrkit_token_type(espnet: dict, config_yaml: Path) -> str:
    token_type = espnet.get("token_type")
    if token_type not in ESPNET_TOKEN_TYPES:
        raise InteropError(f"{config_yaml}: token_type: {token_type} is not supported (char, word, bpe)")
    return token_type


def _token_list(espnet: dict, config_yaml: Path) -> list[str]:
    tokens = espnet.get("token_list")
    if isinstance(tokens, str):
        tokens = _resolve_path(espnet, ("token_list",), config_yaml).read_text(encoding="utf-8").split()
    if not tokens or tokens[0] != "<blank>" or tokens[-1] != "<sos/eos>":
        raise InteropError(f"{config_yaml}: token_list: must start with <blank> and end with <sos/eos>")
    return list(tokens)


def _resolve_path(espnet: dict, keys: tuple[str, ...], config_yaml: Path) -> Path:
    """A path from the config: absolute, or relative to the working dir or to a folder above the config
    (model zoo configs name files relative to the recipe dir they were packed from)."""
    value = espnet
    for key in keys:
        value = (value or {}).get(key)
    if not value:
        raise InteropError(f"{config_yaml}: {'.'.join(keys)}: missing")
    path = Path(value)
    for base in (Path.cwd(), *config_yaml.resolve().parents):
        if (base / path).is_file():
            return base / path
    raise InteropError(f"{config_yaml}: {'.'.join(keys)}: {value}: no such file")


def _import_state(model_pth: Path, model_config: dict, vocab_size: int, out_dir: Path):
    """Check the parameters fit asrkit's model by building it, then keep them as the exp dir's model file."""
    from asrkit.asr.model import ASRModel, ModelConfig

    # A waveform model's frontend (its mel matrix) is asrkit's feature extraction now, written to fbank.yaml.
    state = {k: v for k, v in torch.load(model_pth, map_location="cpu").items() if not k.startswith("frontend.")}
    cmvn = out_dir / "cmvn.npz"
    asr = ASRModel(ModelConfig.from_dict(model_config), vocab_size, str(cmvn) if cmvn.exists() else None)
    try:
        asr.load_state_dict(state)
    except RuntimeError as error:
        raise InteropError(f"{model_pth}: parameters do not fit the model its config describes: {error}") from error
    with atomic_path(out_dir / MODEL_FILES["asr"]) as tmp:
        torch.save(asr.state_dict(), tmp)
