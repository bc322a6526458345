"""Hazard rules: how detections become suspected hazard areas, loaded from validated YAML.

A programme sets these to its national standards (e.g. the fade-out margin its clearance
practice uses). Every distance is in metres of the detections' projected CRS.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args

from pyproj import CRS
from pyproj.exceptions import CRSError

from rams.config import Invalid, Upgrade, bounded, from_mapping, load_config, version_field

Outline = Literal["concave", "convex", "ellipse"]
OUTLINES: tuple[str, ...] = get_args(Outline)


@dataclass(frozen=True)
class CmrRules:
    """Strike footprints from submunition detections (all distances in m)."""

    neighbour_distance_m: float = bounded(30.0, 0.0, low_open=True)
    """Items closer than this are neighbours (DBSCAN eps)."""
    min_samples: int = bounded(3, 1)
    """Items (itself included) within the neighbour distance that make an item a cluster core."""
    outline: Outline = "concave"
    """Tight outline of a cluster's items: concave hull, convex hull or enclosing ellipse."""
    concave_ratio: float = bounded(0.4, 0.0, 1.0)
    """shapely.concave_hull ratio: 0 most concave, 1 the convex hull."""
    fade_out_m: float = bounded(25.0, 0.0)
    """Margin added around every footprint, as clearance continues to fade-out."""
    isolated_item_radius_m: float = bounded(5.0, 0.0, low_open=True)
    """Radius around a lone item (one in no cluster and out of every cluster's reach), before
    its fade-out margin."""
    isolated_fade_out_m: float = bounded(5.0, 0.0)
    """Margin added around a lone item's disc instead of ``fade_out_m``: a single detection is
    no strike, and one false item must not claim a strike's fade-out (with 5 m radius and the
    25 m strike margin a lone item would cover 2,800 m²; with this 5 m margin 314 m²).
    At most ``fade_out_m``."""
    min_confidence: float = bounded(0.0, 0.0, 1.0)
    """Submunition detections below this confidence (0-1) are not evidence; 0 takes every
    reported detection (the survey already applied the model's calibrated threshold)."""

    def checked(self) -> CmrRules:
        """These rules, refused (:class:`Invalid`) when a lone item gets more margin than a strike."""
        if self.isolated_fade_out_m > self.fade_out_m:
            raise Invalid("isolated_fade_out_m",
                          f"{self.isolated_fade_out_m} m is more than fade_out_m ({self.fade_out_m} m): "
                          "a lone item never gets a wider margin than a strike")
        return self


@dataclass(frozen=True)
class FortificationRules:
    """Fortification hazard areas from trench and position detections (distances in m)."""

    trench_buffer_m: float = bounded(25.0, 0.0, low_open=True)  # a line buffered by 0 m has no area
    """Buffer around a trench centre line (defensive lines are often mined in front)."""
    position_buffer_m: float = bounded(25.0, 0.0)
    """Buffer around a position's outer edge."""
    min_confidence: float = bounded(0.0, 0.0, 1.0)
    """Trench and position detections below this confidence (0-1) are not evidence."""


@dataclass(frozen=True)
class HazardRules:
    """One rules profile: CMR and fortification rules and the CRS a programme expects."""

    # schema version n -> the function that rewrites a version-n file as n + 1 (none yet)
    UPGRADES: ClassVar[Mapping[int, Upgrade]] = {}

    schema_version: int = version_field(1)
    name: str = "default"
    cmr: CmrRules = field(default_factory=CmrRules)
    fortification: FortificationRules = field(default_factory=FortificationRules)
    expected_crs: str | None = None
    """If set (e.g. "EPSG:32638"), detections in another CRS are refused."""

    def checked(self) -> HazardRules:
        """These rules, refused (:class:`Invalid`) when unnamed or expecting a CRS not in metres."""
        if not self.name.strip():
            raise Invalid("name", "must not be empty")
        if self.expected_crs is not None:
            try:
                crs = CRS.from_user_input(self.expected_crs)
            except CRSError:
                raise Invalid("expected_crs", f"is not a CRS: {self.expected_crs!r}") from None
            if not crs.is_projected:
                raise Invalid("expected_crs", f"must be a projected CRS in metres, got {self.expected_crs!r}")
        return self


def rules_from_dict(data: Any, source: str = "<rules>") -> HazardRules:
    """Validate a parsed rules mapping; ``source`` names the file in error messages.

    Raises RamsError naming the offending key for unknown keys and impossible values.
    """
    return from_mapping(HazardRules, data, source)


def load_rules(path: str | Path) -> HazardRules:
    """Load and validate a rules YAML file (see configs/hazards/default.yaml)."""
    return load_config(HazardRules, path)


def rules_to_dict(rules: HazardRules) -> dict[str, Any]:
    """The rules as a plain mapping (for metadata and reports); round-trips via rules_from_dict."""
    return dataclasses.asdict(rules)
