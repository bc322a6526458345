"""Model cards and weights: ``models/<name>/model.safetensors`` + ``card.yaml``.

The card records what a model expects and how it was trained; the weights' sha256 in the card
is checked on every load and a mismatch is refused. Weights are safetensors, never pickle. What
``rams evaluate --record`` measured is kept beside the card, in ``metrics.yaml``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
import yaml
from safetensors.torch import load_file, save_file

import rams
from rams.config import (
    REQUIRED,
    FloatRange,
    Invalid,
    Upgrade,
    bounded,
    choices_text,
    from_mapping,
    read_yaml,
    upgraded,
    version_field,
)
from rams.detector.model import CLASSES, ORIENTATIONS
from rams.elevation import check_encoding
from rams.errors import RamsError
from rams.outputs import write_text
from rams.resources import models_dir

WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "card.yaml"
METRICS_FILE = "metrics.yaml"


@dataclass(frozen=True, kw_only=True)
class ModelCard:
    """What a model expects and how it was made (``card.yaml``); keys without a default are
    required. Read through :func:`read_card`, which hands consumers the checked mapping."""

    # schema version n -> the function that rewrites a version-n card as n + 1 (none yet)
    UPGRADES: ClassVar[Mapping[int, Upgrade]] = {}

    schema_version: int = version_field(1)
    name: str
    kind: Literal["detector", "verifier"] = "detector"
    classes: tuple[str, ...]
    input_bands: tuple[str, ...]  # red, green, blue, then optionally elevation
    elevation_encoding: dict[str, float] | None = None  # how the elevation band's levels map to metres
    input_dtype: Literal["uint8"] = "uint8"
    normalisation: dict[str, Any]
    gsd_range_m: FloatRange = bounded(REQUIRED, 0.0, low_open=True, doc="metres per pixel it was trained for")
    tile_px: int = bounded(REQUIRED, 1, doc="tile side (verifier: patch side), pixels")
    overlap_px: int = bounded(REQUIRED, 0, doc="tile overlap, pixels")
    orientations: int = 1  # looks averaged per input: 1, 4 (quarter turns) or 8 (and mirrored)
    arch: dict[str, Any]  # the network's constructor arguments
    postprocess: dict[str, float] = field(default_factory=dict, metadata={"low": 0.0})  # calibrated thresholds
    # a verifier's Platt scaling of its probabilities (slope, intercept; rams.detector.calibration)
    calibration: dict[str, float] | None = None
    outputs: tuple[str, ...] | None = None  # evidence maps trained; None: all classes
    input_gsd_m: float | None = bounded(None, 0.0, low_open=True, doc="a context model's input GSD, metres")
    context_model: str | None = None  # name or folder beside this one
    verifier_model: str | None = None  # name or folder beside this one
    # free-form records: shown to users, never interpreted
    limitations: tuple[str, ...] = ()
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)  # the trainer's validation summary
    sha256: str  # of the weights file, checked on every load
    rams_version: str

    def checked(self) -> ModelCard:
        """This card, refused (:class:`Invalid`) where a value is impossible."""
        if not self.name.strip():
            raise Invalid("name", "must not be empty")
        if not self.input_bands:
            raise Invalid("input_bands", "must name at least one band")
        if self.orientations not in ORIENTATIONS:
            raise Invalid("orientations", f"must be {choices_text(ORIENTATIONS)}, got {self.orientations}")
        if self.outputs is not None and (not self.outputs or set(self.outputs) - set(CLASSES)):
            raise Invalid("outputs", f"must be a non-empty subset of {list(CLASSES)}, got {list(self.outputs)}")
        if not re.fullmatch(r"[0-9a-f]{64}", self.sha256):
            raise Invalid("sha256", f"must be 64 hexadecimal digits, got {self.sha256!r}")
        return self


def checked_card(card: Any, source: str | Path) -> dict[str, Any]:
    """A parsed card brought to the current schema version and validated as a
    :class:`ModelCard`; returned as the mapping consumers read (``card["tile_px"]``)."""
    card = upgraded(ModelCard, card, str(source))
    from_mapping(ModelCard, card, str(source))  # refuses unknown keys and impossible values
    return card


def resolve_model_dir(name_or_dir: str | os.PathLike[str]) -> Path:
    """A model folder given either its path or its name under :func:`models_dir`."""
    path = Path(name_or_dir)
    if (path / CARD_FILE).is_file():
        return path
    named = models_dir() / str(name_or_dir)
    if (named / CARD_FILE).is_file():
        return named
    raise RamsError(name_or_dir, f"no model here or under {models_dir()} (needs {CARD_FILE})")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_card(model_dir: Path) -> dict[str, Any]:
    """The card of a model folder, validated as a :class:`ModelCard` (see :func:`checked_card`)."""
    path = Path(model_dir) / CARD_FILE
    return checked_card(read_yaml(path), path)


def load_weights(model_dir: Path, card: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The state dict of a model folder, after checking the file's sha256 against the card."""
    path = model_dir / WEIGHTS_FILE
    if not path.is_file():
        raise RamsError(path, "weights file missing")
    actual = sha256_file(path)
    if actual != card["sha256"]:
        raise RamsError(path, f"sha256 {actual[:12]}… does not match the model card "
                              f"({str(card['sha256'])[:12]}…); refusing modified weights")
    return load_file(str(path))


def load_into(model: torch.nn.Module, model_dir: Path, card: dict[str, Any]) -> torch.nn.Module:
    """``model`` with the verified weights of ``model_dir`` (see :func:`load_weights`) loaded."""
    try:
        model.load_state_dict(load_weights(model_dir, card))
    except RuntimeError as err:
        raise RamsError(Path(model_dir) / WEIGHTS_FILE,
                        f"weights do not fit the card's architecture ({err})") from err
    return model


def load_model(name_or_dir: str | os.PathLike[str], build: Callable[[dict], torch.nn.Module]
               ) -> tuple[torch.nn.Module, Path, dict[str, Any]]:
    """The network ``build(card["arch"])`` of a model folder (or name under ``models/``) with its
    verified weights, the folder and the card."""
    model_dir = resolve_model_dir(name_or_dir)
    card = read_card(model_dir)
    check_encoding(card, model_dir / CARD_FILE)
    return load_into(build(card["arch"]), model_dir, card), model_dir, card


def write_weights(path: Path, state: dict[str, torch.Tensor]) -> str:
    """Write a state dict as safetensors atomically; returns the file's sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(tmp))
    os.replace(tmp, path)
    return sha256_file(path)


def save_model(model_dir: Path, model: torch.nn.Module, card: dict[str, Any]) -> dict[str, Any]:
    """Write weights + card (schema_version, sha256 and rams_version filled in) into
    ``model_dir``; return the card. A card that :func:`read_card` would refuse is not written."""
    model_dir = Path(model_dir)
    card = dict(card, sha256=write_weights(model_dir / WEIGHTS_FILE, model.state_dict()),
                rams_version=rams.__version__)
    card = checked_card(card, model_dir / CARD_FILE)
    write_text(model_dir / CARD_FILE, yaml.safe_dump(card, sort_keys=False, allow_unicode=True))
    return card


def read_metrics(model_dir: Path) -> dict[str, Any]:
    """The metric records of a model folder (``metrics.yaml``: section -> flight -> record), or
    an empty mapping when none were made. The trainer's own validation summary stays in the card
    (``card["metrics"]["validation"]``)."""
    path = Path(model_dir) / METRICS_FILE
    if not path.is_file():
        return {}
    records = read_yaml(path)
    if records is None:
        return {}
    if not isinstance(records, dict):
        raise RamsError(path, "metric records are not a mapping")
    return records


def record_metrics(model_dir: Path, section: str, flight: str, metrics: dict[str, Any],
                   command: str, networks: dict[str, str] | None = None) -> None:
    """Record one flight's evaluation in the model's ``metrics.yaml`` under ``[section][flight]``.

    The card and the weights do not change; the file is replaced atomically. ``command`` is kept
    beside the numbers so anyone can reproduce them, and ``networks`` (card names and weights'
    sha256 of the model, its context model and verifier) says which networks made them, since a
    card's ``verifier_model`` or ``context_model`` may change after the numbers were recorded.
    """
    model_dir = Path(model_dir)
    read_card(model_dir)  # a model folder, not any folder
    records = read_metrics(model_dir)
    per_class = {cls: {k: round(float(v), 4) for k, v in m.items()} for cls, m in metrics.items()}
    records.setdefault(section, {})[flight] = {
        "command": command, **({"networks": networks} if networks else {}), **per_class}
    write_text(model_dir / METRICS_FILE, yaml.safe_dump(records, sort_keys=False, allow_unicode=True))
