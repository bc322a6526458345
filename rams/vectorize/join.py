"""Features from several regions made one set: pieces joined, duplicates suppressed.

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
