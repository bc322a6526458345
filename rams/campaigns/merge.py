"""Several flights' survey layers made one picture of the ground.

Flights overlap by tens of metres, so the same ground can hold two flights' detections. Each
point of the ground is *owned* by one flight: the finest covering it (then the first given),
and line and polygon features are cut to their flight's owned ground and joined across the
owners' borders, exactly as a survey joins its regions across region cores. Points are not
cut: an item seen by two flights is one point (the better view kept, both flights named in
``flight_ids``), and an item only one of them saw stays evidence wherever it lies. Ground is
not assessable where no flight could assess it.

Everything here is pure: GeoDataFrames in one projected CRS (metres) in, GeoDataFrames out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from rams.export import empty_layer
from rams.merge import dissolved, join_positions, join_trenches
from rams.settings import DetectionSettings

#: The detection layers a flight contributes to a campaign.
DETECTION_LAYERS = ("submunitions", "trenches", "positions", "coverage", "not_assessable")

#: Items of two flights closer than this (m) are one item seen twice. Orthomosaics of one
#: programme registered with RTK or ground control agree to a few centimetres; flights
#: georeferenced by GPS alone can disagree by metres and are not deduplicated by this.
MERGE_RADIUS_M = 0.5

#: Line pieces shorter than this (m) left by cutting a trench to its owner's ground are dropped.
MIN_PIECE_M = 0.05


@dataclass(frozen=True)
class FlightLayers:
    """One flight's survey layers (``DETECTION_LAYERS``, contract fields) in the campaign's CRS.

    ``gsd_m`` is the flight's own ground sample distance (m per px): the finer flight owns the
    ground two flights share. ``survey_date`` is its acquisition date (YYYY-MM-DD, or "").
    """

    flight_id: str
    gsd_m: float
    survey_date: str
    layers: dict[str, gpd.GeoDataFrame]


def campaign_crs(crss: Sequence[CRS]) -> CRS:
    """The CRS most of the flights are in (ties: the first of them), that of the campaign."""
    names = [crs.to_string() for crs in crss]
    counts = {name: names.count(name) for name in names}
    best = max(counts.values())
    return next(crs for crs, name in zip(crss, names, strict=True) if counts[name] == best)


def owned_ground(flights: Sequence[FlightLayers]) -> list[shapely.Geometry]:
    """Each flight's share of the imaged ground, in the order given: its coverage less the
    coverage of every flight ranked before it (finer GSD first, then the order given). The
    shares never overlap and their union is the union of the coverages."""
    order = sorted(range(len(flights)), key=lambda i: (flights[i].gsd_m, i))
    owned: list[shapely.Geometry] = [shapely.Polygon()] * len(flights)
    taken = shapely.Polygon()
    for i in order:
        covered = dissolved(flights[i].layers["coverage"])
        owned[i] = shapely.make_valid(shapely.difference(covered, taken))
        taken = shapely.union(taken, covered)
    return owned


def _concat(frames: list[gpd.GeoDataFrame], name: str, crs) -> gpd.GeoDataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return empty_layer(name, crs)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=crs)


def one_view_per_source(n: int, left: np.ndarray, right: np.ndarray, distance: np.ndarray,
                         flight_of: np.ndarray) -> np.ndarray:
    """A cluster label per point (``n`` points, candidate pairs ``left``-``right`` at ``distance``):
    pairs joined nearest first, never two points of one source (``flight_of``: a flight, a
    photograph) in a cluster: each source sees an item once, so two of its points are two items."""
    parent = np.arange(n)
    flights = [{int(f)} for f in flight_of]

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for k in np.argsort(distance, kind="stable"):
        a, b = find(int(left[k])), find(int(right[k]))
        if a != b and not flights[a] & flights[b]:
            parent[b] = a
            flights[a] |= flights[b]
    return np.array([find(i) for i in range(n)])


def merge_points(flights: Sequence[FlightLayers], radius_m: float, crs) -> gpd.GeoDataFrame:
    """The flights' submunition points, one per item: points of different flights within
    ``radius_m`` (m) of each other are one item (nearest pairs first, one view per flight), kept
    as its better view (a confirmed one first, then the most confident, then the finer flight's)
    with every flight that saw it in ``flight_ids`` (comma-separated, sorted). Every other field
    is the kept view's."""
    frames = []
    for rank, flight in enumerate(flights):
        points = flight.layers["submunitions"]
        if points.empty:
            continue
        points = points.copy()
        points["_flight"] = rank
        points["_gsd"] = flight.gsd_m
        frames.append(points)
    if not frames:
        frame = empty_layer("submunitions", crs)
        frame["flight_ids"] = pd.Series([], dtype="str")
        return frame
    points = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=crs)
    geoms = points.geometry.to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=radius_m)
    flight_of = points["_flight"].to_numpy()
    pair = (flight_of[left] != flight_of[right]) & (left < right)
    left, right = left[pair], right[pair]
    labels = one_view_per_source(len(points), left, right, shapely.distance(geoms[left], geoms[right]), flight_of)
    confirmed = (points["review_status"].astype(str) == "confirmed").to_numpy() if "review_status" in points \
        else np.zeros(len(points), dtype=bool)
    # the better view sorts first: confirmed, most confident, finest, first flight, first row
    order = np.lexsort((np.arange(len(points)), flight_of, points["_gsd"].to_numpy(),
                        -points["confidence"].to_numpy(dtype=np.float64), ~confirmed, labels))
    first = np.ones(len(order), dtype=bool)
    first[1:] = labels[order][1:] != labels[order][:-1]
    kept = order[first]
    ids = points["flight_id"].astype(str).to_numpy()
    seen: dict[int, set[str]] = {}
    for label, flight_id in zip(labels, ids, strict=True):
        seen.setdefault(int(label), set()).add(flight_id)
    merged = points.iloc[np.sort(kept)].drop(columns=["_flight", "_gsd"]).reset_index(drop=True)
    merged["flight_ids"] = [",".join(sorted(seen[int(label)])) for label in labels[np.sort(kept)]]
    return merged


def _owned_parts(frame: gpd.GeoDataFrame, owned: shapely.Geometry, lines: bool) -> gpd.GeoDataFrame:
    """``frame``'s features cut to ``owned`` ground, one row per single part."""
    if frame.empty:
        return frame
    cut = frame.copy()
    cut["geometry"] = shapely.intersection(frame.geometry.to_numpy(), owned)
    cut = cut.explode(index_parts=False, ignore_index=True)
    kind = ("LineString",) if lines else ("Polygon",)
    cut = cut[cut.geometry.geom_type.isin(kind).to_numpy() & ~cut.geometry.is_empty.to_numpy()]
    if lines:
        cut = cut[cut.geometry.length.to_numpy() >= MIN_PIECE_M]
    return cut.reset_index(drop=True)


def _flights_of(frame: gpd.GeoDataFrame, owned: list[shapely.Geometry], ids: list[str]) -> list[str]:
    """Per feature, the flights whose owned ground it lies on (comma-separated)."""
    if frame.empty:
        return []
    geoms = frame.geometry.to_numpy()
    tree = shapely.STRtree(np.asarray(owned, dtype=object))
    feature, flight = tree.query(geoms, predicate="intersects")
    names: dict[int, set[str]] = {}
    for f, k in zip(feature, flight, strict=True):
        names.setdefault(int(f), set()).add(ids[int(k)])
    return [",".join(sorted(names.get(i, set()))) for i in range(len(frame))]


def _joined(flights: Sequence[FlightLayers], owned: list[shapely.Geometry], name: str,
            det: DetectionSettings, crs) -> gpd.GeoDataFrame:
    """Trenches (lines) or positions (polygons) of every flight cut to their owned ground and
    joined across the owners' borders."""
    lines = name == "trenches"
    parts = _concat([_owned_parts(f.layers[name], own, lines) for f, own in zip(flights, owned, strict=True)],
                    name, crs)
    if parts.empty:
        return empty_layer(name, crs)
    if lines:
        parts["length_m"] = parts.geometry.length
        joined = join_trenches(parts, det)
        joined = joined[joined["length_m"].to_numpy() >= det.trench_min_length_m]
    else:
        parts["area_m2"] = parts.geometry.area
        joined = join_positions(parts, det)
        joined = joined[joined["area_m2"].to_numpy() >= det.position_min_area_m2]
    joined = joined.reset_index(drop=True)
    joined["flight_id"] = _flights_of(joined, owned, [f.flight_id for f in flights])
    return joined


def _not_assessable(flights: Sequence[FlightLayers], owned: list[shapely.Geometry], crs) -> gpd.GeoDataFrame:
    """Ground no flight could assess: each owner's not-assessable ground, by reason, less what
    any flight assessed (imaged and not flagged)."""
    assessed = shapely.union_all([
        shapely.difference(dissolved(f.layers["coverage"]), dissolved(f.layers["not_assessable"])) for f in flights
    ])
    rows = []
    for flight, own in zip(flights, owned, strict=True):
        blind = flight.layers["not_assessable"]
        for reason, group in (blind.groupby("reason", sort=True) if not blind.empty else ()):
            geom = shapely.make_valid(shapely.difference(shapely.intersection(dissolved(group), own), assessed))
            geom = shapely.union_all([p for p in shapely.get_parts(geom) if p.geom_type == "Polygon"])
            if not geom.is_empty and geom.area > 0:
                rows.append({"reason": reason, "area_m2": geom.area, "flight_id": flight.flight_id,
                             "geometry": geom})
    if not rows:
        return empty_layer("not_assessable", crs)
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)


def merge_flights(flights: Sequence[FlightLayers], det: DetectionSettings, crs,
                  radius_m: float = MERGE_RADIUS_M, owned: list[shapely.Geometry] | None = None
                  ) -> dict[str, gpd.GeoDataFrame]:
    """The campaign's detection layers (``DETECTION_LAYERS``, contract fields, in ``crs``) from
    its flights' (each already in ``crs``): points deduplicated (:func:`merge_points`, plus a
    ``flight_ids`` field), trenches and positions cut to their owners' ground and joined across
    flight edges with the survey's own joins (``det``), one ``coverage`` row per flight holding
    the ground it owns (the rows never overlap), and not-assessable ground per owner and reason
    where no flight assessed it. A line or polygon's ``flight_id`` names every flight it lies on.
    ``owned`` replaces :func:`owned_ground`'s shares (photographs own the ground nearest their
    nadir: see :func:`rams.photos.placement.central_ground`)."""
    owned = owned_ground(flights) if owned is None else owned
    coverage = gpd.GeoDataFrame(
        {"area_m2": [g.area for g in owned], "flight_id": [f.flight_id for f in flights]},
        geometry=[shapely.MultiPolygon([p for p in shapely.get_parts(g) if p.geom_type == "Polygon"])
                  for g in owned],
        crs=crs,
    )
    return {
        "submunitions": merge_points(flights, radius_m, crs),
        "trenches": _joined(flights, owned, "trenches", det, crs),
        "positions": _joined(flights, owned, "positions", det, crs),
        "coverage": coverage,
        "not_assessable": _not_assessable(flights, owned, crs),
    }


def evidence_flights(areas: gpd.GeoDataFrame, detections: dict[str, gpd.GeoDataFrame],
                     dates: dict[str, str]) -> tuple[list[str], list[str]]:
    """Per hazard area (or footprint), the flights whose evidence it holds (comma-separated,
    sorted) and the latest of their ``dates`` (YYYY-MM-DD; "" when none is known): a campaign's
    area says which flights saw its evidence and how recent that evidence is. An area holding
    none of the evidence itself (a piece of a planar layer cut from a larger area) takes the
    flights of the evidence nearest it."""
    names: list[set[str]] = [set() for _ in range(len(areas))]
    sources = []
    for name, field in (("submunitions", "flight_ids"), ("trenches", "flight_id"), ("positions", "flight_id")):
        frame = detections.get(name)
        if frame is not None and not frame.empty:
            sources.append((frame.geometry.to_numpy(), frame[field].astype(str).to_numpy()))
    if len(areas) and sources:
        geoms = areas.geometry.to_numpy()
        for features, values in sources:
            area, feature = shapely.STRtree(features).query(geoms, predicate="intersects")
            for a, f in zip(area, feature, strict=True):
                names[int(a)].update(v for v in values[int(f)].split(",") if v)
        empty = np.array([not n for n in names])
        if empty.any():
            features = np.concatenate([f for f, _ in sources])
            values = np.concatenate([v for _, v in sources])
            area, feature = shapely.STRtree(features).query_nearest(geoms[empty], all_matches=False)
            rows = np.flatnonzero(empty)
            for a, f in zip(area, feature, strict=True):
                names[int(rows[a])].update(v for v in values[int(f)].split(",") if v)
    flights = [",".join(sorted(n)) for n in names]
    latest = [max((dates.get(n, "") for n in found), default="") for found in names]
    return flights, latest
