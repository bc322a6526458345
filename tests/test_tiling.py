import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rams.tiling import TileGrid


def _cover_counts(grid: TileGrid, what: str) -> np.ndarray:
    counts = np.zeros((grid.height, grid.width), dtype=np.int32)
    for tile in grid.tiles():
        w = getattr(tile, what)
        counts[
            int(w.row_off) : int(w.row_off + w.height), int(w.col_off) : int(w.col_off + w.width)
        ] += 1
    return counts


@settings(max_examples=120, deadline=None)
@given(
    width=st.integers(1, 1200),
    height=st.integers(1, 1200),
    tile_px=st.integers(8, 400),
    overlap_frac=st.floats(0, 0.9),
    region_mult=st.integers(1, 5),
    block=st.sampled_from([16, 64, 256, 512, 1000]),
)
def test_tile_cores_partition_the_raster(width, height, tile_px, overlap_frac, region_mult, block):
    overlap = min(int(tile_px * overlap_frac) // 2 * 2, (tile_px - 2) // 2 * 2)
    grid = TileGrid(
        width, height, tile_px, overlap, region_px=tile_px * region_mult, block_shape=(block, block)
    )
    assert (_cover_counts(grid, "core") == 1).all()
    regions = grid.regions
    region_counts = np.zeros((height, width), dtype=np.int32)
    for region in regions:
        c = region.core
        region_counts[
            int(c.row_off) : int(c.row_off + c.height), int(c.col_off) : int(c.col_off + c.width)
        ] += 1
        for tile in region.tiles:
            tw, core = tile.window, tile.core
            assert (tw.width, tw.height) == (tile_px, tile_px)
            # the core lies inside its tile, and inside the region core
            assert tw.col_off <= core.col_off and core.col_off + core.width <= tw.col_off + tw.width
            assert (
                tw.row_off <= core.row_off and core.row_off + core.height <= tw.row_off + tw.height
            )
            assert c.col_off <= core.col_off and core.col_off + core.width <= c.col_off + c.width
            # every tile can be cut from the one region array
            r = region.read
            assert r.col_off <= tw.col_off and tw.col_off + tw.width <= r.col_off + r.width
            assert r.row_off <= tw.row_off and tw.row_off + tw.height <= r.row_off + r.height
            # tiles stay inside the raster unless the raster is smaller than a tile
            if width >= tile_px:
                assert 0 <= tw.col_off and tw.col_off + tw.width <= width
            if height >= tile_px:
                assert 0 <= tw.row_off and tw.row_off + tw.height <= height
    assert (region_counts == 1).all()


def test_core_keeps_half_the_overlap_from_inner_tile_edges():
    grid = TileGrid(5000, 3000, 512, 64, region_px=2048, block_shape=(512, 512))
    for tile in grid.tiles():
        w, c = tile.window, tile.core
        if c.col_off > 0:
            assert c.col_off - w.col_off >= 32
        if c.col_off + c.width < 5000:
            assert (w.col_off + w.width) - (c.col_off + c.width) >= 32


def test_region_cores_are_block_aligned():
    grid = TileGrid(20000, 9000, 512, 64, region_px=4000, block_shape=(512, 256))
    for region in grid.regions:
        assert region.core.row_off % 512 == 0
        assert region.core.col_off % 256 == 0


@pytest.mark.parametrize(
    "kwargs",
    [dict(tile_px=512, overlap_px=512), dict(tile_px=512, overlap_px=33), dict(region_px=256)],
)
def test_bad_grid_parameters_are_refused(kwargs):
    with pytest.raises(ValueError):
        TileGrid(1000, 1000, **kwargs)
