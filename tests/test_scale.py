"""Memory stays bounded by regions in flight, whatever the raster size."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import rasterio
from affine import Affine

CHILD = """
import json, re, sys
from rams.flight import open_flight
from rams.parallel import map_regions
from rams.reading import batches, read_region, valid_tiles
from rams.tiling import TileGrid

flight = open_flight(sys.argv[1])
grid = TileGrid(flight.width, flight.height, 512, 64, block_shape=flight.block_shape)

def task(region):
    pixels = read_region(flight, region)
    return sum(int(b.sum(dtype="uint64")) for _, b in batches(pixels, valid_tiles(pixels, region), 16))

total = sum(map_regions(task, grid.regions, workers=2))
print(json.dumps({"sum": total, "regions": len(grid.regions),
                  # this process's own peak (VmHWM starts afresh at exec; ru_maxrss keeps the
                  # peak of the process that started it, a test session grown large)
                  "peak_mb": int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024}))
"""


def _tile(path, size):
    profile = dict(
        driver="GTiff", width=size, height=size, count=3, dtype="uint8", nodata=0, crs="EPSG:32638",
        transform=Affine(0.03, 0, 600000, 0, -0.03, 4400000), tiled=True, blockxsize=512, blockysize=512,
        compress="deflate", sparse_ok=True,
    )
    patch = np.full((3, 512, 512), 7, np.uint8)
    with rasterio.open(path, "w", **profile) as dst:  # a few data blocks in a sparse file
        for r, c in [(0, 0), (size // 2, size // 2), (size - 512, size - 512)]:
            dst.write(patch, window=((r, r + 512), (c, c + 512)))
    env = dict(os.environ, GDAL_CACHEMAX="256")  # GDAL's block cache is bounded by configuration
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(result.stdout)


@pytest.mark.slow
def test_a_40000_px_flight_tiles_in_bounded_memory(tmp_path):
    big = _tile(tmp_path / "big.tif", 40_000)
    small = _tile(tmp_path / "small.tif", 10_240)
    assert big["regions"] == 100 and small["regions"] == 9
    raw_mb = 40_000 * 40_000 * 3 / 2**20  # 4578 MB
    assert big["peak_mb"] < 1000 < raw_mb
    assert big["peak_mb"] - small["peak_mb"] < 200  # 16x the pixels, about the same memory
    assert big["sum"] > 3 * 3 * 512 * 512 * 7  # the data blocks were delivered (tiles overlap them)
