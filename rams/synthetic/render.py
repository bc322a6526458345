"""Render the pixels of one block of the global block grid from the scene description.

A block's pixels depend only on (scene, seed, block position): every texture is evaluated in
map coordinates, blur is computed over a margin, and sensor noise is keyed by block position.
So a flight rendered in any grouping of blocks, serially or in parallel, is the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.ndimage import gaussian_filter

from rams.synthetic.canvas import Canvas
from rams.synthetic.ground import paint_fields, paint_ground, paint_paths, paint_scorches
from rams.synthetic.objects import paint_objects
from rams.synthetic.scene import Scene
from rams.synthetic.terrain import paint_craters, paint_positions, paint_trenches

BLOCK_PX = 512
MARGIN_PX = 8  # room for the blur and relief gradients at block edges


def _hillshade(cv: Canvas) -> np.ndarray:
    """Relative light on the relief (1 = flat ground)."""
    gy, gx = np.gradient(cv.z, cv.gsd)
    sun = cv.scene.sun_vector
    lam = (-gx * sun[0] + gy * sun[1] + sun[2]) / np.sqrt(1 + gx * gx + gy * gy)
    return np.clip(0.45 + 0.55 * lam / sun[2], 0.2, 1.5).astype(np.float32)


def _develop(cv: Canvas, noise_key: Sequence[int]) -> np.ndarray:
    """Paint the scene onto a fresh canvas and develop it as a camera would: uint8 RGB (3, h, w)
    of the canvas less its ``MARGIN_PX`` border; sensor noise is drawn from ``noise_key``."""
    m = MARGIN_PX
    paint_ground(cv)
    paint_fields(cv)
    paint_paths(cv)
    paint_scorches(cv)
    paint_craters(cv)
    paint_trenches(cv)
    paint_positions(cv)
    cv.rgb *= (_hillshade(cv) * cv.shade)[None]
    paint_objects(cv)
    full = cv.full()
    # slow illumination drift (thin cloud, vignetting of the mosaic's source frames)
    cv.rgb *= (1 + 0.06 * cv.noise(full, 70, 2, 200))[None]
    warm = cv.noise(full, 120, 1, 201)
    cv.rgb[0] *= 1 + 0.02 * warm
    cv.rgb[2] *= 1 - 0.02 * warm
    rgb = gaussian_filter(cv.rgb, sigma=(0, 0.55, 0.55), mode="nearest")[:, m:-m, m:-m]
    rng = np.random.default_rng(list(noise_key))
    rgb += rng.normal(0, 0.008, rgb.shape).astype(np.float32)
    # a soft shoulder instead of hard clipping, like a camera's tone curve
    rgb = 1.05 * np.tanh(np.maximum(rgb, 0) / 1.05)
    return np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)


def render_window(
    scene: Scene, row0: int, col0: int, height: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """RGB uint8 (3, h, w) and surface height float32 (h, w, metres) of a pixel window that lies
    inside one block of the grid; the raster's top-left pixel is (0, 0) at scene bounds' corner.
    The whole block is rendered and cut, so pixels never depend on the window asked for."""
    block = (row0 // BLOCK_PX, col0 // BLOCK_PX)
    m = MARGIN_PX
    g = scene.gsd_m
    r_in, c_in = row0 - block[0] * BLOCK_PX, col0 - block[1] * BLOCK_PX
    cut = (slice(r_in, r_in + height), slice(c_in, c_in + width))
    row0, col0 = block[0] * BLOCK_PX, block[1] * BLOCK_PX
    height = min(BLOCK_PX, round((scene.bounds[3] - scene.bounds[1]) / g) - row0)
    width = min(BLOCK_PX, round((scene.bounds[2] - scene.bounds[0]) / g) - col0)
    xs = scene.bounds[0] + (col0 - m + np.arange(width + 2 * m) + 0.5) * g
    ys = scene.bounds[3] - (row0 - m + np.arange(height + 2 * m) + 0.5) * g
    cv = Canvas(scene, xs, ys)
    out = _develop(cv, (scene.seed, 0xB10C, *block))
    return out[:, cut[0], cut[1]].copy(), cv.z[m:-m, m:-m][cut].copy()


def render_view(scene: Scene, x: float, y: float, side_px: int, key: int) -> np.ndarray:
    """RGB uint8 (3, side, side) of a square view centred on map point (``x``, ``y``), metres,
    at the scene's GSD: a fresh shot, on a pixel grid of its own rather than the flight's, with
    sensor noise keyed by ``key``. Costs what its pixels cost, not a whole block."""
    m = MARGIN_PX
    offsets = (np.arange(side_px + 2 * m) - (side_px + 2 * m) / 2 + 0.5) * scene.gsd_m
    return _develop(Canvas(scene, x + offsets, y - offsets), (scene.seed, 0x51E3, key))


def render_region(
    scene: Scene, row0: int, col0: int, height: int, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """RGB and height of a block-aligned window, rendered block by block."""
    rgb = np.empty((3, height, width), np.uint8)
    z = np.empty((height, width), np.float32)
    for r in range(row0, row0 + height, BLOCK_PX):
        for c in range(col0, col0 + width, BLOCK_PX):
            h = min(BLOCK_PX, row0 + height - r)
            w = min(BLOCK_PX, col0 + width - c)
            brgb, bz = render_window(scene, r, c, h, w)
            rgb[:, r - row0:r - row0 + h, c - col0:c - col0 + w] = brgb
            z[r - row0:r - row0 + h, c - col0:c - col0 + w] = bz
    return rgb, z
