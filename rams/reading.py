"""Reading a region once and cutting its tiles as views: the hot path of every job.

A region is read with ONE windowed read into a uint8 canvas; tiles are numpy views into it and
batches are contiguous (N, C, H, W) uint8 arrays. Tiles with no valid pixel are skipped.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from rasterio.windows import Window

from rams.elevation import RELIEF_ZERO_LEVEL, read_relief
from rams.errors import RamsError
from rams.flight import Flight
from rams.tiling import Region, Tile


@dataclass
class RegionPixels:
    """A region's pixels: ``rgb`` uint8 (3, H, W) and ``valid`` bool (H, W) on ``window``
    (raster px; parts of the window outside the raster are zero and invalid), and the elevation
    band ``relief`` uint8 (H, W) when it was read (see :mod:`rams.elevation`)."""

    window: Window
    rgb: np.ndarray
    valid: np.ndarray
    relief: np.ndarray | None = None

    def image(self, bands: int) -> np.ndarray:
        """uint8 (bands, H, W): the RGB bands, then the elevation band when ``bands`` is 4."""
        if bands == 3:
            return self.rgb
        if bands != 4 or self.relief is None:
            raise RamsError("region", f"the model takes {bands} bands; this flight was read with "
                                      f"{3 if self.relief is None else 4} (RGB, then elevation)")
        return np.concatenate([self.rgb, self.relief[None]])

    def view(self, window: Window) -> tuple[np.ndarray, np.ndarray]:
        """(rgb, valid) views of a sub-window given in raster px."""
        r = int(window.row_off - self.window.row_off)
        c = int(window.col_off - self.window.col_off)
        h, w = int(window.height), int(window.width)
        return self.rgb[:, r : r + h, c : c + w], self.valid[r : r + h, c : c + w]


_local = threading.local()


def _thread_canvas(shape: tuple[int, ...]) -> np.ndarray:
    """This thread's reusable uint8 canvas of ``shape``: on this kind of machine touching fresh
    pages costs about as much as decoding them."""
    canvas = getattr(_local, "canvas", None)
    if canvas is None or canvas.shape != shape:
        canvas = _local.canvas = np.empty(shape, dtype=np.uint8)
    return canvas


def read_region(flight: Flight, region: Region, *, reuse: bool = False, relief: bool = False
                ) -> RegionPixels:
    """Read ``region.read`` in one windowed read (padding with invalid zeros past the raster),
    and with ``relief`` the elevation band from the flight's DSM (ground level past the raster).

    With ``reuse`` the pixels go into this thread's canvas, overwritten by its next reuse read:
    for region tasks that are done with one region before they read the next.
    """
    pixels = _read_rgb(flight, region.read, reuse)
    if relief:
        inside = pixels.window.intersection(Window(0, 0, flight.width, flight.height))
        pixels.relief = np.full(pixels.valid.shape, RELIEF_ZERO_LEVEL, np.uint8)
        r, c = int(inside.row_off - pixels.window.row_off), int(inside.col_off - pixels.window.col_off)
        pixels.relief[r:r + int(inside.height), c:c + int(inside.width)] = read_relief(flight, inside)
    return pixels


def _read_rgb(flight: Flight, win: Window, reuse: bool) -> RegionPixels:
    shape = (3, int(win.height), int(win.width))
    inside = win.intersection(Window(0, 0, flight.width, flight.height))
    if (inside.width, inside.height) == (win.width, win.height):
        rgb = _thread_canvas(shape) if reuse else np.empty(shape, dtype=np.uint8)
        rgb, valid = flight.read_rgb(win, out=rgb)
        return RegionPixels(win, rgb, valid)
    rgb = np.zeros(shape, dtype=np.uint8)
    valid = np.zeros(shape[1:], dtype=bool)
    pixels = RegionPixels(win, rgb, valid)
    part_rgb, part_valid = pixels.view(inside)
    _, part_valid[...] = flight.read_rgb(inside, out=part_rgb)
    return pixels


def array_pixels(image: np.ndarray, window: Window, valid: np.ndarray | None = None) -> RegionPixels:
    """``window`` (px; may reach past the image, read as invalid zeros) of an in-memory uint8
    image (3 or 4, H, W): the RGB bands, then the elevation band when there are four; ``valid``
    (H, W) bool, default every pixel. The in-memory twin of :func:`read_region`."""
    bands, height, width = image.shape
    shape = (int(window.height), int(window.width))
    pixels = RegionPixels(window, np.zeros((3, *shape), np.uint8), np.zeros(shape, bool),
                          np.full(shape, RELIEF_ZERO_LEVEL, np.uint8) if bands == 4 else None)
    inside = window.intersection(Window(0, 0, width, height))
    rows = slice(int(inside.row_off), int(inside.row_off + inside.height))
    cols = slice(int(inside.col_off), int(inside.col_off + inside.width))
    r, c = int(inside.row_off - window.row_off), int(inside.col_off - window.col_off)
    h, w = int(inside.height), int(inside.width)
    pixels.rgb[:, r:r + h, c:c + w] = image[:3, rows, cols]
    pixels.valid[r:r + h, c:c + w] = True if valid is None else valid[rows, cols]
    if pixels.relief is not None:
        pixels.relief[r:r + h, c:c + w] = image[3, rows, cols]
    return pixels


def valid_tiles(pixels: RegionPixels, region: Region) -> list[Tile]:
    """The region's tiles holding at least one valid pixel in their core."""
    return [tile for tile in region.tiles if pixels.view(tile.core)[1].any()]


def batches(pixels: RegionPixels, tiles: list[Tile], batch_size: int, bands: int = 3
            ) -> Iterator[tuple[list[Tile], np.ndarray]]:
    """Yield (tiles, batch), batch a contiguous uint8 array (N, bands, tile_px, tile_px) (see
    :meth:`RegionPixels.image`).

    One buffer serves every batch of the call (fresh pages cost more than the copy itself), so
    a batch is valid until the next one is drawn: copy it to keep it.
    """
    if not tiles:
        return
    h, w = int(tiles[0].window.height), int(tiles[0].window.width)
    image = RegionPixels(pixels.window, pixels.image(bands), pixels.valid)
    buffer = np.empty((min(batch_size, len(tiles)), bands, h, w), dtype=np.uint8)
    for i in range(0, len(tiles), batch_size):
        group = tiles[i : i + batch_size]
        batch = buffer[: len(group)]
        for j, tile in enumerate(group):
            batch[j] = image.view(tile.window)[0]
        yield group, batch
