"""Large flights written the way photogrammetry software writes them, made fast.

One synthetic scene is rendered once (``rams.synthetic``) and laid out, mirrored and turned,
over a grid as big as asked: RGBA with an alpha band (a rounded footprint, transparent outside
it, as OpenDroneMap writes), 512 px DEFLATE tiles, BigTIFF, no overviews. Writing a gigapixel
takes about a minute; rendering one pixel by pixel would take hours.

    python benchmarks/orthomosaic.py OUT.tif --gpx 0.25 --gsd 0.01
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window

#: Side (px) of the rendered scene that is repeated over the flight.
SCENE_PX = 4096
#: Tile side (px) of the written GeoTIFF.
BLOCK_PX = 512


def scene(cache: Path, gsd_m: float, seed: int = 31) -> np.ndarray:
    """The rendered scene (3, SCENE_PX, SCENE_PX) uint8 at ``gsd_m``, cached as a GeoTIFF."""
    path = cache / f"scene_{SCENE_PX}_{gsd_m}_{seed}.tif"
    if not path.exists():
        from rams.synthetic import generate_flight

        generate_flight(path, SCENE_PX, SCENE_PX, gsd_m, seed)
    with rasterio.open(path) as src:
        return src.read()


def _footprint(rows: np.ndarray, cols: np.ndarray, side: int) -> np.ndarray:
    """Alpha (255 inside) of a super-ellipse filling most of a ``side`` px square."""
    half = side / 2
    u = (cols[None, :] + 0.5 - half) / (0.97 * half)
    v = (rows[:, None] + 0.5 - half) / (0.97 * half)
    return np.where(np.abs(u) ** 4 + np.abs(v) ** 4 <= 1.0, 255, 0).astype(np.uint8)


def photogrammetry_flight(path: Path, side_px: int, gsd_m: float, cache: Path,
                          crs: str = "EPSG:32638") -> Path:
    """Write a ``side_px`` square RGBA BigTIFF at ``gsd_m`` (m) without overviews; return it."""
    image = scene(cache, gsd_m)
    # the scene's eight symmetries, so that the flight does not repeat one picture
    variants = [np.rot90(m, k, axes=(1, 2)) for m in (image, image[:, :, ::-1]) for k in range(4)]
    profile = {
        "driver": "GTiff", "width": side_px, "height": side_px, "count": 4, "dtype": "uint8",
        "crs": crs, "transform": Affine(gsd_m, 0, 600000.0, 0, -gsd_m, 4400000.0 + side_px * gsd_m),
        "tiled": True, "blockxsize": BLOCK_PX, "blockysize": BLOCK_PX, "compress": "deflate",
        "zlevel": 1, "bigtiff": "YES", "photometric": "RGB", "alpha": "YES",
    }
    tmp = path.with_name(path.name + ".part")
    band_rows = SCENE_PX
    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"), rasterio.open(tmp, "w", **profile) as dst:
        for r0 in range(0, side_px, band_rows):
            h = min(band_rows, side_px - r0)
            rows = np.arange(r0, r0 + h)
            alpha = _footprint(rows, np.arange(side_px), side_px)
            for c0 in range(0, side_px, SCENE_PX):
                w = min(SCENE_PX, side_px - c0)
                k = (r0 // SCENE_PX * 3 + c0 // SCENE_PX) % len(variants)
                block = np.empty((4, h, w), np.uint8)
                block[:3] = variants[k][:, :h, :w]
                block[3] = alpha[:, c0:c0 + w]
                block[:3, block[3] == 0] = 0
                dst.write(block, window=Window(c0, r0, w, h))
    tmp.replace(path)
    return path


def side_for(gpx: float) -> int:
    """The square side (px, a multiple of the tile side) of a ``gpx`` gigapixel flight."""
    return int(math.ceil(math.sqrt(gpx * 1e9) / BLOCK_PX) * BLOCK_PX)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--gpx", type=float, default=0.25, help="flight size in gigapixels")
    parser.add_argument("--gsd", type=float, default=0.01, help="ground sample distance, m")
    args = parser.parse_args()
    photogrammetry_flight(args.out, side_for(args.gpx), args.gsd, args.out.parent)


if __name__ == "__main__":
    main()
