"""Suspected hazard areas (status SHA), disaggregated by evidence: CMR and FORTIFICATION.

CMR areas are strike footprints with their fade-out margins; FORTIFICATION areas are trenches
and positions buffered (defensive lines are often mined in front of them). Areas of one type
that overlap merge; areas of different types stay separate features even where they overlap.
An unreviewed model detection is indirect evidence, so every area is SHA, never CHA.
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from rams import geometry
from rams.hazards.footprints import evidence_items, strike_footprints
from rams.hazards.ids import evidence_id
from rams.hazards.rules import HazardRules

AREA_COLUMNS: tuple[str, ...] = (
    "hazard_id", "hazard_type", "status", "evidence_count", "max_confidence", "area_m2",
    "buffer_m", "not_assessable_m2", "unimaged_m2", "flight_id", "survey_date", "model",
    "review_status", "supersedes",
)
CMR = "CMR"
FORTIFICATION = "FORTIFICATION"
_MIN_PART_M2 = 1e-6  # slivers from make_valid are not areas anyone can survey


def polygon_parts(geometries: Iterable[BaseGeometry]) -> list[Polygon]:
    """Valid, disjoint Polygons of the union of ``geometries`` (multi parts exploded)."""
    geoms = [g for g in geometries if g is not None and not g.is_empty]
    if not geoms:
        return []
    union = shapely.union_all(shapely.make_valid(np.asarray(geoms)))
    return [p for p in geometry.polygon_parts(union) if p.area > _MIN_PART_M2]


def _evidence_in_parts(parts: list[Polygon], evidence: gpd.GeoSeries) -> list[np.ndarray]:
    """Indices of the evidence features lying in each part (parts are disjoint)."""
    tree = shapely.STRtree(parts)
    ev_idx, part_idx = tree.query(evidence.to_numpy(), predicate="intersects")
    # an item on the shared edge of float noise belongs to the first part it meets
    _, first = np.unique(ev_idx, return_index=True)
    ev_idx, part_idx = ev_idx[first], part_idx[first]
    return [ev_idx[part_idx == p] for p in range(len(parts))]


def _confident(frame: gpd.GeoDataFrame, min_confidence: float) -> gpd.GeoDataFrame:
    keep = frame["confidence"].to_numpy(dtype=float) >= min_confidence
    return frame.loc[keep & ~frame.geometry.is_empty.to_numpy()].reset_index(drop=True)


def _cmr_rows(submunitions: gpd.GeoDataFrame, rules: HazardRules, flight_id: str) -> list[dict]:
    footprints = strike_footprints(submunitions, rules.cmr)
    parts = polygon_parts(footprints.geometry)
    if not parts:
        return []
    items = evidence_items(submunitions, rules.cmr).reset_index(drop=True)
    confidence = items["confidence"].to_numpy(dtype=float)
    xy = shapely.get_coordinates(items.geometry.to_numpy())
    rows = []
    for part, idx in zip(parts, _evidence_in_parts(parts, items.geometry), strict=True):
        rows.append({
            "hazard_id": evidence_id("HA", f"{flight_id}|{CMR}", xy[idx]),
            "hazard_type": CMR,
            "evidence_count": len(idx),
            "max_confidence": float(confidence[idx].max()) if len(idx) else np.nan,
            "buffer_m": float(rules.cmr.fade_out_m),
            "geometry": part,
        })
    return rows


def _fortification_rows(trenches: gpd.GeoDataFrame, positions: gpd.GeoDataFrame,
                        rules: HazardRules, flight_id: str) -> list[dict]:
    fort = rules.fortification
    lines = _confident(trenches, fort.min_confidence)
    polys = _confident(positions, fort.min_confidence)
    evidence = pd.concat([lines.geometry, polys.geometry], ignore_index=True)
    buffers = np.concatenate([np.full(len(lines), fort.trench_buffer_m),
                              np.full(len(polys), fort.position_buffer_m)])
    confidence = np.concatenate([lines["confidence"].to_numpy(dtype=float),
                                 polys["confidence"].to_numpy(dtype=float)])
    parts = polygon_parts(shapely.buffer(evidence.to_numpy(), buffers))
    if not parts:
        return []
    geoms = evidence.to_numpy()
    rows = []
    for part, idx in zip(parts, _evidence_in_parts(parts, gpd.GeoSeries(evidence)), strict=True):
        coords = shapely.get_coordinates(geoms[idx])
        rows.append({
            "hazard_id": evidence_id("HA", f"{flight_id}|{FORTIFICATION}", coords),
            "hazard_type": FORTIFICATION,
            "evidence_count": len(idx),
            "max_confidence": float(confidence[idx].max()) if len(idx) else np.nan,
            "buffer_m": float(buffers[idx].max()) if len(idx) else np.nan,
            "geometry": part,
        })
    return rows


def _empty(crs: object) -> gpd.GeoDataFrame:
    dtypes = {"evidence_count": "int64", "max_confidence": "float64", "area_m2": "float64",
              "buffer_m": "float64", "not_assessable_m2": "float64", "unimaged_m2": "float64"}
    frame = pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "object")) for c in AREA_COLUMNS})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def hazard_areas(
    submunitions: gpd.GeoDataFrame,
    trenches: gpd.GeoDataFrame,
    positions: gpd.GeoDataFrame,
    not_assessable: gpd.GeoDataFrame,
    rules: HazardRules,
    *,
    flight_id: str,
    survey_date: str,
    model: str,
    coverage: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Suspected hazard areas from detections (survey output contract, projected CRS in m).

    ``submunitions`` (Point), ``trenches`` (LineString) and ``positions`` (Polygon) carry
    ``confidence`` (0-1); ``not_assessable`` (Polygon) is imaged ground where absence of
    evidence means nothing. Returns one Polygon per disjoint area with the contract fields:
    ``evidence_count`` and ``max_confidence`` of the detections inside it, ``area_m2``,
    ``buffer_m`` (fade-out or fortification buffer applied, m), ``not_assessable_m2`` (part
    of the area on not-assessable ground: reported, never cut away), ``unimaged_m2`` (part of
    the area outside ``coverage``, the imaged ground: an area keeps its extent past the flight's
    edge; 0 when ``coverage`` is None), ``supersedes`` (empty), ``status`` "SHA" and
    ``review_status`` "unreviewed". Sorted by hazard_type then hazard_id; ids depend only
    on the flight-independent evidence, so the same input gives the same ids.
    """
    crs = submunitions.crs
    for frame in (trenches, positions, not_assessable):
        if frame.crs != crs:
            raise ValueError(f"detections are in different CRSs: {crs} and {frame.crs}")
    rows = (_cmr_rows(submunitions, rules, flight_id)
            + _fortification_rows(trenches, positions, rules, flight_id))
    if not rows:
        return _empty(crs)
    areas = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    unassessable = polygon_parts(not_assessable.geometry)
    blind = shapely.union_all(unassessable) if unassessable else Polygon()
    geoms = areas.geometry.to_numpy()
    areas["area_m2"] = shapely.area(geoms)
    areas["not_assessable_m2"] = shapely.area(shapely.intersection(geoms, blind))
    imaged = polygon_parts(coverage.geometry) if coverage is not None else []
    areas["unimaged_m2"] = (areas["area_m2"] - shapely.area(shapely.intersection(geoms, shapely.union_all(imaged)))
                            if coverage is not None else 0.0)
    areas["supersedes"] = ""
    areas["status"] = "SHA"
    areas["flight_id"] = flight_id
    areas["survey_date"] = survey_date
    areas["model"] = model
    areas["review_status"] = "unreviewed"
    areas["evidence_count"] = areas["evidence_count"].astype("int64")
    areas = areas.sort_values(["hazard_type", "hazard_id"], ignore_index=True)
    return areas[[*AREA_COLUMNS, "geometry"]]
