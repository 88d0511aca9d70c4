"""YAML config files into dataclasses: every config asrkit reads goes through load_config."""

import dataclasses
from pathlib import Path
from typing import TypeVar

import yaml

from asrkit.errors import ConfigError

Config = TypeVar("Config")


def load_config(cls: type[Config], path, what: str) -> Config:
    """The dataclass `cls` from a YAML mapping; an option `cls` lacks is an error naming the file and the option."""
    with open(path, encoding="utf-8") as f:
        conf = yaml.safe_load(f) or {}
    if not isinstance(conf, dict):
        raise ConfigError(f"{path}: expected a mapping of {what} options, found a {type(conf).__name__}")
    unknown = set(conf) - {field.name for field in dataclasses.fields(cls)}
    if unknown:
        raise ConfigError(f"{Path(path)}: unknown {what} option(s): {', '.join(sorted(unknown))}")
    return cls(**conf)
