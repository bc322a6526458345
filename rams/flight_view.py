"""The flight averaged down to a map-sized view, built from the pixels the region pass reads.

A survey decodes each pixel of the flight once. The report's map is a by-product of that pass:
each region adds up the valid pixels of its core in the cells of one `ViewGrid` (``factor`` ×
``factor`` flight px per cell) and returns them as a `ViewPart`; `assemble_view` adds the parts
and divides. Cells on a region border get their sums from both sides, so the view is exactly the
average of the valid pixels under each cell, whatever the region layout, with or without
overviews in the file. Memory is the view's size (a few tens of MB), never the flight's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from affine import Affine
from rasterio.windows import Window

from rams.flight import Flight
from rams.reading import RegionPixels, read_region
from rams.tiling import TileGrid

#: Longest side (px) of the report's map view.
VIEW_MAX_PX = 1600
#: Grey (RGB) of cells without a valid pixel: the same as the report's "no imagery".
NODATA_GREY = (226, 229, 233)


@dataclass(frozen=True)
class FlightView:
    """A downsampled RGB view of a flight and the transform of its pixel grid (flight CRS)."""

    rgb: np.ndarray  # uint8 (H, W, 3)
    transform: Affine

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in px."""
        return self.rgb.shape[1], self.rgb.shape[0]


@dataclass(frozen=True)
class ViewGrid:
    """Cells of ``factor`` × ``factor`` px over a ``width`` × ``height`` px flight grid."""

    width: int
    height: int
    factor: int

    @classmethod
    def fit(cls, width: int, height: int, max_px: int = VIEW_MAX_PX) -> ViewGrid:
        """The finest grid whose longest side is at most ``max_px`` cells."""
        return cls(width, height, max(1, math.ceil(max(width, height) / max_px)))

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of cells."""
        return math.ceil(self.height / self.factor), math.ceil(self.width / self.factor)

    def transform(self, flight_transform: Affine) -> Affine:
        """The view's pixel grid in the flight CRS."""
        return flight_transform @ Affine.scale(self.factor)


@dataclass(frozen=True)
class ViewPart:
    """A region's share of the view: per-cell sums of valid pixels (float64 (3, h, w)) and their
    count (int64 (h, w)), for the cells from (``row``, ``col``) on."""

    row: int
    col: int
    sums: np.ndarray
    counts: np.ndarray


def view_part(grid: ViewGrid, pixels: RegionPixels, core: Window) -> ViewPart:
    """Sum the valid pixels of ``core`` (raster px, inside ``pixels.window``) into ``grid``'s
    cells. Invalid pixels add nothing, so a cell's average is over its valid pixels only."""
    f = grid.factor
    r0, c0 = int(core.row_off), int(core.col_off)
    rgb, valid = pixels.view(core)
    if not valid.all():
        rgb = rgb * valid  # invalid pixels add nothing
    stack = np.concatenate([rgb, valid[None].view(np.uint8)])  # uint8 (4, h, w)
    wide = np.uint16 if f <= 257 else np.uint32  # f rows of 255 first, then f columns of those
    rows = _bin_sums(stack, r0 % f, f, axis=1, dtype=wide)
    sums = _bin_sums(rows, c0 % f, f, axis=2, dtype=np.uint32)
    return ViewPart(r0 // f, c0 // f, sums[:3].astype(np.float64), sums[3].astype(np.int64))


def _bin_sums(values: np.ndarray, offset: int, f: int, axis: int, dtype: type) -> np.ndarray:
    """Sums of ``values`` over bins of ``f`` along ``axis``, the first bin starting ``offset``
    px before the array (so holding ``f - offset`` of its px), as strided adds: one per phase
    within a bin, each a vectorised pass (far faster than ``np.add.reduceat`` on small bins)."""
    n = values.shape[axis]
    shape = list(values.shape)
    shape[axis] = (offset + n + f - 1) // f
    out = np.zeros(shape, dtype)
    lead = (slice(None),) * axis
    for phase in range(f):
        first = (phase - offset) % f
        if first >= n:
            continue
        part = values[(*lead, slice(first, None, f))]
        cell = (offset + first) // f
        out[(*lead, slice(cell, cell + part.shape[axis]))] += part
    return out


def assemble_view(grid: ViewGrid, parts: Iterable[ViewPart], flight_transform: Affine) -> FlightView:
    """The view from every region's part: the average valid pixel of each cell, and
    ``NODATA_GREY`` where a cell has none."""
    rows, cols = grid.shape
    sums = np.zeros((3, rows, cols), np.float64)
    counts = np.zeros((rows, cols), np.int64)
    for part in parts:
        h, w = part.counts.shape
        sums[:, part.row:part.row + h, part.col:part.col + w] += part.sums
        counts[part.row:part.row + h, part.col:part.col + w] += part.counts
    rgb = np.empty((rows, cols, 3), np.uint8)
    seen = counts > 0
    mean = np.moveaxis(sums, 0, -1)[seen] / counts[seen][:, None]
    rgb[seen] = np.clip(np.rint(mean), 0, 255).astype(np.uint8)
    rgb[~seen] = NODATA_GREY
    return FlightView(rgb, grid.transform(flight_transform))


def read_view(flight: Flight, max_px: int = VIEW_MAX_PX) -> FlightView:
    """The view of a flight that no survey pass has read: the same cells, read region by region
    (one full read of the flight; a survey gets its view from its own pass instead)."""
    grid = ViewGrid.fit(flight.width, flight.height, max_px)
    tiles = TileGrid(flight.width, flight.height, tile_px=512, overlap_px=0,
                     block_shape=flight.block_shape)
    parts = [view_part(grid, read_region(flight, region), region.core) for region in tiles.regions]
    return assemble_view(grid, parts, flight.transform)
