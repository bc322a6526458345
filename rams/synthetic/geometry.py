"""Distances to centre lines, evaluated on a patch of pixel centres (metres)."""

from __future__ import annotations

import numpy as np

from rams.synthetic.canvas import Patch


def polyline_distance(
    p: Patch, xy: np.ndarray, reach_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distance (m) from each pixel to the line ``xy`` (N, 2), the signed across-line offset
    (m, positive left of the line direction) and the unit left normal (nx, ny) of the nearest
    segment; all (h, w) float32. Pixels farther than ``reach_m`` from every segment get inf."""
    shape = (len(p.ys), len(p.xs))
    best = np.full(shape, np.inf, np.float32)
    side = np.zeros(shape, np.float32)
    nx = np.zeros(shape, np.float32)
    ny = np.zeros(shape, np.float32)
    g = abs(float(p.xs[1] - p.xs[0])) if len(p.xs) > 1 else abs(float(p.ys[0] - p.ys[-1])) or 1
    for a, b in zip(xy[:-1], xy[1:], strict=False):
        # only the pixels within reach of this segment's bounding box
        c0 = max(0, int(np.floor((min(a[0], b[0]) - reach_m - p.xs[0]) / g)))
        c1 = min(shape[1], int(np.ceil((max(a[0], b[0]) + reach_m - p.xs[0]) / g)) + 1)
        r0 = max(0, int(np.floor((p.ys[0] - max(a[1], b[1]) - reach_m) / g)))
        r1 = min(shape[0], int(np.ceil((p.ys[0] - min(a[1], b[1]) + reach_m) / g)) + 1)
        d = b - a
        seg = float(np.hypot(*d))
        if c0 >= c1 or r0 >= r1 or seg == 0:
            continue
        ux, uy = d / seg
        rx = (p.xs[c0:c1] - a[0]).astype(np.float32)[None, :]
        ry = (p.ys[r0:r1] - a[1]).astype(np.float32)[:, None]
        t = np.clip(rx * ux + ry * uy, 0, seg)
        dist = np.hypot(rx - t * ux, ry - t * uy)
        win = (slice(r0, r1), slice(c0, c1))
        closer = dist < best[win]
        best[win] = np.where(closer, dist, best[win])
        side[win] = np.where(closer, ux * ry - uy * rx, side[win])
        nx[win] = np.where(closer, -uy, nx[win])
        ny[win] = np.where(closer, ux, ny[win])
    return best, side, nx, ny


def box_sdf(u: np.ndarray, v: np.ndarray, half_u: float, half_v: float) -> np.ndarray:
    """Signed distance (m) to an axis-aligned box in local coordinates, negative inside."""
    qx, qy = np.abs(u) - half_u, np.abs(v) - half_v
    outside = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0))
    return (outside + np.minimum(np.maximum(qx, qy), 0)).astype(np.float32)


def capsule_sdf(u: np.ndarray, v: np.ndarray, length: float, diameter: float) -> np.ndarray:
    """Signed distance (m) to a capsule along u (total ``length``), negative inside."""
    r = diameter / 2
    q = np.maximum(np.abs(u) - max(length / 2 - r, 0), 0)
    return (np.hypot(q, v) - r).astype(np.float32)
