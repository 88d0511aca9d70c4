"""Packs: one zip file holding everything a trained ASR model needs to run elsewhere (`asrkit pack`).

OUT.zip holds, at its root, an exp dir (asrkit/expdir.py) cut down to what decoding reads:
    config.yaml, tokens.txt, token_type (+ bpe.model), cmvn.npz (if any), fbank.yaml   from the exp dir
    valid.acc.ave.pth    the model file (whichever one was packed, under the name load_asr reads by default)
    decode.yaml          the decode config `asrkit transcribe` uses unless given --config (when one was packed)
    pack.yaml            where it came from (exp dir, model file) and the asrkit and torch versions that packed it
    README.md            the same for people, with the training data (config.yaml's inputs) and the WER of every
                         scored decode dir of the exp dir (the RESULTS.md table)
Extracted, a pack is an exp dir: `unpacked` gives one for either.
"""

import contextlib
import importlib.metadata
import io
import tempfile
import zipfile
from pathlib import Path

import torch
import yaml

import asrkit
from asrkit.asr.decoding import load_decode_config
from asrkit.errors import AsrkitError
from asrkit.expdir import MODEL_FILES, fbank_config, load_asr, model_path, read_config
from asrkit.fileio import atomic_path
from asrkit.scoring import results_table, scored_dirs

COPIED_FILES = ("tokens.txt", "token_type", "bpe.model", "cmvn.npz", "fbank.yaml")  # as they are in the exp dir
REQUIRED = ("config.yaml", "tokens.txt", "token_type", "fbank.yaml", MODEL_FILES["asr"])
DECODE_CONFIG = "decode.yaml"


def write_pack(exp_dir: Path, out_zip: Path, model_file: str | None = None, decode_config: Path | None = None) -> Path:
    """Pack an asr exp dir (its model_file, default valid.acc.ave.pth) and optionally a decode config into out_zip."""
    exp_dir = Path(exp_dir)
    config = read_config(exp_dir, "asr")
    model = model_path(exp_dir, "asr", model_file)
    if decode_config is not None and load_decode_config(decode_config).lm:
        raise AsrkitError(f"{decode_config}: names an LM (lm:), which a pack does not carry; pack a decode config "
                          f"without it")
    fbank_config(exp_dir)  # a pack is for audio: a model that reads video is refused by name
    for name in REQUIRED[:-1]:
        if not (exp_dir / name).is_file():
            raise AsrkitError(f"{exp_dir / name}: missing; cannot pack {exp_dir}")
    manifest = {"exp_dir": str(exp_dir.resolve()), "model_file": model.name, "asrkit": asrkit.__version__,
                "torch": importlib.metadata.version("torch")}
    with atomic_path(out_zip) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as pack:
        for name in COPIED_FILES:
            if (exp_dir / name).is_file():
                pack.write(exp_dir / name, name)
        # The whole model, its frozen part too (a `save_frozen: false` model file lacks it): a pack needs no source.
        weights = io.BytesIO()
        torch.save(load_asr(exp_dir, model.name)[0].state_dict(), weights)
        pack.writestr(MODEL_FILES["asr"], weights.getvalue())
        pack.writestr("config.yaml", yaml.safe_dump({**config, "save_frozen": True, "init_param": []}, sort_keys=False))
        if decode_config is not None:
            pack.write(decode_config, DECODE_CONFIG)
        pack.writestr("pack.yaml", yaml.safe_dump(manifest, sort_keys=False))
        pack.writestr("README.md", _readme(exp_dir, config, manifest, decode_config is not None))
    return Path(out_zip)


def _readme(exp_dir: Path, config: dict, manifest: dict, has_decode_config: bool) -> str:
    inputs = config.get("inputs", {})
    lines = [f"# asrkit model {exp_dir.name}", "",
             f"Packed from `{manifest['exp_dir']}` (model file `{manifest['model_file']}`) with asrkit "
             f"{manifest['asrkit']} and torch {manifest['torch']}.", "",
             f"- training data: `{inputs.get('train_data', 'unknown')}` (validation: `{inputs.get('valid_data', 'unknown')}`)",
             f"- tokens: {(exp_dir / 'token_type').read_text(encoding='utf-8').strip()}, "
             f"{len((exp_dir / 'tokens.txt').read_text(encoding='utf-8').splitlines())} in tokens.txt",
             f"- decode config: {'decode.yaml' if has_decode_config else 'none packed (asrkit defaults)'}", "",
             "## WER of the exp dir's decode dirs", ""]
    dirs = scored_dirs(exp_dir)
    lines += results_table("wer", exp_dir, dirs) if dirs else ["No scored decode dir."]
    lines += ["", "## Use", "", "```", "asrkit transcribe THIS.zip audio.wav [more audio ...] [--json]", "```", ""]
    return "\n".join(lines)


@contextlib.contextmanager
def unpacked(model: Path):
    """Yield an exp dir for `model`: an exp dir as it is, or a pack extracted into a temp dir (removed after)."""
    model = Path(model)
    if model.is_dir():
        yield model
        return
    if not zipfile.is_zipfile(model):
        raise AsrkitError(f"{model}: neither an exp dir nor an asrkit pack (.zip)")
    with zipfile.ZipFile(model) as pack, tempfile.TemporaryDirectory(prefix="asrkit-pack-") as tmp:
        names = set(pack.namelist())
        missing = [name for name in REQUIRED if name not in names]
        if missing:
            raise AsrkitError(f"{model}: not an asrkit pack (no {', '.join(missing)})")
        # Only the files a pack holds, by their plain names: a member path cannot escape tmp.
        for name in ("config.yaml", *COPIED_FILES, MODEL_FILES["asr"], DECODE_CONFIG):
            if name in names:
                (Path(tmp) / name).write_bytes(pack.read(name))
        yield Path(tmp)
