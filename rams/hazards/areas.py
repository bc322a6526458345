"""Suspected hazard areas (status SHA), disaggregated by evidence, as one planar layer.

CMR ground is the strike footprints with their fade-out margins; FORTIFICATION ground is
trenches and positions buffered (defensive lines are often mined in front of them). The layer
is planar: no two areas overlap. Ground that is both is one area of type
``CMR+FORTIFICATION``; the rest of each is ``CMR`` or ``FORTIFICATION``; each type's ground is
cut into its connected parts, one area each. So the areas' sum is the area of their union.

An area's evidence is every detection whose hazard shape overlaps it (by more than float
noise): a submunition counts where its strike footprint does (all items of a strike count in
every area that footprint reaches, a lone item where its own disc does), a trench or a
position where its buffer does. ``evidence_count`` counts those detections,
``max_confidence`` is the highest of their confidences, ``buffer_m`` the widest margin among
their shapes.

Identity (rams.hazards.ids): ``hazard_id`` is derived from the hazard type and the anchor of
the area's evidence: the westernmost evidence point (items; trench and position vertices)
inside the area, or of all its evidence when none lies inside, rounded to 0.1 m. The file
name and the flight id play no part. Given the earlier areas (``previous``), an area that is
the only successor of exactly one earlier area of the same type (overlap >= half of either's
area) keeps that area's id; a split or a merge gets new ids, and ``supersedes`` lists the
earlier ids each replaces.

An unreviewed model detection is indirect evidence, so every area is SHA. A reviewer's
confirmation makes a detection direct evidence: an area with a confirmed item among its
evidence gets ``proposed_status`` CHA (``status`` stays SHA: the national authority decides);
its ``review_status`` says whether none, some or all of its evidence was reviewed. Confirmed
detections count whatever their confidence; rejected ones are dropped before (rams.hazards.stage).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from rams import geometry
from rams.hazards.footprints import confirmed, evidence_items, footprints_of, position_errors
from rams.hazards.ids import anchor_point, hazard_ids
from rams.hazards.rules import HazardRules

AREA_COLUMNS: tuple[str, ...] = (
    "hazard_id", "hazard_type", "status", "evidence_count", "max_confidence", "area_m2",
    "buffer_m", "not_assessable_m2", "unimaged_m2", "flight_id", "survey_date", "model",
    "review_status", "supersedes", "proposed_status",
)
CMR = "CMR"
FORTIFICATION = "FORTIFICATION"
CMR_FORTIFICATION = "CMR+FORTIFICATION"
HAZARD_TYPES: tuple[str, ...] = (CMR, CMR_FORTIFICATION, FORTIFICATION)
CMR_GROUND: tuple[str, ...] = (CMR, CMR_FORTIFICATION)
"""Hazard types of the areas on CMR ground (strike footprints)."""
FORTIFICATION_GROUND: tuple[str, ...] = (FORTIFICATION, CMR_FORTIFICATION)
"""Hazard types of the areas on fortification ground (trench and position buffers)."""
_MIN_PART_M2 = 1e-6  # slivers from make_valid are not areas anyone can survey
# overlay pieces smaller than 1 dm² are float slivers along coincident edges, not ground
_MIN_PIECE_M2 = 1e-2
_NOISE_M2 = 1e-4  # a shape overlapping a piece by less only touches it


def polygon_parts(geometries: Iterable[BaseGeometry]) -> list[Polygon]:
    """Valid, disjoint Polygons of the union of ``geometries`` (multi parts exploded)."""
    geoms = [g for g in geometries if g is not None and not g.is_empty]
    if not geoms:
        return []
    union = shapely.union_all(shapely.make_valid(np.asarray(geoms)))
    return [p for p in geometry.polygon_parts(union) if p.area > _MIN_PART_M2]


def _confident(frame: gpd.GeoDataFrame, min_confidence: float) -> gpd.GeoDataFrame:
    keep = (frame["confidence"].to_numpy(dtype=float) >= min_confidence) | confirmed(frame)
    return frame.loc[keep & ~frame.geometry.is_empty.to_numpy()].reset_index(drop=True)


@dataclass
class _Evidence:
    """Detections and the hazard shapes they make (m): what the areas are cut from."""

    confidence: list[float] = field(default_factory=list)
    review: list[str] = field(default_factory=list)  # per detection, its review_status
    points: list[np.ndarray] = field(default_factory=list)  # per detection, (k, 2) anchors
    shapes: list[BaseGeometry] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # per shape: CMR or FORTIFICATION
    buffers: list[float] = field(default_factory=list)  # per shape, m
    members: list[np.ndarray] = field(default_factory=list)  # per shape, detection indices

    def add(self, kind: str, shape: BaseGeometry, buffer_m: float, confidence: np.ndarray,
            points: list[np.ndarray], review: np.ndarray) -> None:
        first = len(self.confidence)
        self.confidence.extend(float(c) for c in confidence)
        self.review.extend(str(r) for r in review)
        self.points.extend(points)
        self.shapes.append(shape)
        self.kinds.append(kind)
        self.buffers.append(float(buffer_m))
        self.members.append(np.arange(first, len(self.confidence)))


def _evidence(submunitions: gpd.GeoDataFrame, trenches: gpd.GeoDataFrame,
              positions: gpd.GeoDataFrame, rules: HazardRules) -> _Evidence:
    ev = _Evidence()
    items = evidence_items(submunitions, rules.cmr)
    xy = shapely.get_coordinates(items.geometry.to_numpy())
    confidence = items["confidence"].to_numpy(dtype=float)
    review = _review(items)
    for fp in footprints_of(xy, rules.cmr, position_errors(items)):
        ev.add(CMR, fp.geometry, fp.fade_out_m, confidence[fp.items], list(xy[fp.items, None, :]),
               review[fp.items])
    fort = rules.fortification
    for frame, buffer_m in ((_confident(trenches, fort.min_confidence), fort.trench_buffer_m),
                            (_confident(positions, fort.min_confidence), fort.position_buffer_m)):
        geoms = frame.geometry.to_numpy()
        for geom, conf, review, shape in zip(geoms, frame["confidence"].to_numpy(dtype=float), _review(frame),
                                             shapely.buffer(geoms, buffer_m), strict=True):
            ev.add(FORTIFICATION, shape, buffer_m, np.array([conf]), [shapely.get_coordinates(geom)],
                   np.array([review]))
    return ev


def _review(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Each detection's ``review_status`` ("unreviewed" where the layer has none)."""
    if "review_status" not in frame:
        return np.full(len(frame), "unreviewed", dtype=object)
    return frame["review_status"].fillna("unreviewed").astype(str).to_numpy(dtype=object)


def _review_state(review: list[str]) -> tuple[str, str]:
    """``review_status`` and ``proposed_status`` of an area from its evidence's reviews."""
    reviewed = sum(r != "unreviewed" for r in review)
    status = "unreviewed" if not reviewed else "reviewed" if reviewed == len(review) else "partly reviewed"
    return status, "CHA" if "confirmed" in review else "SHA"


def _pieces(ev: _Evidence) -> list[tuple[str, Polygon]]:
    """The planar overlay of CMR and FORTIFICATION ground: (hazard type, Polygon) pairs."""
    shapes = np.asarray(ev.shapes, dtype=object)
    kinds = np.asarray(ev.kinds)
    cmr = shapely.union_all(shapes[kinds == CMR]) if (kinds == CMR).any() else Polygon()
    fort = shapely.union_all(shapes[kinds == FORTIFICATION]) if (kinds == FORTIFICATION).any() else Polygon()
    overlay = ((CMR, shapely.difference(cmr, fort)), (CMR_FORTIFICATION, shapely.intersection(cmr, fort)),
               (FORTIFICATION, shapely.difference(fort, cmr)))
    return [(kind, part) for kind, ground in overlay
            for part in geometry.polygon_parts(ground) if part.area > _MIN_PIECE_M2]


def _rows(ev: _Evidence, pieces: list[tuple[str, Polygon]]) -> list[dict]:
    """Each piece with its evidence (see the module docstring) and the anchor of its id."""
    shapes = np.asarray(ev.shapes, dtype=object)
    kinds = np.asarray(ev.kinds)
    confidence = np.asarray(ev.confidence)
    geoms = np.asarray([p for _, p in pieces], dtype=object)
    piece_idx, shape_idx = shapely.STRtree(shapes).query(geoms, predicate="intersects")
    overlap = shapely.area(shapely.intersection(geoms[piece_idx], shapes[shape_idx]))
    rows = []
    for p, (kind, piece) in enumerate(pieces):
        allowed = (CMR, FORTIFICATION) if kind == CMR_FORTIFICATION else (kind,)
        mine = (piece_idx == p) & np.isin(kinds[shape_idx], allowed)
        # a piece lies in the union of its shapes, so one of them always overlaps it by more
        # than noise unless the piece is itself barely above the sliver size
        real = mine & (overlap > _NOISE_M2)
        own = shape_idx[real if real.any() else mine]
        detections = np.unique(np.concatenate([ev.members[s] for s in own])).astype(np.int64)
        points = np.vstack([ev.points[d] for d in detections])
        inside = shapely.covers(piece, shapely.points(points))
        review_status, proposed_status = _review_state([ev.review[d] for d in detections])
        rows.append({
            "review_status": review_status,
            "proposed_status": proposed_status,
            "hazard_type": kind,
            "evidence_count": len(detections),
            "max_confidence": float(confidence[detections].max()),
            "buffer_m": float(max(ev.buffers[s] for s in own)),
            "anchor": anchor_point(points[inside] if inside.any() else points),
            "geometry": piece,
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
    previous: gpd.GeoDataFrame | None = None,
) -> gpd.GeoDataFrame:
    """Suspected hazard areas from detections: one planar layer (survey output contract,
    projected CRS in m; rules, evidence and ids in the module docstring).

    ``submunitions`` (Point), ``trenches`` (LineString) and ``positions`` (Polygon) carry
    ``confidence`` (0-1); ``not_assessable`` (Polygon) is imaged ground where absence of
    evidence means nothing. Returns one Polygon per piece of the overlay, no two overlapping,
    with the contract fields: ``hazard_type`` (``CMR``, ``FORTIFICATION`` or
    ``CMR+FORTIFICATION``), ``evidence_count`` and ``max_confidence`` of its evidence,
    ``area_m2``, ``buffer_m`` (widest margin of its evidence's shapes, m), ``not_assessable_m2``
    (part of the area on not-assessable ground, m²: reported, never cut away), ``unimaged_m2``
    (part of the area outside ``coverage``, the imaged ground, m²: an area keeps its extent
    past the flight's edge; 0 when ``coverage`` is None), ``supersedes`` (ids of ``previous``
    areas this one replaces, comma-separated; empty when none), ``status`` "SHA".
    ``previous`` is an earlier hazard_areas layer of the same ground (any CRS); its ids carry
    over as the module docstring says. ``flight_id`` is only recorded. ``review_status``
    ("unreviewed", "partly reviewed", "reviewed") and
    ``proposed_status`` ("CHA" when a confirmed detection is among its evidence, else "SHA")
    follow the detections' ``review_status`` fields where the layers have them. Sorted by
    hazard_type then hazard_id.
    """
    crs = submunitions.crs
    for frame in (trenches, positions, not_assessable):
        if frame.crs != crs:
            raise ValueError(f"detections are in different CRSs: {crs} and {frame.crs}")
    ev = _evidence(submunitions, trenches, positions, rules)
    pieces = _pieces(ev) if ev.shapes else []
    if not pieces:
        return _empty(crs)
    areas = gpd.GeoDataFrame(_rows(ev, pieces), geometry="geometry", crs=crs)
    if previous is not None and previous.crs is not None and crs is not None and previous.crs != crs:
        previous = previous.to_crs(crs)
    areas["hazard_id"], areas["supersedes"] = hazard_ids(
        areas["hazard_type"].tolist(), areas["anchor"].tolist(), areas.geometry.tolist(), previous)
    unassessable = polygon_parts(not_assessable.geometry)
    blind = shapely.union_all(unassessable) if unassessable else Polygon()
    geoms = areas.geometry.to_numpy()
    areas["area_m2"] = shapely.area(geoms)
    areas["not_assessable_m2"] = shapely.area(shapely.intersection(geoms, blind))
    if coverage is not None:
        imaged = shapely.union_all(polygon_parts(coverage.geometry))
        areas["unimaged_m2"] = np.maximum(
            areas["area_m2"] - shapely.area(shapely.intersection(geoms, imaged)), 0.0)
    else:
        areas["unimaged_m2"] = 0.0
    areas["status"] = "SHA"
    areas["flight_id"] = flight_id
    areas["survey_date"] = survey_date
    areas["model"] = model
    areas["evidence_count"] = areas["evidence_count"].astype("int64")
    areas = areas.sort_values(["hazard_type", "hazard_id"], ignore_index=True)
    return areas[[*AREA_COLUMNS, "geometry"]]
