import numpy as np
import rasterio
from rasterio.windows import Window
from rasters import textured, write_tif

from rams.flight import open_flight
from rams.reading import batches, read_region, valid_tiles
from rams.tiling import TileGrid


def test_batches_equal_direct_window_reads(tmp_path):
    data = textured(3, 1100, 1300, seed=5)
    path = write_tif(tmp_path / "f.tif", data, block=256)
    flight = open_flight(path)
    grid = TileGrid(
        flight.width, flight.height, 256, 32, region_px=512, block_shape=flight.block_shape
    )
    seen = 0
    with rasterio.open(path) as ds:
        for region in grid.regions:
            pixels = read_region(flight, region)
            tiles = valid_tiles(pixels, region)
            for group, batch in batches(pixels, tiles, 5):
                assert batch.dtype == np.uint8 and batch.flags.c_contiguous
                for tile, chip in zip(group, batch, strict=True):
                    np.testing.assert_array_equal(chip, ds.read(window=tile.window))
                    seen += 1
    assert seen == sum(len(r.tiles) for r in grid.regions)


def test_small_raster_is_padded_and_nodata_tiles_skipped(tmp_path):
    data = textured(3, 100, 700, seed=1)
    data[:, :, 300:] = 0
    flight = open_flight(write_tif(tmp_path / "s.tif", data, nodata=0))
    grid = TileGrid(flight.width, flight.height, 256, 32, region_px=1024)
    (region,) = grid.regions
    pixels = read_region(flight, region)
    assert pixels.rgb.shape[1] == 256  # padded past the 100-px raster
    assert not pixels.valid[100:].any()
    tiles = valid_tiles(pixels, region)
    assert 0 < len(tiles) < len(region.tiles)
    for tile in tiles:
        assert tile.core.col_off < 300
    np.testing.assert_array_equal(pixels.view(Window(0, 0, 300, 100))[0], data[:, :, :300])
