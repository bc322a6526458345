"""Submunition centres: peaks of the centre heatmap, suppressed within a radius in metres."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from scipy.spatial import cKDTree

from rams.vectorize.geo import feature_frame, pixel_to_map


def greedy_nms(xy: np.ndarray, confidence: np.ndarray, radius: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression: highest confidence first, ties by x, y.

    ``xy`` (n, 2) and ``radius`` share units (m); a point within ``radius`` of a kept one is
    dropped. Returned indices are in keep order.
    """
    order = np.lexsort((xy[:, 1], xy[:, 0], -confidence)) if len(xy) else np.zeros(0, int)
    if radius <= 0 or len(order) < 2:
        return order
    tree = cKDTree(xy)
    suppressed = np.zeros(len(xy), dtype=bool)
    keep = []
    for i in order:
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed[tree.query_ball_point(xy[i], radius)] = True
    return np.asarray(keep, dtype=np.int64)


def _log_parabola_offset(lm: np.ndarray, l0: np.ndarray, lp: np.ndarray) -> np.ndarray:
    """Vertex of the parabola through (-1, lm), (0, l0), (1, lp), in px, within ±0.5.

    On log values this is exact for a gaussian peak, which is what the heatmap is trained on.
    """
    curvature = lm - 2.0 * l0 + lp
    safe = np.where(curvature < 0, curvature, -1.0)
    offset = np.where(curvature < 0, 0.5 * (lm - lp) / safe, 0.0)
    return np.clip(offset, -0.5, 0.5)


def submunition_points(
    heat: np.ndarray,
    transform: Affine,
    crs: object,
    *,
    threshold: float = 0.5,
    nms_radius_m: float = 0.25,
) -> gpd.GeoDataFrame:
    """Points at heatmap peaks >= ``threshold``, at most one within ``nms_radius_m`` (m).

    ``heat`` is the (H, W) centre heatmap (0-1) on the grid of ``transform``; peaks are
    refined to sub-pixel precision; ``confidence`` is the peak value. Points in ``crs``.
    """
    heat = np.asarray(heat, dtype=np.float32)
    h, w = heat.shape
    rows, cols = np.nonzero(heat >= threshold)

    def at(dr: int, dc: int) -> np.ndarray:
        return heat[np.clip(rows + dr, 0, h - 1), np.clip(cols + dc, 0, w - 1)]

    # Local maxima among the few pixels above threshold, not a filter over the whole map.
    centre = at(0, 0)
    peak = np.ones(rows.size, dtype=bool)
    for dr, dc in ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)):
        peak &= centre >= at(dr, dc)
    rows, cols, confidence = rows[peak], cols[peak], centre[peak].astype(np.float64)

    def log_at(dr: int, dc: int) -> np.ndarray:
        return np.log(np.maximum(np.nan_to_num(at(dr, dc)), 1e-6))

    l0 = log_at(0, 0)
    fine_rows = rows + _log_parabola_offset(log_at(-1, 0), l0, log_at(1, 0))
    fine_cols = cols + _log_parabola_offset(log_at(0, -1), l0, log_at(0, 1))
    x, y = pixel_to_map(transform, fine_rows, fine_cols)
    keep = greedy_nms(np.column_stack([x, y]), confidence, nms_radius_m)
    return feature_frame({"confidence": confidence[keep]}, shapely.points(x[keep], y[keep]), crs)
