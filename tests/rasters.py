"""Small real GeoTIFFs for tests, written with rasterio."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

UTM38N = "EPSG:32638"
ORIGIN = (600000.0, 4400000.0)


def textured(
    bands: int, height: int, width: int, dtype: str = "uint8", seed: int = 0
) -> np.ndarray:
    """Smooth-ish random texture (bands, height, width) in the dtype's range."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(bands, height, width)).astype(np.float32)
    yy, xx = np.mgrid[0:height, 0:width]
    base += 60 * np.sin(xx / 17.0)[None] + 40 * np.cos(yy / 23.0)[None]
    base = np.clip(base, 0, 255)
    if dtype == "uint16":
        return (base * 40 + 1000).astype(np.uint16)
    return base.astype(dtype)


def write_tif(
    path: Path,
    data: np.ndarray,
    *,
    crs: str | None = UTM38N,
    gsd_m: float = 0.03,
    transform: Affine | None = None,
    tiled: bool = True,
    block: int = 256,
    compress: str | None = "deflate",
    nodata: float | None = None,
    alpha: bool = False,
) -> Path:
    """Write ``data`` (bands, H, W) as a GeoTIFF; the last band is declared alpha if ``alpha``."""
    count, height, width = data.shape
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": str(data.dtype),
        "transform": transform or Affine(gsd_m, 0, ORIGIN[0], 0, -gsd_m, ORIGIN[1]),
    }
    if crs:
        profile["crs"] = crs
    if tiled:
        profile.update(tiled=True, blockxsize=block, blockysize=block)
    if compress:
        profile["compress"] = compress
    if nodata is not None:
        profile["nodata"] = nodata
    if alpha:
        profile["photometric"] = "RGB"
        profile["alpha"] = "YES"
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


def corner_triangle(height: int, width: int, share: float) -> np.ndarray:
    """Boolean (H, W) mask of the top-left right triangle covering about ``share`` of the raster."""
    legs = math.sqrt(2 * share)  # a right triangle with legs of legs*W and legs*H has area share*W*H
    rows, cols = np.mgrid[0:height, 0:width]
    return (rows + 0.5) / (legs * height) + (cols + 0.5) / (legs * width) < 1


def write_vrt_mosaic(path: Path, data: np.ndarray, transform: Affine, crs: str, parts: int = 2) -> Path:
    """Split ``data`` (bands, H, W) into ``parts`` x ``parts`` GeoTIFFs beside ``path`` and build a VRT over them."""
    _, height, width = data.shape
    rows = np.linspace(0, height, parts + 1).astype(int)
    cols = np.linspace(0, width, parts + 1).astype(int)
    pieces = []
    for i in range(parts):
        for j in range(parts):
            block = data[:, rows[i] : rows[i + 1], cols[j] : cols[j + 1]]
            piece = path.with_name(f"{path.stem}_{i}{j}.tif")
            pieces.append(write_tif(piece, block, crs=crs, transform=transform @ Affine.translation(cols[j], rows[i])))
    subprocess.run(["gdalbuildvrt", "-q", str(path), *map(str, pieces)], check=True, capture_output=True)
    return path
