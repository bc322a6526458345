"""Running the detector over a region: batches in, one probability canvas out.

Each tile contributes only its core to the canvas (no seams, no averaging, no duplicates);
the region's halo, outside its core, is filled from the edge tiles' full windows so that
vectorization can follow an object across the core border and clip it there.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from rasterio.windows import Window

from rams.detector.context import context_factor
from rams.detector.model import CLASSES, DOWNSAMPLE_PX
from rams.reading import RegionPixels, array_pixels, batches, valid_tiles
from rams.resample import block_mean, upsample
from rams.tiling import Region, single_region


class Predictor(Protocol):
    """Anything mapping uint8 batches (N, C, H, W) of ``in_channels`` bands (RGB, then the
    elevation band when 4) to probabilities (N, K, H, W)."""

    in_channels: int

    def predict(self, batch: np.ndarray) -> np.ndarray: ...


def _paste(
    canvas: np.ndarray,
    limit: Window,
    prob: np.ndarray,
    tile_win: Window,
    part: Window,
    origin: Window | None = None,
) -> None:
    """Copy ``part ∩ limit`` (raster px) of a tile's probabilities onto the canvas, whose
    top-left pixel is ``origin`` (default ``limit``)."""
    origin = origin or limit
    part = part.intersection(limit)
    r, c = int(part.row_off - origin.row_off), int(part.col_off - origin.col_off)
    tr, tc = int(part.row_off - tile_win.row_off), int(part.col_off - tile_win.col_off)
    h, w = int(part.height), int(part.width)
    canvas[:, r : r + h, c : c + w] = prob[:, tr : tr + h, tc : tc + w]


def _halo_strips(read: Window, core: Window) -> list[Window]:
    """The parts of ``read`` outside ``core`` as four rectangles (raster px; may be empty)."""
    top, left = int(core.row_off), int(core.col_off)
    bottom, right = top + int(core.height), left + int(core.width)
    r0, c0 = int(read.row_off), int(read.col_off)
    r1, c1 = r0 + int(read.height), c0 + int(read.width)
    return [
        Window(c0, r0, c1 - c0, max(0, top - r0)),
        Window(c0, bottom, c1 - c0, max(0, r1 - bottom)),
        Window(c0, top, max(0, left - c0), bottom - top),
        Window(right, top, max(0, c1 - right), bottom - top),
    ]


def predict_region(
    detector: Predictor,
    pixels: RegionPixels,
    region: Region,
    batch_size: int = 8,
    classes: int = 3,
    gsd_m: float | None = None,
) -> np.ndarray:
    """Probabilities (classes, H, W) float32 on ``pixels.window``; zero on every invalid pixel
    (no imagery, or masked out by the flight's alpha band, mask or nodata): nothing is found where
    nothing was seen.

    When the detector has a ``context`` model and ``gsd_m`` (metres per px) is given, the
    context model's classes come from it, run on the whole read window block-averaged
    (:func:`context_probabilities`).
    """
    canvas = np.zeros((classes, *pixels.valid.shape), dtype=np.float32)
    strips = [s for s in _halo_strips(pixels.window, region.core) if s.width > 0 and s.height > 0]
    for group, batch in batches(pixels, valid_tiles(pixels, region), batch_size, detector.in_channels):
        for tile, prob in zip(group, detector.predict(batch), strict=True):
            _paste(canvas, pixels.window, prob, tile.window, tile.core)
            for strip in strips:
                if _overlaps(strip, tile.window):
                    _paste(canvas, strip, prob, tile.window, tile.window, pixels.window)
    context = getattr(detector, "context", None)
    if context is not None and gsd_m is not None and pixels.valid.any():
        card = context.card
        channels = [CLASSES.index(c) for c in context.outputs]
        k = context_factor(gsd_m, float(card["input_gsd_m"]))
        maps = context_probabilities(context, pixels.image(context.in_channels), k, int(card["tile_px"]),
                                     int(card["overlap_px"]), channels, batch_size)
        canvas[channels] = maps
    if not pixels.valid.all():
        canvas *= pixels.valid
    return canvas


def _overlaps(a: Window, b: Window) -> bool:
    return (
        a.col_off < b.col_off + b.width
        and b.col_off < a.col_off + a.width
        and a.row_off < b.row_off + b.height
        and b.row_off < a.row_off + a.height
    )


def context_probabilities(
    context: Predictor,
    image: np.ndarray,
    k: int,
    tile_px: int,
    overlap_px: int,
    channels: list[int],
    batch_size: int = 8,
) -> np.ndarray:
    """A context model's ``channels`` (len(channels), H, W) float32 over a uint8 image (C, H, W).

    The image is block-averaged by ``k`` and tiled as one region of ``tile_px`` (coarse px) tiles
    by the survey's own grid and stitching (:func:`predict_region`); the maps are brought back to
    the image's grid. A coarse image smaller than a tile is one tile of its own size.
    """
    coarse = block_mean(image, k)
    height, width = coarse.shape[1:]
    # an image smaller than a tile is one tile of its own size (rounded up to the network's
    # stride), not a tile of mostly padding: a region's coarse image often is (1,040 px at 3 cm)
    tile_px = min(tile_px, -(-max(height, width) // DOWNSAMPLE_PX) * DOWNSAMPLE_PX)
    region = single_region(width, height, tile_px, overlap_px if overlap_px < tile_px else 0)
    prob = predict_region(context, array_pixels(coarse, region.read), region, batch_size)
    r, c = int(-region.read.row_off), int(-region.read.col_off)
    return upsample(prob[channels, r:r + height, c:c + width], k, image.shape[1:])
