"""Strike footprints: submunition detections clustered in metres, each with a tight outline.

A cluster strike scatters submunitions over an ellipse-like footprint; clearance works to
fade-out beyond the last item. Clustering is DBSCAN (eps = neighbour distance, min_samples)
built on a KD-tree and connected components, so no dependency beyond scipy.

One footprint per strike: DBSCAN leaves the sparse items at a strike's edge as noise, and a
footprint of their own each would split one strike into many. A noise item within the
neighbour distance of a cluster's tight outline therefore joins that cluster (the nearest
outline when several are in reach). The outline, not the items, is the reference because a
strike's edge items are sparse by nature: the outline already spans the ground between them,
so "one neighbour distance beyond the strike's ground" is the DBSCAN reach measured from the
strike rather than from one item; it is at most 2x the neighbour distance from the nearest
member item, as every member lies in the outline. The outlines are those of the DBSCAN
clusters, computed once, so joined items never extend the reach (no chaining out along a line
of false detections). Only items out of every cluster's reach are lone items: a disc of
``isolated_item_radius_m`` with their own small margin ``isolated_fade_out_m``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


def confirmed(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Whether each detection of ``frame`` was confirmed by a reviewer (``review_status``)."""
    if "review_status" not in frame:
        return np.zeros(len(frame), bool)
    return (frame["review_status"].astype(str) == "confirmed").to_numpy()


def evidence_items(submunitions: gpd.GeoDataFrame, rules: CmrRules) -> gpd.GeoDataFrame:
    """Submunition points that count as evidence: confidence >= rules.min_confidence, or
    confirmed by a reviewer (see :func:`rams.hazards.stage.reviewed_evidence`)."""
    keep = (submunitions["confidence"].to_numpy(dtype=float) >= rules.min_confidence) | confirmed(submunitions)
    items = submunitions.loc[keep & ~submunitions.geometry.is_empty.to_numpy()]
    return items.loc[items.geometry.geom_type == "Point"]


@dataclass(frozen=True)
class StrikeFootprint:
    """The items of one strike (or one lone item) and the ground they make hazardous (m)."""

    items: np.ndarray
    """Indices of its items in the coordinates :func:`footprints_of` was given."""
    lone: bool
    """True for a lone item: in no cluster and out of every cluster's reach."""
    outline: BaseGeometry
    """Tight outline of the items (a lone item: its disc of ``isolated_item_radius_m``)."""
    fade_out_m: float
    """Margin added to the outline: ``fade_out_m``, or ``isolated_fade_out_m`` when lone."""
    geometry: BaseGeometry
    """The outline buffered by the margin: the footprint."""


def strike_groups(xy_m: np.ndarray, rules: CmrRules) -> tuple[list[np.ndarray], np.ndarray]:
    """Item groups (index arrays into ``xy_m``, (N, 2) in m) and whether each is a lone item.

    DBSCAN clusters, each with the noise items within ``neighbour_distance_m`` of its tight
    outline (the nearest outline wins); every other noise item is a group of one, lone.
    """
    labels = cluster_items(xy_m, rules.neighbour_distance_m, rules.min_samples)
    clusters = [np.flatnonzero(labels == k) for k in range(int(labels.max(initial=NOISE)) + 1)]
    noise = np.flatnonzero(labels == NOISE)
    if clusters and len(noise):
        outlines = np.asarray([item_outline(xy_m[idx], rules) for idx in clusters], dtype=object)
        points = shapely.points(xy_m[noise])
        distance = shapely.distance(outlines[:, None], points[None, :])
        nearest = np.argmin(distance, axis=0)
        reach = distance[nearest, np.arange(len(noise))] <= rules.neighbour_distance_m
        clusters = [np.sort(np.concatenate([idx, noise[reach & (nearest == k)]]))
                    for k, idx in enumerate(clusters)]
        noise = noise[~reach]
    groups = clusters + [noise[i : i + 1] for i in range(len(noise))]
    lone = np.array([False] * len(clusters) + [True] * len(noise), dtype=bool)
    return groups, lone


def footprints_of(xy_m: np.ndarray, rules: CmrRules, position_error_m: np.ndarray | None = None
                  ) -> list[StrikeFootprint]:
    """One :class:`StrikeFootprint` per strike and per lone item of items ``xy_m`` ((N, 2), m).

    Ordered west to east by each footprint's westernmost item (then south to north), so the
    same items give the same footprints in the same order whatever their input order. With
    ``position_error_m`` (N, m: how far each item may lie from where it was placed), a
    footprint's margin grows by the largest error among its items, so that it still holds its
    items wherever they truly are.
    """
    xy_m = np.asarray(xy_m, dtype=np.float64).reshape(-1, 2)
    error = np.zeros(len(xy_m)) if position_error_m is None else \
        np.nan_to_num(np.asarray(position_error_m, dtype=np.float64).reshape(-1), nan=0.0).clip(min=0.0)
    # a fixed item order makes tie-breaks (a border item between two cores) order-independent
    order = np.lexsort((xy_m[:, 1], xy_m[:, 0]))
    groups, lone = strike_groups(xy_m[order], rules)
    ranked = sorted(range(len(groups)), key=lambda g: int(groups[g][0]))
    out = []
    for g in ranked:
        pts = xy_m[order[groups[g]]]
        if lone[g]:
            outline = Point(pts[0]).buffer(rules.isolated_item_radius_m)
            margin = rules.isolated_fade_out_m
        else:
            outline = item_outline(pts, rules)
            margin = rules.fade_out_m
        margin += float(error[order[groups[g]]].max())
        out.append(StrikeFootprint(
            items=order[groups[g]], lone=bool(lone[g]), outline=outline, fade_out_m=float(margin),
            geometry=shapely.make_valid(outline.buffer(margin)),
        ))
    return out


def position_errors(items: gpd.GeoDataFrame) -> np.ndarray | None:
    """The items' ``position_error_m`` (m; photographs' placements carry it), or None."""
    return items["position_error_m"].to_numpy(dtype=np.float64) if "position_error_m" in items else None


def strike_footprints(submunitions: gpd.GeoDataFrame, rules: CmrRules) -> gpd.GeoDataFrame:
    """One footprint per strike (its edge items included, see the module), and one per lone item.

    ``submunitions``: Point detections with ``confidence`` (0-1), projected CRS in metres.
    Returns ``footprint_id`` (1..n, numbered west to east by each footprint's westernmost
    item, so the same items give the same ids in any order), ``item_count``,
    ``orientation_deg`` (azimuth of the major axis, 0-180 clockwise from grid north; NaN for
    one item), ``fade_out_m`` (``rules.fade_out_m``, or ``rules.isolated_fade_out_m`` for a
    lone item, plus the largest ``position_error_m`` of its items where they carry one),
    ``area_m2`` (footprint with its fade-out margin, m²), ``outline_area_m2``
    (tight outline only, m²), ``max_confidence`` and the Polygon footprint (outline buffered
    by the fade-out margin).
    """
    items = evidence_items(submunitions, rules)
    if items.empty:
        return _empty(submunitions.crs)
    xy = shapely.get_coordinates(items.geometry.to_numpy())
    confidence = items["confidence"].to_numpy(dtype=float)
    rows = []
    for number, fp in enumerate(footprints_of(xy, rules, position_errors(items)), start=1):
        rows.append({
            "footprint_id": number,
            "item_count": len(fp.items),
            "orientation_deg": orientation_deg(xy[fp.items]),
            "fade_out_m": fp.fade_out_m,
            "area_m2": float(fp.geometry.area),
            "outline_area_m2": float(fp.outline.area),
            "max_confidence": float(confidence[fp.items].max()),
            "geometry": fp.geometry,
        })
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=submunitions.crs)
