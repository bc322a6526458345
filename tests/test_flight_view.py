"""The flight's map view from the region pass (`rams.flight_view`): exact cell averages whatever
the regions, the same as GDAL's overviews give, grey where nothing was imaged."""

import numpy as np
import pytest
import rasterio
from rasterio.enums import Resampling
from rasters import textured, write_tif

from rams.flight import open_flight
from rams.flight_view import NODATA_GREY, ViewGrid, assemble_view, read_view, view_part
from rams.reading import read_region
from rams.tiling import TileGrid


def _view_through(flight, region_px: int, tile_px: int, grid: ViewGrid):
    tiles = TileGrid(flight.width, flight.height, tile_px=tile_px, overlap_px=32, region_px=region_px,
                     block_shape=flight.block_shape)
    parts = [view_part(grid, read_region(flight, r), r.core) for r in tiles.regions]
    return assemble_view(grid, parts, flight.transform)


def test_every_region_layout_gives_the_same_exact_cell_averages(tmp_path):
    data = textured(3, 700, 900)
    flight = open_flight(write_tif(tmp_path / "f.tif", data, block=128))
    grid = ViewGrid.fit(flight.width, flight.height, max_px=100)
    assert grid.factor == 9 and grid.shape == (78, 100)
    views = [_view_through(flight, region_px, 256, grid) for region_px in (256, 384, 1024)]
    for view in views[1:]:
        np.testing.assert_array_equal(view.rgb, views[0].rgb)
    padded = np.zeros((3, 78 * 9, 100 * 9))
    padded[:, :700, :900] = data
    counts = np.zeros((78 * 9, 100 * 9))
    counts[:700, :900] = 1
    cells = padded.reshape(3, 78, 9, 100, 9).sum(axis=(2, 4)) / counts.reshape(78, 9, 100, 9).sum(axis=(1, 3))
    assert np.abs(np.moveaxis(views[0].rgb, -1, 0) - cells).max() <= 0.5 + 1e-9
    assert views[0].transform.a == pytest.approx(flight.gsd_m * 9)


def test_ground_without_imagery_is_grey_and_left_out_of_its_cells(tmp_path):
    data = np.zeros((4, 400, 400), np.uint8)
    data[:3] = 90
    data[3, :, 200:] = 255  # the left half is outside the footprint (alpha 0)
    data[:3, :, :200] = 255  # with bright garbage under it
    flight = open_flight(write_tif(tmp_path / "rgba.tif", data, alpha=True, block=128))
    view = read_view(flight, max_px=40)
    assert (view.rgb[:, :20] == NODATA_GREY).all()
    assert (view.rgb[:, 20:] == 90).all()


def test_a_flight_without_overviews_gives_the_view_its_overviews_would(tmp_path):
    data = textured(3, 1024, 1536, seed=4)
    bare = write_tif(tmp_path / "bare.tif", data)
    with rasterio.open(write_tif(tmp_path / "pyramid.tif", data), "r+") as ds:
        ds.build_overviews([2, 4, 8, 16], Resampling.average)
    view = read_view(open_flight(bare), max_px=96)
    with rasterio.open(tmp_path / "pyramid.tif") as ds:
        assert ds.overviews(1) == [2, 4, 8, 16]
        gdal = ds.read(out_shape=(3, 64, 96), resampling=Resampling.average)
    assert view.size == (96, 64)
    assert np.abs(np.moveaxis(view.rgb, -1, 0).astype(float) - gdal).mean() < 1.0
