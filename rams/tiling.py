"""The tile grid: regions aligned to the file's blocks, tiles as views, cores that partition.

Geometry here is pure integer arithmetic on pixel windows (no I/O): `TileGrid` splits a raster
into block-aligned regions; each region is covered by overlapping tiles whose cores (tile minus
half the overlap on each side) partition the region's core, and the region cores partition the
raster, so every pixel belongs to exactly one tile core.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from rasterio.windows import Window


@dataclass(frozen=True)
class Tile:
    """One model input: ``window`` (tile_px square, raster pixels; may extend past the raster
    only when the raster is smaller than a tile) and the ``core`` it owns (inside the raster)."""

    window: Window
    core: Window


@dataclass(frozen=True)
class Region:
    """A unit of parallel work: ``core`` (owned pixels, block-aligned) and ``read`` (bounding box
    of its tiles' windows, the one array every tile is cut from)."""

    index: int
    core: Window
    read: Window
    tiles: tuple[Tile, ...]

    @property
    def pixels(self) -> int:
        """Pixels owned by this region (its core area, px)."""
        return int(self.core.width * self.core.height)


def _core_spans(length: int, tile: int, overlap: int, raster_length: int) -> list[tuple[int, int]]:
    """Cut [0, length) into tile cores of at most ``tile - overlap`` px (one core when the
    whole raster fits in a tile), spread evenly so the last one is not a sliver."""
    n = 1 if raster_length <= tile else math.ceil(length / (tile - overlap))
    bounds = [round(i * length / n) for i in range(n + 1)]
    return list(zip(bounds[:-1], bounds[1:], strict=True))


def _region_cuts(length: int, region: int, block: int) -> list[int]:
    """Region boundaries along one axis: multiples of the block size, about ``region`` px apart."""
    step = max(block, (region // block) * block) if block < length else region
    cuts = list(range(0, length, step)) + [length]
    if len(cuts) > 2 and cuts[-1] - cuts[-2] < step // 4:
        cuts.pop(-2)  # fold a thin last strip into its neighbour
    return cuts


@dataclass(frozen=True)
class TileGrid:
    """Tiles of ``tile_px`` with ``overlap_px`` over a ``width`` × ``height`` px raster,
    grouped into regions of about ``region_px`` aligned to ``block_shape`` (rows, cols) px."""

    width: int
    height: int
    tile_px: int = 512
    overlap_px: int = 64
    region_px: int = 4096
    block_shape: tuple[int, int] = (512, 512)

    def __post_init__(self) -> None:
        if self.width < 1 or self.height < 1:
            raise ValueError(f"raster size must be positive, got {self.width}x{self.height}")
        if self.tile_px < 2 or not 0 <= self.overlap_px < self.tile_px:
            raise ValueError(
                f"need 0 <= overlap_px < tile_px, got {self.overlap_px}, {self.tile_px}"
            )
        if self.overlap_px % 2:
            raise ValueError(f"overlap_px must be even, got {self.overlap_px}")
        if self.region_px < self.tile_px:
            raise ValueError(f"region_px {self.region_px} px is smaller than a tile ({self.tile_px} px)")

    @property
    def regions(self) -> list[Region]:
        """All regions, row-major (so GDAL's block cache sees neighbouring reads together)."""
        rows = _region_cuts(self.height, self.region_px, self.block_shape[0])
        cols = _region_cuts(self.width, self.region_px, self.block_shape[1])
        out = []
        for r0, r1 in zip(rows[:-1], rows[1:], strict=True):
            for c0, c1 in zip(cols[:-1], cols[1:], strict=True):
                out.append(self._region(len(out), r0, r1, c0, c1))
        return out

    def _region(self, index: int, r0: int, r1: int, c0: int, c1: int) -> Region:
        t, o = self.tile_px, self.overlap_px
        tiles = [
            Tile(
                window=Window(
                    self._start(c0 + ca, self.width), self._start(r0 + ra, self.height), t, t
                ),
                core=Window(c0 + ca, r0 + ra, cb - ca, rb - ra),
            )
            for ra, rb in _core_spans(r1 - r0, t, o, self.height)
            for ca, cb in _core_spans(c1 - c0, t, o, self.width)
        ]
        row_off = min(int(tile.window.row_off) for tile in tiles)
        col_off = min(int(tile.window.col_off) for tile in tiles)
        row_end = max(int(tile.window.row_off + t) for tile in tiles)
        col_end = max(int(tile.window.col_off + t) for tile in tiles)
        return Region(
            index=index,
            core=Window(c0, r0, c1 - c0, r1 - r0),
            read=Window(col_off, row_off, col_end - col_off, row_end - row_off),
            tiles=tuple(tiles),
        )

    def _start(self, core_start: int, length: int) -> int:
        """Window start (raster px) of the tile whose core starts at ``core_start``: half the
        overlap before it, shifted inward at the raster edges."""
        if length <= self.tile_px:
            return 0
        return min(max(core_start - self.overlap_px // 2, 0), length - self.tile_px)

    def tiles(self) -> Iterator[Tile]:
        """Every tile of every region."""
        for region in self.regions:
            yield from region.tiles


def single_region(width: int, height: int, tile_px: int, overlap_px: int) -> Region:
    """The whole ``width`` × ``height`` px raster as one region of ``tile_px`` tiles: for an
    image already in memory (a context model's block-averaged region), where no read is split."""
    grid = TileGrid(width, height, tile_px=tile_px, overlap_px=overlap_px,
                    region_px=max(width, height, tile_px), block_shape=(height, width))
    return grid.regions[0]
