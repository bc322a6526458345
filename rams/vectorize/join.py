"""Features from several regions made one set: pieces joined, duplicates suppressed, trench
pieces chained into trenches.

Each region yields features clipped to its own core rectangle, so a trench or position
crossing a region border arrives as pieces that touch there, and a submunition on the border
may arrive once from each side.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from shapely.strtree import STRtree

from rams.geometry import polygon_parts
from rams.vectorize.geo import sort_features
from rams.vectorize.points import greedy_nms


def _components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes, given edges ``left``-``right``."""
    graph = sparse.coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _weighted(values: pd.Series, weights: np.ndarray) -> float:
    total = float(weights.sum())
    if total <= 0:
        return float(values.mean())
    return float(np.dot(values.to_numpy(dtype=np.float64), weights) / total)


def _assemble(template: gpd.GeoDataFrame, rows: list[dict[str, object]]) -> gpd.GeoDataFrame:
    """Rows (dicts with every column of ``template``) as a sorted GeoDataFrame like it."""
    geometry = template.geometry.name
    frame = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=list(template.columns)), geometry=geometry, crs=template.crs
    )
    return sort_features(frame)


def _assign(parts: list[shapely.Geometry], anchors: np.ndarray) -> np.ndarray:
    """Index of the part nearest each anchor point."""
    distance = shapely.distance(np.asarray(parts, dtype=object)[:, None], anchors[None, :])
    return np.argmin(distance, axis=0)


def join_lines(lines: gpd.GeoDataFrame, tolerance_m: float = 0.3) -> gpd.GeoDataFrame:
    """Line pieces whose ends lie within ``tolerance_m`` (m) of each other joined into one line.

    The two sides of a border cross it up to ~2 x their ``simplify_m`` plus a pixel apart
    (each side simplifies its own skeleton, which may pick either middle pixel of an even
    width), hence a default above twice the default ``simplify_m``.

    Touching ends are snapped to their mean, then chains merged where exactly two pieces
    meet (three pieces at a point stay apart: a junction). ``length_m`` is recomputed;
    ``width_m`` and ``confidence`` are length-weighted means of the pieces; other columns
    come from the longest piece.
    """
    lines = lines.explode(index_parts=False).reset_index(drop=True)
    if len(lines) < 2:
        return sort_features(lines)
    geoms = np.asarray(lines.geometry.values, dtype=object)
    n = len(geoms)
    ends = np.vstack(
        [
            shapely.get_coordinates(shapely.get_point(geoms, 0)),
            shapely.get_coordinates(shapely.get_point(geoms, -1)),
        ]
    )
    pairs = cKDTree(ends).query_pairs(tolerance_m, output_type="ndarray")
    end_node = _components(2 * n, pairs[:, 0], pairs[:, 1])
    counts = np.bincount(end_node)
    snapped = np.column_stack([np.bincount(end_node, weights=ends[:, k]) / counts for k in (0, 1)])[
        end_node
    ]

    pieces = []
    for i, geom in enumerate(geoms):
        coords = shapely.get_coordinates(geom)
        coords[0], coords[-1] = snapped[i], snapped[n + i]
        pieces.append(shapely.linestrings(coords))
    # A piece links its two end nodes; pieces sharing an end node belong together.
    piece_group = _components(
        n + 2 * n,
        np.concatenate([np.arange(n), np.arange(n)]),
        np.concatenate([n + end_node[:n], n + end_node[n:]]),
    )[:n]

    rows: list[dict[str, object]] = []
    lengths = shapely.length(np.asarray(pieces, dtype=object))
    for group in np.unique(piece_group):
        members = np.flatnonzero(piece_group == group)
        merged = shapely.line_merge(shapely.multilinestrings([pieces[i] for i in members]))
        parts = [p for p in shapely.get_parts(merged) if p.length > 0]
        if not parts:  # pieces shorter than the tolerance collapse onto one node
            continue
        mids = shapely.line_interpolate_point(
            np.asarray([pieces[i] for i in members], dtype=object), 0.5, normalized=True
        )
        owner = _assign(parts, mids)
        for k, part in enumerate(parts):
            own = members[owner == k]
            if own.size == 0:
                continue
            weights = lengths[own]
            row = lines.iloc[own[np.argmax(weights)]].to_dict()
            row[lines.geometry.name] = part
            row["length_m"] = float(part.length)
            for column in ("width_m", "confidence"):
                if column in lines.columns:
                    row[column] = _weighted(lines[column].iloc[own], weights)
            rows.append(row)
    return _assemble(lines, rows)


def merge_polygons(polys: gpd.GeoDataFrame, tolerance_m: float = 0.1) -> gpd.GeoDataFrame:
    """Polygon pieces within ``tolerance_m`` (m) of each other dissolved into one polygon.

    Gaps up to ``tolerance_m`` between pieces are closed. ``area_m2`` is recomputed,
    ``confidence`` is the area-weighted mean; other columns come from the largest piece.
    """
    polys = polys.explode(index_parts=False).reset_index(drop=True)
    if len(polys) < 2:
        return sort_features(polys)
    geoms = np.asarray(polys.geometry.values, dtype=object)
    left, right = STRtree(geoms).query(geoms, predicate="dwithin", distance=tolerance_m)
    group_of = _components(len(geoms), left, right)
    areas = shapely.area(geoms)

    rows: list[dict[str, object]] = []
    for group in np.unique(group_of):
        members = np.flatnonzero(group_of == group)
        union = shapely.union_all(geoms[members])
        if len(members) > 1 and not isinstance(union, shapely.Polygon):
            half = tolerance_m / 2
            union = union.buffer(half, join_style="mitre").buffer(-half, join_style="mitre")
        parts = polygon_parts(union)
        if not parts:  # slivers of zero area left by clipping at region borders
            continue
        owner = _assign(parts, shapely.point_on_surface(geoms[members]))
        for k, part in enumerate(parts):
            own = members[owner == k]
            if own.size == 0:
                continue
            row = polys.iloc[own[np.argmax(areas[own])]].to_dict()
            row[polys.geometry.name] = part
            if "area_m2" in polys.columns:
                row["area_m2"] = float(part.area)
            if "confidence" in polys.columns:
                row["confidence"] = _weighted(polys["confidence"].iloc[own], areas[own])
            rows.append(row)
    return _assemble(polys, rows)


def suppress_points(points: gpd.GeoDataFrame, radius_m: float) -> gpd.GeoDataFrame:
    """Points thinned so none lies within ``radius_m`` (m) of a kept point of higher confidence."""
    geoms = np.asarray(points.geometry.values, dtype=object)
    xy = shapely.get_coordinates(geoms) if len(geoms) else np.zeros((0, 2))
    keep = greedy_nms(xy, points["confidence"].to_numpy(dtype=np.float64), radius_m)
    return sort_features(points.iloc[keep])


#: Length (m) along a piece over which its end's direction is measured: where it meets a gap, and
#: (its course, across a zig-zag's legs) where it meets other pieces at a corner or a junction.
DIRECTION_SPAN_M = 1.5
COURSE_SPAN_M = 10.0
#: Ends closer than this (m) meet at a corner or a junction: linked unless one piece folds back
#: onto the other (turns by more than ``CORNER_MAX_TURN_DEG``; zig-zag corners turn by 90° or more).
CORNER_M = 3.0
CORNER_MAX_TURN_DEG = 150.0
#: A gap up to this long (m) is bridged unless an end points away from it (a zig-zag's missing
#: corner leaves the ends on either side pointing across the gap, not along it); longer gaps, up
#: to the caller's ``gap_m``, must be aligned.
SHORT_GAP_M = 5.0


def _end_directions(line: shapely.LineString, span_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors pointing out of a line's start and out of its end, each measured over
    ``span_m`` of the line (at most half of it; m, projected CRS)."""
    span = min(span_m, line.length / 2)
    start = np.asarray(line.coords[0]) - np.asarray(line.interpolate(span).coords[0])
    end = np.asarray(line.coords[-1]) - np.asarray(line.interpolate(line.length - span).coords[0])
    return start / max(np.linalg.norm(start), 1e-12), end / max(np.linalg.norm(end), 1e-12)


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def chain_lines(lines: gpd.GeoDataFrame, gap_m: float, max_turn_deg: float) -> gpd.GeoDataFrame:
    """Trench pieces (LineStrings, projected CRS in m) chained into trenches: straight through
    junctions, across short aligned gaps.

    A trench's skeleton breaks where the detector's map dips (vegetation, a collapsed stretch)
    and branches where a zig-zag corner or a spoil berm leaves a spur; survey teams record a
    trench as one line. Ends within ``CORNER_M`` are linked unless one piece folds back onto the
    other (``CORNER_MAX_TURN_DEG``); ends up to ``SHORT_GAP_M`` apart unless an end points away
    from the gap; ends farther apart, up to ``gap_m``, when both point along the gap (each
    turning at most ``max_turn_deg`` from it). The best links
    (shortest, then straightest) are taken first, each end at most once and never closing a
    loop. A bridged gap becomes a straight segment of the line: the trench is taken to continue
    under what hid it. A chained line that runs along a longer one for most of its length (within
    ``ABSORB_M``), or a spur off it (``SPUR_M`` at most), is a second trace of it and is dropped.
    ``gap_m`` 0 leaves the pieces as they are.

    ``length_m`` is recomputed; ``width_m`` and ``confidence`` are length-weighted means of the
    chained pieces; other columns come from the longest piece.
    """
    lines = lines.explode(index_parts=False).reset_index(drop=True)
    geoms = [g for g in lines.geometry]
    n = len(geoms)
    if n < 2 or gap_m <= 0:
        return sort_features(lines)
    ends = np.array([[g.coords[0], g.coords[-1]] for g in geoms], dtype=np.float64).reshape(-1, 2)
    outward = np.array([_end_directions(g, DIRECTION_SPAN_M) for g in geoms]).reshape(-1, 2)
    course = np.array([_end_directions(g, COURSE_SPAN_M) for g in geoms]).reshape(-1, 2)
    cos_gap, cos_corner = np.cos(np.radians(max_turn_deg)), np.cos(np.radians(CORNER_MAX_TURN_DEG))
    candidates = []
    tree = shapely.STRtree(shapely.points(ends))
    for a, b in tree.query(shapely.points(ends), predicate="dwithin", distance=max(gap_m, CORNER_M)).T:
        if a >= b or a // 2 == b // 2:
            continue
        link = ends[b] - ends[a]
        distance = float(np.hypot(*link))
        straight = float(-course[a] @ course[b])  # cosine of the turn from one piece's course into the other's
        if distance <= CORNER_M:  # a corner or a junction: anything but folding back
            if straight < cos_corner:
                continue
        else:  # a gap: both ends point along it (a short gap: neither points away from it)
            direction = link / distance
            limit = 0.0 if distance <= SHORT_GAP_M else cos_gap
            if min(float(outward[a] @ direction), float(-outward[b] @ direction)) < limit:
                continue
        candidates.append((distance, -straight, a, b))
    parent = list(range(n))
    linked: dict[int, int] = {}
    for _, _, a, b in sorted(candidates):
        if a in linked or b in linked or _find(parent, a // 2) == _find(parent, b // 2):
            continue
        linked[a], linked[b] = b, a
        parent[_find(parent, a // 2)] = _find(parent, b // 2)
    rows, seen = [], set()
    lengths = np.array([g.length for g in geoms])
    for piece in range(n):
        free = [e for e in (2 * piece, 2 * piece + 1) if e not in linked]
        if piece in seen or not free:
            continue  # links make no loops: every chain is walked from one of its two free ends
        current, chain, coords = free[0], [], []
        while True:  # enter a piece at `current`, leave at its other end, follow the link
            p = current // 2
            seen.add(p)
            chain.append(p)
            piece_coords = list(geoms[p].coords)
            if current % 2 == 1:  # entered at the piece's last point: walk it backwards
                piece_coords.reverse()
            coords.extend(piece_coords[1:] if coords and coords[-1] == piece_coords[0] else piece_coords)
            if current ^ 1 not in linked:
                break
            current = linked[current ^ 1]
        weights = lengths[chain]
        row = lines.iloc[chain[int(np.argmax(weights))]].to_dict()
        line = shapely.LineString(coords)
        row[lines.geometry.name] = line
        if "length_m" in lines.columns:
            row["length_m"] = float(line.length)
        for column in ("width_m", "confidence"):
            if column in lines.columns:
                row[column] = _weighted(lines[column].iloc[chain], weights)
        rows.append(row)
    return _assemble(lines, _unabsorbed(rows, lines.geometry.name))


#: A chained line running this close (m) to a longer one for most of its length is a second trace
#: of the same trench (a spur or a doubled skeleton at a corner), not a trench of its own.
ABSORB_M = 1.0
ABSORB_SHARE = 0.8
#: A line no longer than this (m) with an end at a longer line is a spur of it (a corner's stub).
SPUR_M = 5.0


def _unabsorbed(rows: list[dict], geometry: str) -> list[dict]:
    """``rows`` less the second traces of longer kept lines: lines lying, for ``ABSORB_SHARE`` of
    their length, within ``ABSORB_M`` of them, and spurs (no longer than ``SPUR_M``, an end within
    ``CORNER_M`` of them)."""
    kept: list[dict] = []
    for row in sorted(rows, key=lambda r: -r[geometry].length):
        line = row[geometry]
        near = [k[geometry] for k in kept if k[geometry].distance(line) <= CORNER_M]
        if near:
            others = shapely.union_all(near)
            ends = shapely.points([line.coords[0], line.coords[-1]])
            if line.length <= SPUR_M and shapely.distance(ends, others).min() <= CORNER_M:
                continue
            if others.buffer(ABSORB_M).intersection(line).length >= ABSORB_SHARE * line.length:
                continue
        kept.append(row)
    return kept
