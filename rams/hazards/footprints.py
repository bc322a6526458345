"""Strike footprints: submunition detections clustered in metres, each with a tight outline.

A cluster strike scatters submunitions over an ellipse-like footprint; clearance works to
fade-out beyond the last item. Clustering is DBSCAN (eps = neighbour distance, min_samples)
built on a KD-tree and connected components, so no dependency beyond scipy.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from shapely import affinity
from shapely.geometry import MultiPoint, Point
from shapely.geometry.base import BaseGeometry

from rams.hazards.rules import CmrRules

FOOTPRINT_COLUMNS: tuple[str, ...] = (
    "footprint_id", "item_count", "orientation_deg", "fade_out_m", "area_m2",
    "outline_area_m2", "max_confidence",
)
NOISE = -1
_DEGENERATE_M2 = 1e-6  # an outline thinner than this is a line or a point, not an area


def cluster_items(xy_m: np.ndarray, neighbour_distance_m: float, min_samples: int) -> np.ndarray:
    """DBSCAN labels (0..k-1, NOISE = -1) for item coordinates (N, 2) in metres.

    Core items have >= min_samples items (themselves included) within the neighbour distance;
    cores closer than it join one cluster; a border item joins its nearest core's cluster.
    Labels are numbered in the order of the input; the membership does not depend on it.
    """
    n = len(xy_m)
    labels = np.full(n, NOISE, dtype=np.int64)
    if n == 0:
        return labels
    tree = cKDTree(xy_m)
    pairs = tree.query_pairs(neighbour_distance_m, output_type="ndarray")
    degree = np.ones(n, dtype=np.int64) + np.bincount(pairs.ravel(), minlength=n)
    core = degree >= min_samples
    core_pairs = pairs[core[pairs[:, 0]] & core[pairs[:, 1]]]
    graph = coo_matrix(
        (np.ones(len(core_pairs), dtype=np.int8), (core_pairs[:, 0], core_pairs[:, 1])),
        shape=(n, n),
    )
    _, components = connected_components(graph, directed=False)
    core_idx = np.flatnonzero(core)
    # renumber the components that hold cores as 0..k-1 in first-seen order
    _, first = np.unique(components[core_idx], return_index=True)
    remap = {components[core_idx[i]]: k for k, i in enumerate(sorted(first))}
    labels[core_idx] = [remap[c] for c in components[core_idx]]
    border = np.flatnonzero(~core)
    if len(core_idx) and len(border):
        core_tree = cKDTree(xy_m[core_idx])
        # query_pairs counts distances == eps as neighbours; the upper bound is exclusive
        bound = neighbour_distance_m * (1 + 1e-9)
        dist, nearest = core_tree.query(xy_m[border], distance_upper_bound=bound)
        near = np.isfinite(dist)
        labels[border[near]] = labels[core_idx[nearest[near]]]
    return labels


def orientation_deg(xy_m: np.ndarray) -> float:
    """Azimuth of the items' major axis (PCA), degrees clockwise from grid north in [0, 180).

    NaN for fewer than two distinct items, where no direction exists.
    """
    centred = xy_m - xy_m.mean(axis=0)
    if len(xy_m) < 2 or not np.any(centred):
        return math.nan
    eigvals, eigvecs = np.linalg.eigh(np.cov(centred, rowvar=False))
    dx, dy = eigvecs[:, int(np.argmax(eigvals))]
    return float(np.degrees(np.arctan2(dx, dy)) % 180.0)


def enclosing_ellipse(xy_m: np.ndarray) -> BaseGeometry | None:
    """The covariance ellipse scaled to just enclose every item; None if items are collinear."""
    if len(xy_m) < 3:
        return None
    centre = xy_m.mean(axis=0)
    centred = xy_m - centre
    eigvals, eigvecs = np.linalg.eigh(np.cov(centred, rowvar=False))
    if eigvals[0] <= 1e-9 * max(eigvals[1], 1e-12):
        return None
    projected = centred @ eigvecs / np.sqrt(eigvals)  # whitened: the ellipse becomes a circle
    scale = float(np.sqrt((projected**2).sum(axis=1)).max())
    minor, major = scale * np.sqrt(eigvals)
    angle = math.degrees(math.atan2(eigvecs[1, 1], eigvecs[0, 1]))  # major axis from +x
    circle = Point(0.0, 0.0).buffer(1.0, quad_segs=32)
    # the polygonal circle sits inside the true one: grow it so its edges still enclose items
    grow = 1.0 / math.cos(math.pi / (4 * 32))
    ellipse = affinity.scale(circle, major * grow, minor * grow, origin=(0.0, 0.0))
    ellipse = affinity.rotate(ellipse, angle, origin=(0.0, 0.0))
    return affinity.translate(ellipse, float(centre[0]), float(centre[1]))


def item_outline(xy_m: np.ndarray, rules: CmrRules) -> BaseGeometry:
    """Tight outline (Polygon, m) of one cluster's items according to ``rules.outline``.

    Items that span no area (two items, a straight line) get a corridor of the isolated-item
    radius instead, so every outline covers its items with some ground.
    """
    points = MultiPoint(xy_m)
    outline: BaseGeometry | None
    if rules.outline == "ellipse":
        outline = enclosing_ellipse(xy_m)
    elif rules.outline == "concave":
        outline = shapely.concave_hull(points, ratio=rules.concave_ratio)
    else:
        outline = points.convex_hull
    if outline is None or outline.area <= _DEGENERATE_M2:
        outline = points.convex_hull.buffer(rules.isolated_item_radius_m)
    return shapely.make_valid(outline)


def _empty(crs: object) -> gpd.GeoDataFrame:
    ints = ("footprint_id", "item_count")
    frame = pd.DataFrame({c: pd.Series(dtype="int64" if c in ints else "float64")
                          for c in FOOTPRINT_COLUMNS})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def evidence_items(submunitions: gpd.GeoDataFrame, rules: CmrRules) -> gpd.GeoDataFrame:
    """Submunition points that count as evidence: confidence >= rules.min_confidence."""
    keep = submunitions["confidence"].to_numpy(dtype=float) >= rules.min_confidence
    items = submunitions.loc[keep & ~submunitions.geometry.is_empty.to_numpy()]
    return items.loc[items.geometry.geom_type == "Point"]


def strike_footprints(submunitions: gpd.GeoDataFrame, rules: CmrRules) -> gpd.GeoDataFrame:
    """One footprint per submunition cluster, and one per isolated item.

    ``submunitions``: Point detections with ``confidence`` (0-1), projected CRS in metres.
    Returns ``footprint_id`` (1..n, numbered west to east by each footprint's westernmost
    item, so the same items give the same ids in any order), ``item_count``,
    ``orientation_deg`` (azimuth of the major axis, 0-180 clockwise from grid north; NaN for
    one item), ``fade_out_m``, ``area_m2`` (footprint
    with its fade-out margin), ``outline_area_m2`` (tight outline only), ``max_confidence``
    and the Polygon footprint (outline buffered by the fade-out margin).
    """
    items = evidence_items(submunitions, rules)
    if items.empty:
        return _empty(submunitions.crs)
    xy = shapely.get_coordinates(items.geometry.to_numpy())
    # a fixed item order makes tie-breaks (a border item between two cores) order-independent
    order = np.lexsort((xy[:, 1], xy[:, 0]))
    xy = xy[order]
    confidence = items["confidence"].to_numpy(dtype=float)[order]
    labels = cluster_items(xy, rules.neighbour_distance_m, rules.min_samples)
    noise = np.flatnonzero(labels == NOISE)
    groups = [np.flatnonzero(labels == k) for k in range(int(labels.max()) + 1)]
    groups += [noise[i : i + 1] for i in range(len(noise))]
    # items are sorted west to east, so numbering groups by their first item gives ids that
    # do not depend on the input order
    groups.sort(key=lambda idx: int(idx[0]))
    rows = []
    for number, idx in enumerate(groups, start=1):
        pts = xy[idx]
        if len(idx) == 1:
            outline = Point(pts[0]).buffer(rules.isolated_item_radius_m)
        else:
            outline = item_outline(pts, rules)
        footprint = shapely.make_valid(outline.buffer(rules.fade_out_m))
        rows.append({
            "footprint_id": number,
            "item_count": len(idx),
            "orientation_deg": orientation_deg(pts),
            "fade_out_m": float(rules.fade_out_m),
            "area_m2": float(footprint.area),
            "outline_area_m2": float(outline.area),
            "max_confidence": float(confidence[idx].max()),
            "geometry": footprint,
        })
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=submunitions.crs)
