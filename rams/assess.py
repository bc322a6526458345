"""Where the imagery cannot support a finding: nodata, dense vegetation, saturation, deep
shadow, blur. Absence of detections there must never be read as clear ground.

Statistics are taken on a grid of ``cell_m`` cells (block sums, one pass per statistic over
the full-resolution region), smoothed over ``window_m``, thresholded there and expanded back
to pixels. Measured on a 4096 px region at 3 cm GSD: 0.57 CPU-s, ~29 MPix per CPU-second,
single-threaded (tests/test_assess.py prints the wall-clock figure for a 2000 px scene).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.morphology import remove_small_holes, remove_small_objects

# Priority order: a pixel gets the first reason that applies, so reason areas add up.
REASONS = ("nodata", "saturated", "dark", "vegetation", "blur")


def coverage_mask(valid: np.ndarray, *, max_hole_px: int = 4) -> np.ndarray:
    """Imaged ground: ``valid`` with isolated invalid specks of up to ``max_hole_px`` px filled.

    An 8-bit mosaic whose nodata value is 0 marks genuinely black pixels as nodata; a few such
    pixels inside the imagery are imaged ground, not a gap in it.
    """
    valid = np.asarray(valid, dtype=bool)
    if valid.all():
        return valid.copy()
    return remove_small_holes(valid, max_size=max_hole_px)


def _cell_sums(values: np.ndarray, cell: int) -> np.ndarray:
    """Sums over ``cell`` x ``cell`` px blocks (edge blocks may be smaller), float64.

    Strided slice sums into a small accumulator: no full-size float copy of ``values``.
    """
    h, w = values.shape
    rows = np.zeros((-(-h // cell), w), dtype=np.float32)
    for k in range(min(cell, h)):
        part = values[k::cell]
        rows[: len(part)] += part
    sums = np.zeros((rows.shape[0], -(-w // cell)), dtype=np.float64)
    for k in range(min(cell, w)):
        part = rows[:, k::cell]
        sums[:, : part.shape[1]] += part
    return sums


def _clean(flags: np.ndarray, min_cells: int, *, fill: bool = False) -> np.ndarray:
    """Cell flags without patches (and, with ``fill``, gaps) under ``min_cells`` cells."""
    if min_cells > 1:
        flags = remove_small_objects(flags, max_size=min_cells - 1)
        if fill:
            flags = remove_small_holes(flags, max_size=min_cells - 1)
    return flags


def not_assessable(
    rgb: np.ndarray,
    valid: np.ndarray,
    gsd_m: float,
    *,
    veg_prob: np.ndarray | None = None,
    window_m: float = 1.0,
    cell_m: float = 0.5,
    min_area_m2: float = 1.0,
    veg_exg_min: float = 0.10,
    veg_luma_max: float = 100.0,
    veg_texture_min: float = 14.0,
    saturated_level: int = 250,
    saturated_fraction: float = 0.5,
    dark_luma_max: float = 25.0,
    blur_laplacian_var: float = 15.0,
) -> dict[str, np.ndarray]:
    """Boolean (H, W) masks per reason in ``REASONS``, mutually exclusive in that order.

    ``rgb`` is uint8 (3, H, W), ``valid`` bool (H, W), ``gsd_m`` m/px. Over windows of
    ~``window_m`` (m), on luma Y (0-255):
    - nodata: outside ``coverage_mask(valid)``;
    - saturated: at least ``saturated_fraction`` of pixels >= ``saturated_level`` in all bands;
    - dark: mean Y <= ``dark_luma_max`` (deep shadow);
    - vegetation: dense canopy, i.e. green (excess green 2g-r-b of the mean chromaticity
      >= ``veg_exg_min``), darker than sunlit grass (mean Y <= ``veg_luma_max``) and textured by
      leaf shadow (std Y >= ``veg_texture_min``); with ``veg_prob`` (H, W, 0-1) instead its
      window mean >= 0.5. Gaps in a canopy smaller than ``min_area_m2`` are filled;
    - blur: mean squared 4-neighbour Laplacian of Y <= ``blur_laplacian_var`` (DN²). Sharp
      ground with sensor noise alone gives hundreds; featureless surfaces also fall under it.
    Patches under ``min_area_m2`` (m²) are dropped.
    """
    h, w = valid.shape
    coverage = coverage_mask(valid)
    cell = max(1, round(cell_m / gsd_m))
    size = max(1, round(window_m / (cell * gsd_m))) | 1  # odd, so the window is centred
    min_cells = int(np.ceil(min_area_m2 / (cell * gsd_m) ** 2))

    r, g, b = rgb
    # In-place integer arithmetic: this runs on every pixel of a flight, temporaries cost.
    luma = g.astype(np.uint16)
    luma *= 150
    for band, weight in ((r, 77), (b, 29)):
        term = band.astype(np.uint16)
        term *= weight
        luma += term
    luma >>= 8
    saturated = np.minimum(np.minimum(r, g), b) >= saturated_level
    y = luma.view(np.int16)
    laplacian = np.zeros((h, w), dtype=np.float32)
    core = laplacian[1:-1, 1:-1]
    core += y[1:-1, 1:-1]
    core *= 4
    for shifted in (y[:-2, 1:-1], y[2:, 1:-1], y[1:-1, :-2], y[1:-1, 2:]):
        core -= shifted
    laplacian *= laplacian
    luma_sq = luma * luma

    count = ndimage.uniform_filter(_cell_sums(coverage, cell), size, mode="constant")
    covered = bool(coverage.all())

    def window_mean(values: np.ndarray) -> np.ndarray:
        masked = values if covered else values * coverage
        sums = ndimage.uniform_filter(_cell_sums(masked, cell), size, mode="constant")
        return sums / np.maximum(count, 1e-9)

    mean_r, mean_g, mean_b = window_mean(r), window_mean(g), window_mean(b)
    mean_y = window_mean(luma)
    std_y = np.sqrt(np.maximum(window_mean(luma_sq) - mean_y**2, 0))
    seen = count > 0

    flags = {
        "saturated": window_mean(saturated) >= saturated_fraction,
        "dark": mean_y <= dark_luma_max,
        "blur": window_mean(laplacian) <= blur_laplacian_var,
    }
    if veg_prob is None:
        excess_green = (2 * mean_g - mean_r - mean_b) / np.maximum(mean_r + mean_g + mean_b, 1)
        flags["vegetation"] = (
            (excess_green >= veg_exg_min) & (mean_y <= veg_luma_max) & (std_y >= veg_texture_min)
        )
    else:
        flags["vegetation"] = window_mean(np.nan_to_num(veg_prob)) >= 0.5

    masks = {"nodata": ~coverage}
    taken = np.zeros_like(seen)
    for reason in REASONS[1:]:
        cells = _clean(flags[reason] & seen, min_cells, fill=reason == "vegetation") & ~taken
        taken |= cells
        masks[reason] = np.repeat(np.repeat(cells, cell, axis=0)[:h], cell, axis=1)[:, :w]
        masks[reason] &= coverage
    return masks
