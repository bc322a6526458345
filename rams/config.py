"""Validated YAML configuration: dataclasses whose fields carry their allowed range.

Unknown keys and impossible values are errors naming the file and the dotted key, so a typo
never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from rams.errors import RamsError

C = TypeVar("C")


def bounded(default: Any, low: float = -math.inf, high: float = math.inf, *, doc: str = "") -> Any:
    """A dataclass field with inclusive bounds checked on load."""
    return dataclasses.field(default=default, metadata={"low": low, "high": high, "doc": doc})


def _check(source: str, key: str, value: Any, kind: Any, meta: dict) -> Any:
    optional = isinstance(kind, types.UnionType) and type(None) in typing.get_args(kind)
    if optional:
        if value is None:
            return None
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    if dataclasses.is_dataclass(kind):
        return from_mapping(kind, value, source, prefix=f"{key}.")
    if kind is bool:
        if not isinstance(value, bool):
            raise RamsError(source, f"{key} must be true or false, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise RamsError(source, f"{key} must be a string, got {value!r}")
        return value
    numeric = kind in (int, float)
    if numeric:
        ok = isinstance(value, int) if kind is int else isinstance(value, int | float)
        if isinstance(value, bool) or not ok or not math.isfinite(value):
            raise RamsError(
                source,
                f"{key} must be {'an integer' if kind is int else 'a number'}, got {value!r}",
            )
        low, high = meta.get("low", -math.inf), meta.get("high", math.inf)
        if not low <= value <= high:
            raise RamsError(source, f"{key} must be within [{low:g}, {high:g}], got {value!r}")
        return kind(value)
    return value


def from_mapping(cls: type[C], data: Any, source: str, prefix: str = "") -> C:
    """Build dataclass ``cls`` from a parsed mapping, validating keys, types and bounds."""
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise RamsError(source, f"{prefix.rstrip('.') or 'configuration'} must be a mapping")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    values = {}
    for key, value in data.items():
        if key not in fields:
            known = ", ".join(sorted(fields))
            raise RamsError(source, f"unknown key '{prefix}{key}' (known: {known})")
        values[key] = _check(
            source, f"{prefix}{key}", value, hints[key], dict(fields[key].metadata)
        )
    return cls(**values)


def load_config(cls: type[C], path: str | Path | None) -> C:
    """Load ``cls`` from a YAML file (defaults when ``path`` is None)."""
    if path is None:
        return cls()
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as err:
        raise RamsError(p, f"cannot read configuration ({err.strerror or err})") from None
    except yaml.YAMLError as err:
        raise RamsError(p, f"not valid YAML ({' '.join(str(err).split())})") from None
    return from_mapping(cls, data, str(p))
