"""YAML config files into dataclasses: every config asrkit reads goes through load_config; changed_values compares
two recorded configs (what a resumed run checks)."""

import dataclasses
import types
import typing
from pathlib import Path
from typing import TypeVar

import yaml

from asrkit.errors import ConfigError
from asrkit.fileio import atomic_write

Config = TypeVar("Config")


def load_config(cls: type[Config], path, what: str) -> Config:
    """The dataclass `cls` from a YAML mapping; a YAML syntax error, an option `cls` lacks or a required one missing
    is an error naming the file (and the line, for syntax)."""
    try:
        with open(path, encoding="utf-8") as f:
            conf = yaml.safe_load(f) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else f"{path}"
        raise ConfigError(f"{where}: not valid YAML ({getattr(error, 'problem', None) or error})") from None
    return from_mapping(cls, conf, f"{Path(path)}", what)


def from_mapping(cls: type[Config], conf, where: str, what: str) -> Config:
    """The dataclass `cls` from a mapping read from `where`; unknown or missing options, and values the dataclass
    refuses, are errors naming them."""
    if not isinstance(conf, dict):
        raise ConfigError(f"{where}: expected a mapping of {what} options, found a {type(conf).__name__}")
    fields = dataclasses.fields(cls)
    unknown = set(conf) - {field.name for field in fields}
    if unknown:
        raise ConfigError(f"{where}: unknown {what} option(s): {', '.join(sorted(unknown))}")
    required = [f.name for f in fields if f.name not in conf and f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING]
    if required:
        raise ConfigError(f"{where}: missing {what} option(s): {', '.join(required)}")
    hints = typing.get_type_hints(cls)
    for name, value in conf.items():
        if not fits(value, hints[name]):
            raise ConfigError(f"{where}: {what} option {name}: expected {describe(hints[name])}, found {value!r}")
    try:
        return cls(**conf)
    except ConfigError as error:  # a value the dataclass itself refuses (its __post_init__)
        raise ConfigError(f"{where}: {error}") from None


SCALARS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def fits(value, hint) -> bool:
    """Does a YAML value fit a field's type? Scalars are checked (an integer is a number, a bool is not), also within
    `X | None` and Literal; containers and nested configs are left to the dataclass that reads them."""
    if hint in SCALARS:
        if hint in (int, float) and isinstance(value, bool):
            return False
        return isinstance(value, (int, float) if hint is float else hint)
    if hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(fits(value, arg) for arg in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    return True


def describe(hint) -> str:
    """A field's type in words, for the error message."""
    if hint in SCALARS:
        return SCALARS[hint]
    if hint is type(None):
        return "nothing (null)"
    if typing.get_origin(hint) is typing.Literal:
        return " or ".join(repr(arg) for arg in typing.get_args(hint))
    return " or ".join(describe(arg) for arg in typing.get_args(hint)) or str(hint)


def save_config(config, path):
    """A config dataclass as a YAML mapping, atomically (load_config reads it back equal)."""
    with atomic_write(path) as f:
        yaml.safe_dump(dataclasses.asdict(config), f, sort_keys=False)


def changed_values(old: dict, new: dict, may_change: tuple[str, ...] = (),
                   sections: tuple[str, ...] = ()) -> list[str]:
    """The dotted names (`model.encoder.num_blocks`) of the values that differ between two recorded configs, names
    under `may_change` aside. An option only `new` has at the top level, or directly in one of `sections` (configs
    recorded as dataclasses), was added to asrkit since `old` was recorded and does not count; one a YAML section
    gained (a key added under `model:`) does."""
    old, new = _flat(old), _flat(new)
    added_to_asrkit = {key for key in new if key.rpartition(".")[0] in ("", *sections)}
    keys = set(old) | (set(new) - added_to_asrkit)
    return [key for key in sorted(keys) if old.get(key) != new.get(key)
            and not any(key == name or key.startswith(name + ".") for name in may_change)]


def _flat(values: dict, prefix: str = "") -> dict:
    """{"a": {"b": 1}} -> {"a.b": 1}: the keys a changed value is named by."""
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:  # an empty dict is a value of its own ({} -> {"x": 1} is a change)
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat
