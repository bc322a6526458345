"""Simple whole-flight prediction and vectorisation, used by `rams evaluate` and validation.

A plain sliding window (core-cropped tiles) over an in-memory RGB array and straightforward
vectorisers (heatmap peaks, mask polygons, mask skeleton lines). The survey pipeline has its own
region-parallel equivalents; these stay deliberately small so evaluation does not depend on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from rasterio.features import shapes
from scipy import ndimage
from skimage.feature import peak_local_max
from skimage.morphology import remove_small_holes, remove_small_objects, skeletonize

from rams.detector.model import DOWNSAMPLE_PX

PredictFn = Callable[[np.ndarray], np.ndarray]  # uint8 (N,C,H,W) -> float32 (N,3,H,W)

DEFAULT_POSTPROCESS: dict[str, float] = {
    "peak_threshold": 0.3,  # heatmap probability a submunition peak must exceed
    "peak_min_distance_m": 0.15,
    "mask_threshold": 0.5,
    "min_position_area_m2": 2.0,
    "min_trench_area_m2": 1.0,
}


def _stride_multiple(size: int) -> int:
    return -(-size // DOWNSAMPLE_PX) * DOWNSAMPLE_PX


def _starts(size: int, tile: int, step: int) -> list[int]:
    if size <= tile:
        return [0]
    starts = list(range(0, size - tile, step))
    return starts + [size - tile]


def predict_flight(predict: PredictFn, image: np.ndarray, tile_px: int = 512,
                   overlap_px: int = 64, batch_size: int = 8) -> np.ndarray:
    """Probabilities (3, H, W) float16 for a uint8 image (C, H, W) by core-cropped tiles.

    Each tile writes only its core (the tile less overlap/2 px per inner side), so there is no
    averaging and no seam. A side shorter than ``tile_px`` is covered by one tile of its own
    length rounded up to a multiple of 32 px (the network's deepest stride), zero-padded.
    """
    c, h, w = image.shape
    half = overlap_px // 2
    th, tw = min(tile_px, _stride_multiple(h)), min(tile_px, _stride_multiple(w))
    ph, pw = max(th - h, 0), max(tw - w, 0)
    padded = np.pad(image, ((0, 0), (0, ph), (0, pw))) if ph or pw else image
    out = np.zeros((3, h, w), np.float16)
    origins = [(r, q) for r in _starts(h, th, th - overlap_px) for q in _starts(w, tw, tw - overlap_px)]
    for k in range(0, len(origins), batch_size):
        chunk = origins[k:k + batch_size]
        batch = np.stack([padded[:, r:r + th, q:q + tw] for r, q in chunk])
        prob = predict(batch)
        for (r, q), p in zip(chunk, prob, strict=True):
            r0 = r + half if r > 0 else r
            q0 = q + half if q > 0 else q
            r1 = min(r + th - half if r + th < h else h, h)
            q1 = min(q + tw - half if q + tw < w else w, w)
            out[:, r0:r1, q0:q1] = p[:, r0 - r:r1 - r, q0 - q:q1 - q]
    return out


def _px_to_map(transform: Affine, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    xs, ys = transform @ (cols + 0.5, rows + 0.5)
    return np.stack([np.asarray(xs, float), np.asarray(ys, float)], axis=1).reshape(-1, 2)


def peaks_to_points(heat: np.ndarray, transform: Affine, crs: Any, threshold: float,
                    min_distance_m: float) -> gpd.GeoDataFrame:
    """Local maxima of the submunition heatmap above ``threshold`` as points with ``confidence``."""
    gsd = abs(transform.a)
    rc = peak_local_max(heat.astype(np.float32), min_distance=max(1, round(min_distance_m / gsd)),
                        threshold_abs=threshold, exclude_border=False)
    conf = heat[rc[:, 0], rc[:, 1]].astype(float) if len(rc) else np.empty(0)
    xy = _px_to_map(transform, rc[:, 0], rc[:, 1]) if len(rc) else np.empty((0, 2))
    return gpd.GeoDataFrame({"confidence": conf}, geometry=shapely.points(xy), crs=crs)


def mask_to_polygons(prob: np.ndarray, transform: Affine, crs: Any, threshold: float,
                     min_area_m2: float) -> gpd.GeoDataFrame:
    """Connected regions of ``prob > threshold`` as polygons; ``confidence`` = mean probability."""
    gsd = abs(transform.a)
    lab, n = ndimage.label(_clean_mask(prob, threshold, gsd, min_area_m2, min_area_m2))
    if n == 0:
        return gpd.GeoDataFrame({"confidence": []}, geometry=[], crs=crs)
    mean = ndimage.mean(prob.astype(np.float32), lab, index=np.arange(1, n + 1))
    geoms, conf = [], []
    for geom, value in shapes(lab.astype(np.int32), mask=lab > 0, transform=transform):
        geoms.append(shapely.geometry.shape(geom))
        conf.append(float(mean[int(value) - 1]))
    return gpd.GeoDataFrame({"confidence": conf}, geometry=geoms, crs=crs)


def _clean_mask(prob: np.ndarray, threshold: float, gsd_m: float, min_area_m2: float,
                hole_m2: float) -> np.ndarray:
    """``prob > threshold`` without specks smaller than ``min_area_m2`` or holes under ``hole_m2``."""
    mask = remove_small_objects(prob > threshold, max_size=max(int(min_area_m2 / gsd_m**2) - 1, 0))
    return remove_small_holes(mask, max_size=max(int(hole_m2 / gsd_m**2), 1))


def _prune_spurs(lines: list[shapely.LineString], spur_m: float) -> list[shapely.LineString]:
    """Drop short dead-end branches (skeleton spurs) hanging off junctions."""
    ends = [tuple(np.round(c, 3)) for g in lines for c in (g.coords[0], g.coords[-1])]
    degree: dict[tuple, int] = {}
    for e in ends:
        degree[e] = degree.get(e, 0) + 1
    keep = []
    for g in lines:
        a, b = degree[tuple(np.round(g.coords[0], 3))], degree[tuple(np.round(g.coords[-1], 3))]
        if g.length < spur_m and min(a, b) == 1 and max(a, b) >= 2:
            continue
        keep.append(g)
    return keep


def mask_to_centrelines(prob: np.ndarray, transform: Affine, crs: Any, threshold: float,
                        min_area_m2: float, cell_m: float = 0.2, spur_m: float = 1.0
                        ) -> gpd.GeoDataFrame:
    """Centre lines of ``prob > threshold``: skeleton on a ~``cell_m`` grid, spurs pruned.

    Thinning a coarser grid (trenches are metres wide) avoids the hair of spurs a full-resolution
    skeleton grows along ragged edges; its error (< ``cell_m``) is far below trench widths.
    """
    gsd = abs(transform.a)
    k = max(1, int(round(cell_m / gsd)))
    h, w = (prob.shape[0] // k) * k, (prob.shape[1] // k) * k
    coarse = prob[:h, :w].astype(np.float32).reshape(h // k, k, w // k, k).mean(axis=(1, 3))
    gsd_c = gsd * k
    sk = skeletonize(_clean_mask(coarse, threshold, gsd_c, min_area_m2, 4 * min_area_m2))
    transform_c = transform @ Affine.scale(k)
    segs = []
    # link each skeleton pixel to its right/down neighbours, diagonals only without a corner
    right = sk[:, :-1] & sk[:, 1:]
    down = sk[:-1, :] & sk[1:, :]
    diag = sk[:-1, :-1] & sk[1:, 1:] & ~sk[:-1, 1:] & ~sk[1:, :-1]
    anti = sk[:-1, 1:] & sk[1:, :-1] & ~sk[:-1, :-1] & ~sk[1:, 1:]
    for m, (dr, dc), (r_off, c_off) in ((right, (0, 1), (0, 0)), (down, (1, 0), (0, 0)),
                                        (diag, (1, 1), (0, 0)), (anti, (1, -1), (0, 1))):
        r, c = np.nonzero(m)
        r, c = r + r_off, c + c_off
        a, b = _px_to_map(transform_c, r, c), _px_to_map(transform_c, r + dr, c + dc)
        segs.append(np.stack([a, b], axis=1))
    seg = np.concatenate(segs)
    if len(seg) == 0:
        return gpd.GeoDataFrame({"length_m": []}, geometry=[], crs=crs)
    merged = shapely.line_merge(shapely.union_all(shapely.linestrings(seg)))
    parts = _prune_spurs(list(shapely.get_parts(merged)), spur_m)
    if parts:
        parts = list(shapely.get_parts(shapely.line_merge(shapely.union_all(parts))))
    parts = [shapely.simplify(g, gsd_c) for g in parts]
    parts = [g for g in parts if g.length >= spur_m]
    return gpd.GeoDataFrame({"length_m": [g.length for g in parts]}, geometry=parts, crs=crs)


def mask_threshold(postprocess: dict[str, float], cls: str, default: float = 0.5) -> float:
    """A mask class's threshold in a card's post-processing: ``<cls>_mask_threshold`` when it
    names one, else ``mask_threshold``, else ``default``."""
    return float(postprocess.get(f"{cls}_mask_threshold", postprocess.get("mask_threshold", default)))


def vectorise(prob: np.ndarray, transform: Affine, crs: Any,
              postprocess: dict[str, float] | None = None) -> dict[str, gpd.GeoDataFrame]:
    """Detections from probability maps (3, H, W): submunition points, positions, trench lines.

    Masks are cut at their class's :func:`mask_threshold`, as a survey calibrates them."""
    pp = {**DEFAULT_POSTPROCESS, **(postprocess or {})}
    return {
        "submunitions": peaks_to_points(prob[2], transform, crs, pp["peak_threshold"],
                                        pp["peak_min_distance_m"]),
        "positions": mask_to_polygons(prob[1], transform, crs, mask_threshold(pp, "position"),
                                      pp["min_position_area_m2"]),
        "trenches": mask_to_centrelines(prob[0], transform, crs, mask_threshold(pp, "trench"),
                                        pp["min_trench_area_m2"]),
    }
