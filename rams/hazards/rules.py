"""Hazard rules: how detections become suspected hazard areas, loaded from validated YAML.

A programme sets these to its national standards (e.g. the fade-out margin its clearance
practice uses). Every distance is in metres of the detections' projected CRS.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pyproj import CRS
from pyproj.exceptions import CRSError

from rams.errors import RamsError

Outline = Literal["concave", "convex", "ellipse"]
OUTLINES: tuple[str, ...] = ("concave", "convex", "ellipse")


@dataclass(frozen=True)
class CmrRules:
    """Strike footprints from submunition detections (all distances in m)."""

    neighbour_distance_m: float = 30.0
    """Items closer than this are neighbours (DBSCAN eps)."""
    min_samples: int = 3
    """Items (itself included) within the neighbour distance that make an item a cluster core."""
    outline: Outline = "concave"
    """Tight outline of a cluster's items: concave hull, convex hull or enclosing ellipse."""
    concave_ratio: float = 0.4
    """shapely.concave_hull ratio: 0 most concave, 1 the convex hull."""
    fade_out_m: float = 25.0
    """Margin added around every footprint, as clearance continues to fade-out."""
    isolated_item_radius_m: float = 5.0
    """Radius around an item that belongs to no cluster, before the fade-out margin."""
    min_confidence: float = 0.0
    """Submunition detections below this confidence (0-1) are not evidence; 0 takes every
    reported detection (the survey already applied the model's calibrated threshold)."""


@dataclass(frozen=True)
class FortificationRules:
    """Fortification hazard areas from trench and position detections (distances in m)."""

    trench_buffer_m: float = 25.0
    """Buffer around a trench centre line (defensive lines are often mined in front)."""
    position_buffer_m: float = 25.0
    """Buffer around a position's outer edge."""
    min_confidence: float = 0.0
    """Trench and position detections below this confidence (0-1) are not evidence."""


@dataclass(frozen=True)
class HazardRules:
    """One rules profile: CMR and fortification rules and the CRS a programme expects."""

    name: str = "default"
    cmr: CmrRules = field(default_factory=CmrRules)
    fortification: FortificationRules = field(default_factory=FortificationRules)
    expected_crs: str | None = None
    """If set (e.g. "EPSG:32638"), detections in another CRS are refused."""


def _check_number(source: str, key: str, value: Any, *, low: float, low_open: bool,
                  high: float = math.inf, integer: bool = False) -> float | int:
    kind = "an integer" if integer else "a number"
    ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type or not math.isfinite(value):
        raise RamsError(source, f"{key} must be {kind}, got {value!r}")
    too_low = value <= low if low_open else value < low
    if too_low or value > high:
        bound = f"> {low:g}" if low_open else f">= {low:g}"
        if high < math.inf:
            bound += f" and <= {high:g}"
        raise RamsError(source, f"{key} must be {bound}, got {value!r}")
    return value


# key -> (low, low_open, high, integer): the values a rule can physically take
_CMR_LIMITS: dict[str, tuple[float, bool, float, bool]] = {
    "neighbour_distance_m": (0.0, True, math.inf, False),
    "min_samples": (1, False, math.inf, True),
    "concave_ratio": (0.0, False, 1.0, False),
    "fade_out_m": (0.0, False, math.inf, False),
    "isolated_item_radius_m": (0.0, True, math.inf, False),
    "min_confidence": (0.0, False, 1.0, False),
}
_FORTIFICATION_LIMITS: dict[str, tuple[float, bool, float, bool]] = {
    "trench_buffer_m": (0.0, True, math.inf, False),  # a line buffered by 0 m has no area
    "position_buffer_m": (0.0, False, math.inf, False),
    "min_confidence": (0.0, False, 1.0, False),
}


def _section(source: str, prefix: str, data: Any, cls: type,
             limits: dict[str, tuple[float, bool, float, bool]]) -> Any:
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise RamsError(source, f"{prefix} must be a mapping of keys to values")
    known = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}.{key}"
        if key not in known:
            raise RamsError(source, f"unknown key {full!r} (known: {', '.join(sorted(known))})")
        if key == "outline":
            if value not in OUTLINES:
                raise RamsError(source, f"{full} must be one of {', '.join(OUTLINES)}, "
                                        f"got {value!r}")
            values[key] = value
            continue
        low, low_open, high, integer = limits[key]
        values[key] = _check_number(source, full, value, low=low, low_open=low_open,
                                    high=high, integer=integer)
    return cls(**values)


def rules_from_dict(data: Any, source: str = "<rules>") -> HazardRules:
    """Validate a parsed rules mapping; ``source`` names the file in error messages.

    Raises RamsError naming the offending key for unknown keys and impossible values.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RamsError(source, "rules must be a YAML mapping")
    known = {f.name for f in dataclasses.fields(HazardRules)}
    for key in data:
        if key not in known:
            raise RamsError(source, f"unknown key {key!r} (known: {', '.join(sorted(known))})")
    name = data.get("name", HazardRules.name)
    if not isinstance(name, str) or not name.strip():
        raise RamsError(source, f"name must be a non-empty string, got {name!r}")
    expected_crs = data.get("expected_crs")
    if expected_crs is not None:
        try:
            crs = CRS.from_user_input(expected_crs)
        except CRSError:
            raise RamsError(source, f"expected_crs is not a CRS: {expected_crs!r}") from None
        if not crs.is_projected:
            raise RamsError(source, f"expected_crs must be a projected CRS in metres, "
                                    f"got {expected_crs!r}")
        expected_crs = str(expected_crs)
    return HazardRules(
        name=name,
        cmr=_section(source, "cmr", data.get("cmr"), CmrRules, _CMR_LIMITS),
        fortification=_section(source, "fortification", data.get("fortification"),
                               FortificationRules, _FORTIFICATION_LIMITS),
        expected_crs=expected_crs,
    )


def load_rules(path: str | Path) -> HazardRules:
    """Load and validate a rules YAML file (see configs/hazards/default.yaml)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise RamsError(path, f"cannot read rules: {err.strerror or err}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise RamsError(path, f"not valid YAML: {err}") from None
    return rules_from_dict(data, str(path))


def rules_to_dict(rules: HazardRules) -> dict[str, Any]:
    """The rules as a plain mapping (for metadata and reports); round-trips via rules_from_dict."""
    return dataclasses.asdict(rules)
