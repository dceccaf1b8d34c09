"""Typed settings read from environment variables.

Each service declares one frozen dataclass of its settings and builds it in ``main()`` with
``from_env``; nothing is read at import time. A field's default is its documented default; a
field without a default is required and a missing value fails fast at start-up.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["ConfigError", "describe", "env_field", "from_env", "process_environ", "read_env_file"]

T = TypeVar("T", bound="DataclassInstance")
V = TypeVar("V")


class ConfigError(ValueError):
    """A setting is missing or cannot be parsed."""


@overload
def env_field(env: str, default: V, doc: str = "", *, secret: bool = False) -> V: ...


# A required field: like dataclasses.field without a default, it stands for any annotation.
@overload
def env_field(env: str, *, doc: str = "", secret: bool = False) -> Any: ...


def env_field(
    env: str, default: object = dataclasses.MISSING, doc: str = "", *, secret: bool = False
) -> object:
    """Declare a settings field bound to the environment variable ``env``.

    ``secret`` keeps the value out of the settings' repr (and with it out of logs).
    """
    metadata = {"env": env, "doc": doc}
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=metadata, repr=not secret)
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(
            default_factory=lambda: type(default)(default), metadata=metadata, repr=not secret
        )
    return dataclasses.field(default=default, metadata=metadata, repr=not secret)


_SCALARS: dict[object, Callable[[str], object]] = {int: int, float: float, str: str}


def _parse(raw: str, annotation: object, env: str) -> object:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if raw == "":
            return None
        return _parse(raw, args[0], env)
    if origin in (tuple, list):
        (item,) = typing.get_args(annotation)[:1]
        items = [part.strip() for part in raw.split(",") if part.strip()]
        values = [_parse(part, item, env) for part in items]
        return tuple(values) if origin is tuple else values
    try:
        if annotation is bool:
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(raw)
        scalar = _SCALARS.get(annotation)
        if scalar is not None:
            return scalar(raw)
    except ValueError as exc:
        name = getattr(annotation, "__name__", annotation)
        raise ConfigError(f"{env}={raw!r} is not a valid {name}") from exc
    raise ConfigError(f"{env}: unsupported settings type {annotation!r}")


def from_env(
    cls: type[T],
    environ: Mapping[str, str] | None = None,
    *,
    prefix: str = "",
    defaults: Mapping[str, object] | None = None,
    **overrides: object,
) -> T:
    """Build the settings dataclass ``cls`` from ``environ`` (default: ``os.environ``).

    ``prefix`` is prepended to every variable name, so one settings class (e.g. the server's)
    serves every service; ``defaults`` replaces a field's default for that use.
    """
    environ = process_environ() if environ is None else environ
    defaults = defaults or {}
    hints = typing.get_type_hints(cls)
    values: dict[str, object] = {}
    for field in dataclasses.fields(cls):
        if field.name in overrides:
            values[field.name] = overrides[field.name]
            continue
        env = field.metadata.get("env")
        if env is None:
            continue
        env = prefix + env
        if env in environ:
            values[field.name] = _parse(environ[env], hints[field.name], env)
        elif field.name in defaults:
            values[field.name] = defaults[field.name]
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{env} is required")
    return cls(**values)


def read_env_file(path: str) -> dict[str, str]:
    """``KEY=VALUE`` lines (``#`` comments and blank lines skipped; no quoting, no expansion)."""
    values: dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise ConfigError(f"{path}:{number}: expected KEY=VALUE")
            values[key.strip()] = value
    return values


def process_environ() -> Mapping[str, str]:
    """The process environment, over the generated secrets file ``EP_SECRETS_FILE`` names.

    Installations generate their secrets on first start (devstack/secrets.py: the local run and
    the compose init service) into a file no one commits; every process reads it through here,
    and a variable set in the environment wins over the file.
    """
    path = os.environ.get("EP_SECRETS_FILE", "")
    if not path:
        return os.environ
    try:
        return {**read_env_file(path), **os.environ}
    except FileNotFoundError:
        raise ConfigError(f"EP_SECRETS_FILE={path}: no such file (generated at first start)") from None


def describe(cls: type[DataclassInstance]) -> list[tuple[str, str, str]]:
    """(variable, default, doc) rows, for the README's configuration table."""
    rows = []
    for field in dataclasses.fields(cls):
        env = field.metadata.get("env")
        if env is None:
            continue
        if field.default is not dataclasses.MISSING:
            default = repr(field.default)
        elif field.default_factory is not dataclasses.MISSING:
            default = repr(field.default_factory())
        else:
            default = "(required)"
        rows.append((env, default, field.metadata.get("doc", "")))
    return rows
