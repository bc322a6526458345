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
#: Ends closer than this (m) meet at a corner or a junction. No link joins a piece that folds back
#: onto the other (turns by more than ``CORNER_MAX_TURN_DEG``; zig-zag corners turn by 90° or more).
CORNER_M = 3.0
CORNER_MAX_TURN_DEG = 150.0
#: A gap up to this long (m) is bridged unless an end points away from it (a zig-zag's missing
#: corner leaves the ends on either side pointing across the gap, not along it); longer gaps, up
#: to the caller's ``gap_m``, must be aligned, or be a missing corner: the two ends point at one
#: point at most ``SHORT_GAP_M`` ahead of each, where the trench turns by at most
#: ``MISSING_CORNER_MAX_TURN_DEG``; the gap is bridged through that point.
SHORT_GAP_M = 5.0
MISSING_CORNER_MAX_TURN_DEG = 135.0
#: A line shorter than this (m) bridges no gap beyond ``CORNER_M``: too short to tell where its end
#: points (a fragment, a stub), it would as soon link a trench to its neighbour.
MIN_GAP_LINE_M = 2.0


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


#: A link :func:`chain_lines` may make: (length in m, minus the cosine of the turn from one line's
#: course into the other's, end a, end b, the missing corner it passes through or None), where
#: end ``2 * i`` is line i's first point and ``2 * i + 1`` its last, a < b.
Link = tuple[float, float, int, int, "tuple[float, float] | None"]


def _missing_corner(a: np.ndarray, out_a: np.ndarray, b: np.ndarray,
                    out_b: np.ndarray) -> tuple[float, float] | None:
    """Where rays out of ends ``a`` and ``b`` (along ``out_a``, ``out_b``) meet, if both reach it
    within ``SHORT_GAP_M`` and the trench turns there by at most ``MISSING_CORNER_MAX_TURN_DEG``."""
    cross = float(out_a[0] * out_b[1] - out_a[1] * out_b[0])
    if abs(cross) < 0.2 or float(-out_a @ out_b) < np.cos(np.radians(MISSING_CORNER_MAX_TURN_DEG)):
        return None  # (near) parallel: an aligned gap if anything
    link = b - a
    along_a = float(link[0] * out_b[1] - link[1] * out_b[0]) / cross
    along_b = float(link[0] * out_a[1] - link[1] * out_a[0]) / cross
    if not (0 < along_a <= SHORT_GAP_M and 0 < along_b <= SHORT_GAP_M):
        return None
    corner = a + along_a * out_a
    return float(corner[0]), float(corner[1])


def link_candidates(geoms: list[shapely.LineString], gap_m: float, max_turn_deg: float,
                    system: np.ndarray | None = None) -> list[Link]:
    """The links :func:`chain_lines` may make between the ends of ``geoms`` (m). Given the
    ``system`` of each line (one trench's ground), gaps beyond ``CORNER_M`` are bridged only
    within a system, and there also where the lines' courses continue each other though the gap
    runs across them (the halves of a trench meeting the trench it crosses apart)."""
    ends = np.array([[g.coords[0], g.coords[-1]] for g in geoms], dtype=np.float64).reshape(-1, 2)
    outward = np.array([_end_directions(g, DIRECTION_SPAN_M) for g in geoms]).reshape(-1, 2)
    course = np.array([_end_directions(g, COURSE_SPAN_M) for g in geoms]).reshape(-1, 2)
    lengths = np.array([g.length for g in geoms])
    cos_gap, cos_corner = np.cos(np.radians(max_turn_deg)), np.cos(np.radians(CORNER_MAX_TURN_DEG))
    candidates = []
    tree = shapely.STRtree(shapely.points(ends))
    for a, b in tree.query(shapely.points(ends), predicate="dwithin", distance=max(gap_m, CORNER_M)).T:
        if a >= b or a // 2 == b // 2:
            continue
        link = ends[b] - ends[a]
        distance = float(np.hypot(*link))
        straight = float(-course[a] @ course[b])  # cosine of the turn from one piece's course into the other's
        if straight < cos_corner:  # one folds back onto the other
            continue
        corner = _missing_corner(ends[a], outward[a], ends[b], outward[b]) if distance > 0 else None
        if distance > CORNER_M and min(lengths[a // 2], lengths[b // 2]) < MIN_GAP_LINE_M:
            continue
        within = system is not None and system[a // 2] == system[b // 2]
        if distance > CORNER_M and system is not None and not within:
            continue
        if distance > CORNER_M and corner is None:  # a gap: both ends point along it (a short gap:
            # neither points away from it)
            if distance > gap_m:
                continue
            direction = link / distance
            limit = 0.0 if distance <= SHORT_GAP_M else cos_gap
            if min(float(outward[a] @ direction), float(-outward[b] @ direction)) < limit:
                continue
            if (distance > SHORT_GAP_M and not (within and straight >= cos_gap)
                    and min(float(course[a] @ direction), float(-course[b] @ direction)) < cos_gap):
                continue  # the ends point across the gap, but the trenches run past each other
        candidates.append((distance, -straight, int(a), int(b), corner))
    return candidates


def best_links(candidates: list[Link], group: np.ndarray) -> dict[int, Link]:
    """The links taken of ``candidates`` (see :func:`link_candidates`), best first (shortest, then
    straightest): each end at most once, never two ends of lines of one ``group`` (the group of
    each line, by index) nor closing a loop of groups. Maps each linked end to its link."""
    parent = list(range(int(group.max()) + 1 if len(group) else 0))
    linked: dict[int, Link] = {}
    for candidate in sorted(candidates, key=lambda c: c[:4]):
        a, b = candidate[2], candidate[3]
        ga, gb = _find(parent, int(group[a // 2])), _find(parent, int(group[b // 2]))
        if a in linked or b in linked or ga == gb:
            continue
        linked[a] = linked[b] = candidate
        parent[ga] = gb
    return linked


def chain_lines(lines: gpd.GeoDataFrame, gap_m: float, max_turn_deg: float) -> gpd.GeoDataFrame:
    """Trench pieces (LineStrings, projected CRS in m) chained into trenches: straight through
    junctions, across short aligned gaps.

    A trench's skeleton breaks where the detector's map dips (vegetation, a collapsed stretch)
    and branches where a zig-zag corner or a spoil berm leaves a spur; survey teams record a
    trench as one line. No link joins a piece folding back onto the other (turning by more than
    ``CORNER_MAX_TURN_DEG``). Ends within ``CORNER_M`` are linked; ends up to ``SHORT_GAP_M``
    apart unless an end points away from the gap; ends farther apart, up to ``gap_m``, when both
    point along the gap (each turning at most ``max_turn_deg`` from it) and so do the pieces'
    courses, or when the ends point at a missing corner between them (see ``SHORT_GAP_M``); lines
    shorter than ``MIN_GAP_LINE_M`` bridge no gap. The best links (shortest, then straightest) are
    taken first, each end at most once and never closing a loop. A bridged gap becomes a straight
    segment of the line (two, through a missing corner): the trench is taken to continue under
    what hid it. A chained line that runs along a longer one for most of its length (within
    ``ABSORB_M``), or a spur off it (``SPUR_M`` at most), is a second trace of it and is dropped.
    ``gap_m`` 0 leaves the pieces as they are.

    ``length_m`` is recomputed; ``width_m`` and ``confidence`` are length-weighted means of the
    chained pieces; other columns come from the longest piece.
    """
    lines = lines.explode(index_parts=False).reset_index(drop=True)
    if len(lines) < 2 or gap_m <= 0:
        return sort_features(lines)
    return link_ends(lines, gap_m, max_turn_deg)


def link_ends(lines: gpd.GeoDataFrame, gap_m: float, max_turn_deg: float,
              system: np.ndarray | None = None) -> gpd.GeoDataFrame:
    """:func:`chain_lines` on single LineStrings; ``gap_m`` 0 still links ends that meet at a
    corner or a junction (within ``CORNER_M``); ``system`` as :func:`link_candidates` takes it."""
    geoms = [g for g in lines.geometry]
    n = len(geoms)
    if n < 2:
        return sort_features(lines)
    linked = best_links(link_candidates(geoms, gap_m, max_turn_deg, system), np.arange(n))
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
            _, _, a, b, corner = linked[current ^ 1]
            if corner is not None:
                coords.append(corner)
            current = b if a == current ^ 1 else a
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
