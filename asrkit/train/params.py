"""Freezing and initialising parameters by name: the training YAML's `freeze_param:` and `init_param:` (ESPnet's).

freeze_param: [PREFIX, ...]
    A parameter named PREFIX or PREFIX.<anything> is frozen: requires_grad False, so it gets no gradient, and the
    loop leaves it out of the optimizer. Modules under a prefix, and modules owning a frozen parameter, run in eval
    mode during training: dropout stays off and batch-norm statistics do not move.
init_param: ["SRC_FILE:SRC_KEY:DST_KEY:EXCLUDE_KEYS", ...]  (everything after SRC_FILE optional)
    Copy tensors from SRC_FILE (a .pth state dict, a checkpoint.pth, or an exp dir: its default model file): source
    keys starting with any comma-separated EXCLUDE_KEYS are dropped, then only keys under SRC_KEY are taken (SRC_KEY.
    stripped), and they are loaded under DST_KEY. (ESPnet's order: EXCLUDE_KEYS match the full source keys.) Every
    loaded tensor is logged, a source tensor whose name or shape the model lacks is named and skipped, a source that
    loads nothing is an error; model tensors no source has (e.g. DeCRED heads) keep their fresh initialisation.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from asrkit.errors import AsrkitError, ConfigError

log = logging.getLogger("asrkit.train")


def _under(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@dataclass
class Frozen:
    """What freeze_param froze in a model, by name."""

    params: list[str]  # frozen parameters (requires_grad False)
    modules: list[str]  # modules that run in eval mode while the model trains
    buffers: list[str]  # state-dict keys of those modules' buffers (they never change in training either)

    @property
    def keys(self) -> set[str]:
        """State-dict keys training never changes."""
        return set(self.params) | set(self.buffers)

    def keep_eval(self, model: nn.Module):
        """Put the frozen modules back in eval mode; call after model.train()."""
        for name in self.modules:
            model.get_submodule(name).eval()

    def trainable_state(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """The model's state dict without the frozen tensors."""
        frozen = self.keys
        return {key: value for key, value in model.state_dict().items() if key not in frozen}


def freeze(model: nn.Module, prefixes: list[str], origin) -> Frozen:
    """Freeze the parameters under `prefixes` (freeze_param of the training YAML `origin`)."""
    names = [name for name, _ in model.named_parameters()]
    for prefix in prefixes:
        if not any(_under(name, [prefix]) for name in names):
            raise ConfigError(f"{origin}: freeze_param: '{prefix}' names no parameter of the model (e.g. {names[0]})")
    params = [name for name in names if _under(name, prefixes)]
    for name, param in model.named_parameters():
        param.requires_grad_(name not in params)
    owners = {name.rpartition(".")[0] for name in params}
    modules = [name for name, _ in model.named_modules() if name and (_under(name, prefixes) or name in owners)]
    state_keys = set(model.state_dict())
    buffers = [name for name, _ in model.named_buffers()
               if name.rpartition(".")[0] in modules and name in state_keys]
    if prefixes:
        count = sum(p.numel() for name, p in model.named_parameters() if name in params)
        log.info(f"freeze_param: froze {len(params)} parameter tensors ({count / 1e6:.3f} M parameters) and "
                 f"{len(buffers)} buffers of {len(modules)} modules kept in eval mode, under {', '.join(prefixes)}")
    return Frozen(params, modules, buffers)


@dataclass
class InitSpec:
    """One init_param entry."""

    text: str  # as written in the YAML
    path: Path  # source model file or exp dir
    src_key: str  # take source keys under this prefix, stripped ("" = all)
    dst_key: str  # load them under this prefix of the model ("" = the model itself)
    excludes: list[str]  # drop source keys starting with any of these

    @classmethod
    def parse(cls, text: str) -> "InitSpec":
        path, src_key, dst_key, excludes = (text.split(":", 3) + ["", "", ""])[:4]
        return cls(text, Path(path), src_key, dst_key, [e for e in excludes.split(",") if e])


def absolute_sources(specs: list[str]) -> list[str]:
    """The init_param entries with their source paths made absolute (relative ones are from the current directory,
    a recipe's), so an exp dir that re-reads its frozen part from them works from anywhere."""
    return [":".join([str(Path(text.split(":", 1)[0]).resolve()), *text.split(":", 1)[1:]]) for text in specs]


def load_training_config(cls, path, what: str, kind: str, command: str, init: list[str] = ()):
    """A training YAML as dataclass `cls` (asrkit/config.py's load_config): its `kind` must be `kind` (what
    `command` trains), and its init_param sources (plus `init`) are made absolute (absolute_sources)."""
    from asrkit.config import load_config

    config = load_config(cls, path, what)
    if config.kind != kind:
        raise ConfigError(f"{path}: kind: {config.kind}; {command} trains {kind} models")
    config.init_param = absolute_sources([*config.init_param, *init])
    return config


def source_state(path: Path, origin) -> dict[str, torch.Tensor]:
    """The state dict of a model file, a checkpoint.pth (its model) or an exp dir (its default model file)."""
    from asrkit.expdir import default_model

    if path.is_dir():
        path = default_model(path)
    elif not path.is_file():
        raise ConfigError(f"{origin}: init_param: {path}: no such file or exp dir")
    state = torch.load(path, map_location="cpu")
    if isinstance(state.get("model"), dict):  # a checkpoint.pth
        state = state["model"]
    return state


def init_params(model: nn.Module, specs: list[str], origin) -> set[str]:
    """Load every init_param entry into `model`; returns the state-dict keys loaded."""
    loaded = set()
    for text in specs:
        loaded |= _load(model, InitSpec.parse(text), origin)
    fresh = [key for key in model.state_dict() if key not in loaded]
    if specs and fresh:
        log.info(f"init_param: {len(fresh)} model tensors no source has start fresh: {', '.join(fresh[:8])}"
                 + (", ..." if len(fresh) > 8 else ""))
    return loaded


def _load(model: nn.Module, spec: InitSpec, origin) -> set[str]:
    source = {key: value for key, value in source_state(spec.path, origin).items()
              if not any(key.startswith(e) for e in spec.excludes)}
    if spec.src_key:
        source = {key[len(spec.src_key) + 1:]: value for key, value in source.items()
                  if key.startswith(spec.src_key + ".")}
    target = model.state_dict()
    prefix = f"{spec.dst_key}." if spec.dst_key else ""
    matched, skipped = {}, []
    for key, value in source.items():
        name = prefix + key
        if name not in target:
            skipped.append(f"{key} (the model has no {name})")
        elif target[name].shape != value.shape:
            skipped.append(f"{key} (shape {tuple(value.shape)}, the model's {name} is {tuple(target[name].shape)})")
        else:
            matched[name] = value
    if not matched:
        raise AsrkitError(f"{origin}: init_param '{spec.text}': no tensor of {spec.path} matches the model "
                          f"({len(source)} source tensors, e.g. {next(iter(source), 'none')}; model e.g. {next(iter(target))})")
    model.load_state_dict(matched, strict=False)
    for name, value in matched.items():
        log.info(f"init_param: {name} {tuple(value.shape)} <- {spec.path}")
    for text in skipped:
        log.warning(f"init_param: {spec.path}: skipped {text}")
    return set(matched)
