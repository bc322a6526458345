"""Counts and areas of a survey's layers, for people: pure functions over GeoDataFrames.

All areas are m² and lengths m, measured in the flight's projected CRS.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
import shapely

M2_PER_HA = 10_000.0


@dataclass(frozen=True)
class AreaShare:
    """An area (m²) and its share (%) of a reference area; share is None without a reference."""

    area_m2: float
    percent: float | None


@dataclass(frozen=True)
class SurveyTally:
    """What a survey found and what it could see, in numbers."""

    extent_m2: float
    coverage: AreaShare | None  # share of the raster extent; None when no coverage layer
    not_assessable: AreaShare  # union of all reasons, share of coverage (or extent)
    not_assessable_by_reason: dict[str, AreaShare]
    assessable: AreaShare | None  # coverage minus not-assessable ground
    submunitions: int
    trenches: int
    trench_length_m: float
    positions: int
    position_area_m2: float
    strike_footprints: int
    strike_items: int
    hazard_areas: dict[str, tuple[int, float]] = field(default_factory=dict)  # type: (n, m²)
    review: dict[str, dict[str, int]] = field(default_factory=dict)  # see review_counts


def _frame(layers: dict[str, gpd.GeoDataFrame], name: str) -> gpd.GeoDataFrame | None:
    frame = layers.get(name)
    if frame is None or frame.empty:
        return None
    return frame[frame.geometry.notna() & ~frame.geometry.is_empty]


def _column(frame: gpd.GeoDataFrame, name: str, default: str) -> pd.Series:
    if name not in frame:
        return pd.Series(default, index=frame.index)
    return frame[name].fillna(default).astype(str)


def _union_area(frame: gpd.GeoDataFrame | None) -> float:
    # overlapping parts (e.g. two reasons on the same ground) count once
    if frame is None or frame.empty:
        return 0.0
    return float(shapely.union_all(frame.geometry.to_numpy()).area)


def _share(area_m2: float, reference_m2: float | None) -> AreaShare:
    if not reference_m2:
        return AreaShare(area_m2, None)
    return AreaShare(area_m2, 100.0 * area_m2 / reference_m2)


def tally(layers: dict[str, gpd.GeoDataFrame], extent_m2: float) -> SurveyTally:
    """Count features and measure areas of the survey ``layers`` (flight CRS, metres).

    ``extent_m2`` is the raster's full extent; coverage is given as a share of it, and
    not-assessable ground as a share of coverage (of the extent when there is no coverage).
    """
    coverage = _frame(layers, "coverage")
    coverage_m2 = _union_area(coverage) if coverage is not None else None
    reference = coverage_m2 if coverage_m2 else extent_m2

    unassessable = _frame(layers, "not_assessable")
    by_reason: dict[str, AreaShare] = {}
    if unassessable is not None:
        reasons = _column(unassessable, "reason", "unspecified")
        for reason, group in unassessable.groupby(reasons, sort=True):
            by_reason[str(reason)] = _share(_union_area(group), reference)
    unassessable_m2 = _union_area(unassessable)

    assessable = None
    if coverage is not None:
        ground = shapely.union_all(coverage.geometry.to_numpy())
        if unassessable is not None:
            ground = ground.difference(shapely.union_all(unassessable.geometry.to_numpy()))
        assessable = _share(float(ground.area), coverage_m2)

    trenches = _frame(layers, "trenches")
    positions = _frame(layers, "positions")
    footprints = _frame(layers, "strike_footprints")
    hazards = _frame(layers, "hazard_areas")
    hazard_areas: dict[str, tuple[int, float]] = {}
    if hazards is not None:
        kinds = _column(hazards, "hazard_type", "unspecified")
        for kind, group in hazards.groupby(kinds, sort=True):
            hazard_areas[str(kind)] = (len(group), float(group.geometry.area.sum()))

    return SurveyTally(
        extent_m2=extent_m2,
        coverage=_share(coverage_m2, extent_m2) if coverage_m2 is not None else None,
        not_assessable=_share(unassessable_m2, reference),
        not_assessable_by_reason=by_reason,
        assessable=assessable,
        submunitions=_count(layers, "submunitions"),
        trenches=0 if trenches is None else len(trenches),
        trench_length_m=0.0 if trenches is None else float(trenches.geometry.length.sum()),
        positions=0 if positions is None else len(positions),
        position_area_m2=0.0 if positions is None else float(positions.geometry.area.sum()),
        strike_footprints=0 if footprints is None else len(footprints),
        strike_items=(
            int(footprints["item_count"].sum())
            if footprints is not None and "item_count" in footprints
            else 0
        ),
        hazard_areas=hazard_areas,
        review=review_counts(layers),
    )


def _count(layers: dict[str, gpd.GeoDataFrame], name: str) -> int:
    frame = _frame(layers, name)
    return 0 if frame is None else len(frame)


REVIEWED_LAYERS = ("submunitions", "trenches", "positions")
REVIEW_STATES = ("unreviewed", "confirmed", "rejected", "unsure")


def review_counts(layers: dict[str, gpd.GeoDataFrame]) -> dict[str, dict[str, int]]:
    """Per detection layer, its features in each ``review_status`` (``REVIEW_STATES``) and in
    all (``"total"``); a layer without the field counts as unreviewed."""
    counts = {}
    for name in REVIEWED_LAYERS:
        frame = _frame(layers, name)
        status = (_column(frame, "review_status", "unreviewed") if frame is not None
                  else pd.Series([], dtype="str"))
        counts[name] = {**{s: int((status == s).sum()) for s in REVIEW_STATES}, "total": len(status)}
    return counts


def review_in_areas(areas: gpd.GeoDataFrame, layers: dict[str, gpd.GeoDataFrame]) -> list[dict[str, int]]:
    """For each hazard area (row order), the detections touching it in each ``review_status``
    other than unreviewed (rejected ones count though they are no longer its evidence)."""
    found = [dict.fromkeys(REVIEW_STATES[1:], 0) for _ in range(len(areas))]
    geoms = areas.geometry.to_numpy()
    if not len(geoms):
        return found
    tree = shapely.STRtree(geoms)
    for name in REVIEWED_LAYERS:
        frame = _frame(layers, name)
        if frame is None or "review_status" not in frame:
            continue
        status = _column(frame, "review_status", "unreviewed").to_numpy()
        det, area = tree.query(frame.geometry.to_numpy(), predicate="intersects")
        for d, a in zip(det, area, strict=True):
            if status[d] in found[a]:
                found[a][status[d]] += 1
    return found
