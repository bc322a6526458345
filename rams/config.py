"""Typed, validated configuration: the one way rams reads a YAML file it is given.

Survey settings, hazard rules, training configs and model cards are frozen dataclasses whose
type hints say what each key holds; :func:`load_config` builds one from a YAML file and
:func:`from_mapping` from a parsed mapping. Supported types: ``bool``, ``int``, ``float``,
``str``, ``Any`` (taken as written), ``Literal[...]`` choices, ``X | None``, ``tuple[X, ...]``
and fixed ``tuple[X, Y]``, ``list[X]``, ``dict[str, X]``, nested dataclasses and NamedTuples
(each read from a mapping), and the annotated kinds below: :data:`RelativePath`,
:data:`ModelRef`, :data:`Seeds`, :data:`FloatRange` and :data:`IntRange`. Numbers carry their
bounds in :func:`bounded` fields (applied to every number of a tuple, list or mapping too); a
field without a default is a key the file must give; a class may define ``checked()`` for rules
that tie keys together (it raises :class:`Invalid`).

Unknown keys and impossible values are errors of one line naming the file and the dotted key
(``RamsError(file, "train.synth.seeds[2]: ...")``), so a typo never silently falls back to a
default. A top-level class with a ``schema_version`` field (see :func:`version_field`) is
versioned: a file without the key is version 1, a file newer than the class is refused, and an
older one is brought up to date by the class's ``UPGRADES`` before it is read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml

from rams.errors import RamsError

C = TypeVar("C")

#: The key that holds a file's schema version, and the version of a file without it.
SCHEMA_KEY = "schema_version"
FIRST_SCHEMA_VERSION = 1

#: The default of a :func:`bounded` field that the file must give.
REQUIRED: Any = dataclasses.MISSING

#: Turns the mapping of one schema version into that of the next (``UPGRADES[n]``: n -> n + 1).
Upgrade = Callable[[dict[str, Any]], dict[str, Any]]

# libyaml's loader where installed: a model card with its recorded metrics is thousands of lines
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class _Marker:
    """What an ``Annotated`` type means beyond its Python type (see the aliases below)."""

    name: str


_PATH, _MODEL, _SEEDS, _RANGE = _Marker("path"), _Marker("model"), _Marker("seeds"), _Marker("range")

#: A file or folder; a relative one is read against the folder of the config file naming it
#: (defaults too), so a config means the same from any working directory.
RelativePath = Annotated[str, _PATH]
#: A model: a name under the models folder, or a folder beside the config file when one of that
#: name exists there.
ModelRef = Annotated[str, _MODEL]
#: Seeds of synthetic scenes: a list of integers >= 0, ``{first: N, count: K}`` (N, N+1, ...,
#: N+K-1), or a list mixing both; read as a tuple of integers in the order given.
Seeds = Annotated[tuple[int, ...], _SEEDS]
#: A ``[min, max]`` pair with min <= max, or one number for both.
FloatRange = Annotated[tuple[float, float], _RANGE]
IntRange = Annotated[tuple[int, int], _RANGE]


@dataclass(frozen=True)
class SeedRange:
    """Seeds ``first`` to ``first + count - 1``."""

    first: int = dataclasses.field(metadata={"low": 0})
    count: int = dataclasses.field(metadata={"low": 1})


class Invalid(ValueError):
    """Raised by a config class's ``checked()`` for values that cannot go together: ``key`` is
    dotted from that class (the loader prefixes where it sits in the file)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key, self.problem = key, problem


def bounded(
    default: Any, low: float = -math.inf, high: float = math.inf, *, low_open: bool = False, doc: str = ""
) -> Any:
    """A dataclass field whose numbers must lie in ``[low, high]`` (``(low, high]`` when
    ``low_open``: e.g. a distance that must be positive); ``doc`` says what it is, with units."""
    return dataclasses.field(default=default, metadata={"low": low, "high": high, "low_open": low_open, "doc": doc})


def version_field(current: int) -> Any:
    """The ``schema_version`` field of a versioned config class: ``current`` is the version
    this code writes and reads; files without the key are version :data:`FIRST_SCHEMA_VERSION`."""
    return dataclasses.field(
        default=current, metadata={"low": FIRST_SCHEMA_VERSION, "doc": "layout version of the file"}
    )


def choices_text(choices: typing.Iterable[Any]) -> str:
    """``a, b or c``: the values a key may take, for error messages."""
    names = [str(c) for c in choices]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


@dataclass(frozen=True)
class _Reading:
    source: str  # the file named in errors
    base: Path | None  # folder that relative paths are read against (None: left as written)


def _bounds_text(low: float, high: float, low_open: bool) -> str:
    if not low_open and math.isfinite(low) and math.isfinite(high):
        return f"within [{low:g}, {high:g}]"
    parts = [f"{'>' if low_open else '>='} {low:g}"] if low > -math.inf else []
    parts += [f"<= {high:g}"] if high < math.inf else []
    return " and ".join(parts)


def _number(r: _Reading, key: str, value: Any, kind: type, meta: Mapping[str, Any]) -> Any:
    ok = isinstance(value, int) if kind is int else isinstance(value, int | float)
    if isinstance(value, bool) or not ok or not math.isfinite(value):
        hint = ""
        if isinstance(value, str) and kind is float:
            try:
                float(value)
                hint = " (YAML reads 1e-4 as text: write 1.0e-4)"
            except ValueError:
                pass
        raise RamsError(r.source, f"{key}: must be {'an integer' if kind is int else 'a number'}, got {value!r}{hint}")
    low, high, low_open = meta.get("low", -math.inf), meta.get("high", math.inf), meta.get("low_open", False)
    if (value <= low if low_open else value < low) or value > high:
        raise RamsError(r.source, f"{key}: must be {_bounds_text(low, high, low_open)}, got {value!r}")
    return kind(value)


def _sequence(r: _Reading, key: str, value: Any, what: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise RamsError(r.source, f"{key}: must be a list of {what}, got {value!r}")
    return list(value)


def _seeds(r: _Reading, key: str, value: Any) -> tuple[int, ...]:
    what = "seeds (integers >= 0) and/or {first: N, count: K}"
    items = [value] if isinstance(value, dict) else _sequence(r, key, value, what)
    seeds: list[int] = []
    for i, item in enumerate(items):
        at = key if isinstance(value, dict) else f"{key}[{i}]"
        if isinstance(item, dict):
            span = _record(r, at, item, SeedRange)
            seeds.extend(range(span.first, span.first + span.count))
        else:
            seeds.append(_number(r, at, item, int, {"low": 0}))
    return tuple(seeds)


def _annotated(r: _Reading, key: str, value: Any, kind: Any, meta: Mapping[str, Any]) -> Any:
    inner, *markers = typing.get_args(kind)
    if _SEEDS in markers:
        return _seeds(r, key, value)
    if _RANGE in markers:
        number = typing.get_args(inner)[0]
        pair = [value, value] if isinstance(value, int | float) and not isinstance(value, bool) else value
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise RamsError(r.source, f"{key}: must be [min, max] or one number, got {value!r}")
        low, high = (_number(r, f"{key}[{i}]", v, number, meta) for i, v in enumerate(pair))
        if low > high:
            raise RamsError(r.source, f"{key}: min must not exceed max, got {list(pair)!r}")
        return low, high
    text = _convert(r, key, value, inner, meta)
    if r.base is None:
        return text
    if _PATH in markers:
        return str(r.base / text)
    if _MODEL in markers and text and (r.base / text).is_dir():
        return str(r.base / text)
    return text


def _convert(r: _Reading, key: str, value: Any, kind: Any, meta: Mapping[str, Any]) -> Any:
    """``value`` (parsed YAML at dotted ``key``) checked and converted to type ``kind``."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is Annotated:
        return _annotated(r, key, value, kind, meta)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            raise TypeError(f"config type {kind} at {key}: only X | None unions are supported")
        return _convert(r, key, value, rest[0], meta)
    if kind is Any:
        return value
    if origin is typing.Literal:
        for choice in args:  # a bool is no integer choice (True == 1)
            if value == choice and type(value) is type(choice):
                return choice
        raise RamsError(r.source, f"{key}: must be {choices_text(args)}, got {value!r}")
    if dataclasses.is_dataclass(kind) or _is_named_tuple(kind):
        return _record(r, key, value, kind)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            items = _sequence(r, key, value, "values")
            return tuple(_convert(r, f"{key}[{i}]", v, args[0], meta) for i, v in enumerate(items))
        items = _sequence(r, key, value, f"{len(args)} values")
        if len(items) != len(args):
            raise RamsError(r.source, f"{key}: must be a list of {len(args)} values, got {value!r}")
        return tuple(_convert(r, f"{key}[{i}]", v, a, meta) for i, (v, a) in enumerate(zip(items, args, strict=True)))
    if origin is list:
        items = _sequence(r, key, value, "values")
        return [_convert(r, f"{key}[{i}]", v, args[0], meta) for i, v in enumerate(items)]
    if origin is dict:
        if not isinstance(value, dict):
            raise RamsError(r.source, f"{key}: must be a mapping, got {value!r}")
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise RamsError(r.source, f"{key}: keys must be text, got {k!r}")
            out[k] = _convert(r, f"{key}.{k}", v, args[1], meta)
        return out
    if kind is bool:
        if not isinstance(value, bool):
            raise RamsError(r.source, f"{key}: must be true or false, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise RamsError(r.source, f"{key}: must be text, got {value!r}")
        return value
    if kind in (int, float):
        return _number(r, key, value, kind, meta)
    raise TypeError(f"config type {kind} at {key} is not supported")


def _is_named_tuple(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, tuple) and hasattr(kind, "_fields")


def _fields(cls: type) -> dict[str, tuple[Any, Mapping[str, Any], Any]]:
    """name -> (type, metadata, default or ``dataclasses.MISSING`` when the key is required)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    if _is_named_tuple(cls):
        return {n: (hints[n], {}, cls._field_defaults.get(n, dataclasses.MISSING)) for n in cls._fields}
    out = {}
    for f in dataclasses.fields(cls):
        if f.init:
            default = f.default if f.default_factory is dataclasses.MISSING else f.default_factory()
            out[f.name] = (hints[f.name], f.metadata, default)
    return out


def _record(r: _Reading, key: str, data: Any, cls: type[C]) -> C:
    prefix = f"{key}." if key else ""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RamsError(r.source, f"{key or 'configuration'}: must be a mapping, got {data!r}")
    fields = _fields(cls)
    values = {}
    for name, value in data.items():
        if name not in fields:
            raise RamsError(r.source, f"unknown key '{prefix}{name}' (known: {', '.join(sorted(fields))})")
        kind, meta, _ = fields[name]
        values[name] = _convert(r, f"{prefix}{name}", value, kind, meta)
    for name, (kind, meta, default) in fields.items():
        if name in values:
            continue
        if default is dataclasses.MISSING:
            raise RamsError(r.source, f"{prefix}{name}: missing (required)")
        if isinstance(default, str) and _PATH in _markers(kind):
            values[name] = _convert(r, f"{prefix}{name}", default, kind, meta)  # read beside the file
    value = cls(**values)
    checked = getattr(value, "checked", None)
    if checked is not None:
        try:
            value = checked()
        except Invalid as err:
            raise RamsError(r.source, f"{prefix}{err.key}: {err.problem}") from None
    return value


def _markers(kind: Any) -> tuple[Any, ...]:
    if typing.get_origin(kind) in (types.UnionType, typing.Union):
        return tuple(m for a in typing.get_args(kind) for m in _markers(a))
    return typing.get_args(kind)[1:] if typing.get_origin(kind) is Annotated else ()


def upgraded(cls: type, data: Any, source: str) -> Any:
    """A parsed top-level mapping of versioned ``cls`` brought to the version ``cls`` reads
    (the ``schema_version`` key first); anything else is returned as it is.

    A missing ``schema_version`` is version 1; a newer one than ``cls`` knows is refused.
    """
    fields = _fields(cls) if dataclasses.is_dataclass(cls) else {}
    if SCHEMA_KEY not in fields or not isinstance(data, dict):
        return data
    kind, meta, current = fields[SCHEMA_KEY]
    r = _Reading(source, None)
    version = _convert(r, SCHEMA_KEY, data.get(SCHEMA_KEY, FIRST_SCHEMA_VERSION), kind, meta)
    if version > current:
        raise RamsError(source, f"{SCHEMA_KEY}: {version} is newer than this rams reads (up to {current}); "
                                "update rams")
    upgrades: Mapping[int, Upgrade] = getattr(cls, "UPGRADES", {})
    for step in range(version, current):
        data = upgrades[step](data)
    return {SCHEMA_KEY: current, **{k: v for k, v in data.items() if k != SCHEMA_KEY}}


def from_mapping(cls: type[C], data: Any, source: str, *, base: str | Path | None = None) -> C:
    """Build dataclass ``cls`` from a parsed top-level mapping (None: the defaults), upgrading
    its schema version and validating keys, types, bounds and cross-key rules.

    ``source`` names the file in errors; relative paths are read against ``base`` (left as
    written when None).
    """
    r = _Reading(source, Path(base) if base is not None else None)
    return _record(r, "", upgraded(cls, data, source), cls)


def read_yaml(path: str | Path) -> Any:
    """The parsed content of a YAML file; a RamsError naming it when unreadable or not YAML."""
    p = Path(path)
    try:
        return yaml.load(p.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except OSError as err:
        raise RamsError(p, f"cannot read configuration ({err.strerror or err})") from None
    except yaml.YAMLError as err:
        raise RamsError(p, f"not valid YAML ({' '.join(str(err).split())})") from None


def load_config(cls: type[C], path: str | Path | None) -> C:
    """Load ``cls`` from a YAML file, relative paths in it read against its folder (defaults
    when ``path`` is None)."""
    if path is None:
        return cls()
    p = Path(path)
    return from_mapping(cls, read_yaml(p), str(p), base=p.parent)


def iso_date(source: str | Path, value: str) -> str:
    """``value`` as an ISO 8601 date (YYYY-MM-DD; "" stays ""), or a `RamsError` naming ``source``."""
    if not value:
        return ""
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise RamsError(source, f"survey date {value!r} is not YYYY-MM-DD") from None
