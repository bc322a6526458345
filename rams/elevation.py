"""The optional elevation band: a surface model (DSM) as uint8 relief beside the RGB bands.

A detector whose card lists ``elevation`` among its ``input_bands`` takes a fourth uint8 band:
the surface height above the local ground, ``RELIEF_ZERO_LEVEL`` at ground level and
``METRES_PER_LEVEL`` metres per level (so -2.56 .. +2.54 m). Ground is the median surface over
``GROUND_WINDOW_M`` on a ``GROUND_CELL_M`` grid, so that terrain slope and the survey's
absolute height drop out while trenches (about 1 m deep), spoil berms, revetments and pits stay.

The DSM may be on any grid and CRS: it is warped (bilinear) onto the flight's own pixel grid as it
is read. Pixels the DSM does not cover read as ground level.
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds
from rasterio.windows import Window
from scipy import ndimage

from rams.errors import RamsError
from rams.flight import GDAL_ERRORS, Flight, gdal_message
from rams.resample import block_mean, upsample

ELEVATION_BAND = "elevation"
METRES_PER_LEVEL = 0.02
RELIEF_ZERO_LEVEL = 128
GROUND_CELL_M = 0.5
GROUND_WINDOW_M = 10.0
#: The encoding above as a model card records it (a model trained with another is refused).
ENCODING = {"metres_per_level": METRES_PER_LEVEL, "zero_level": RELIEF_ZERO_LEVEL,
            "ground_cell_m": GROUND_CELL_M, "ground_window_m": GROUND_WINDOW_M}
#: Where a flight's DSM is looked for when none is given: OUT.tif -> OUT.dsm.tif.
SIDECAR_SUFFIX = ".dsm.tif"

_local = threading.local()


def relief_levels(dsm: np.ndarray, valid: np.ndarray, gsd_m: float) -> np.ndarray:
    """uint8 relief (H, W) of surface heights ``dsm`` (H, W, metres) on a ``gsd_m`` grid.

    Invalid pixels (``valid`` False) read as ground level and are left out of the ground
    estimate (ground cells without data take the nearest cell's); a window with no valid pixel
    is flat ground.
    """
    if not valid.any():
        return np.full(dsm.shape, RELIEF_ZERO_LEVEL, np.uint8)
    k = max(1, round(GROUND_CELL_M / gsd_m))
    weight = block_mean(valid[None].astype(np.float32), k)[0]
    total = block_mean(np.where(valid, dsm, 0)[None].astype(np.float32), k)[0]
    coarse = total / np.maximum(weight, 1e-6)
    empty = weight == 0
    if empty.any():
        nearest = ndimage.distance_transform_edt(empty, return_distances=False, return_indices=True)
        coarse = coarse[tuple(nearest)]
    window = max(1, round(GROUND_WINDOW_M / (k * gsd_m))) | 1
    ground = ndimage.median_filter(coarse, size=window, mode="nearest")
    relief = dsm - upsample(ground[None], k, dsm.shape)[0]
    levels = np.rint(RELIEF_ZERO_LEVEL + relief / METRES_PER_LEVEL)
    levels[~valid] = RELIEF_ZERO_LEVEL
    return np.clip(levels, 0, 255).astype(np.uint8)


def sidecar(flight_path: str | os.PathLike[str]) -> Path:
    """Where a flight's DSM is looked for by default: ``F.tif`` -> ``F.dsm.tif``."""
    p = Path(flight_path)
    return p.with_name(p.stem + SIDECAR_SUFFIX)


def with_dsm(flight: Flight, dsm: str | os.PathLike[str]) -> Flight:
    """``flight`` reading its elevation band from ``dsm`` (a single-band surface model in
    metres, any grid and CRS); refuses a DSM that cannot be read or misses the flight."""
    p = Path(dsm)
    if not p.is_file():
        raise RamsError(p, "no such DSM file")
    try:
        with rasterio.open(p) as src:
            if src.crs is None:
                raise RamsError(p, "DSM has no CRS")
            left, bottom, right, top = transform_bounds(src.crs, flight.crs, *src.bounds)
    except GDAL_ERRORS as err:  # a CRS PROJ cannot transform to the flight's among them
        raise RamsError(p, f"cannot read DSM ({gdal_message(err)})") from None
    fl, fb, fr, ft = flight.bounds
    if left >= fr or right <= fl or bottom >= ft or top <= fb:
        raise RamsError(p, f"DSM does not overlap the flight {Path(flight.path).name}")
    return replace(flight, dsm=str(p))


def check_encoding(card: dict, where: object) -> None:
    """Refuse a model card whose elevation band was encoded otherwise than this code encodes it."""
    if ELEVATION_BAND in card.get("input_bands", ()) and card.get("elevation_encoding") != ENCODING:
        raise RamsError(where, f"elevation band encoded as {card.get('elevation_encoding')}, "
                               f"this rams encodes it as {ENCODING}")


class _SameGrid:
    """A DSM already on the flight's grid: read as it is (float32, NaN where it has no data)."""

    def __init__(self, src: rasterio.io.DatasetReader) -> None:
        self.src = src

    def read(self, band: int, window: Window) -> np.ndarray:
        z = self.src.read(band, window=window, masked=True).astype(np.float32)
        return z.filled(np.nan)


def _on_grid(src: rasterio.io.DatasetReader, crs: object, transform: Affine, width: int, height: int
             ) -> WarpedVRT | _SameGrid:
    """``src`` warped (bilinear) onto a pixel grid, float32 with NaN where it has no data; read
    directly when it is on that grid already."""
    if src.crs == crs and src.transform.almost_equals(transform) and (src.width, src.height) == (width, height):
        return _SameGrid(src)
    return WarpedVRT(src, crs=crs, transform=transform, width=width, height=height,
                     resampling=Resampling.bilinear, src_nodata=src.nodata, nodata=np.nan, dtype="float32")


def _dsm_on_grid(flight: Flight) -> WarpedVRT | _SameGrid:
    """This thread's handle on the flight's DSM, warped onto the flight's pixel grid."""
    handles: dict[tuple, WarpedVRT | _SameGrid] = _local.__dict__.setdefault("handles", {})
    key = (flight.dsm, flight.crs.to_string(), tuple(flight.transform), flight.width, flight.height,
           os.getpid())
    if key not in handles:
        handles[key] = _on_grid(rasterio.open(flight.dsm), flight.crs, flight.transform, flight.width,
                                flight.height)
    return handles[key]


def _relief(dsm: WarpedVRT | _SameGrid, window: Window, gsd_m: float, path: object) -> np.ndarray:
    """uint8 relief of ``window`` read from a DSM already on the target grid."""
    try:
        z = dsm.read(1, window=window)
    except RasterioError as err:
        raise RamsError(path, f"cannot read DSM ({gdal_message(err)})") from None
    return relief_levels(z, np.isfinite(z), gsd_m)


def relief_on_grid(dsm: str | os.PathLike[str], crs: object, transform: Affine, width: int, height: int
                   ) -> np.ndarray:
    """uint8 relief (H, W) of a whole pixel grid (a training flight's) from a DSM file."""
    with rasterio.open(dsm) as src:
        return _relief(_on_grid(src, crs, transform, width, height), Window(0, 0, width, height),
                       abs(transform.a), dsm)


def read_relief(flight: Flight, window: Window) -> np.ndarray:
    """uint8 relief (H, W) of a window of the flight's grid (inside the raster) from its DSM."""
    if flight.dsm is None:
        raise RamsError(flight.path, "no DSM: give one (--dsm) or put F.dsm.tif beside the flight")
    return _relief(_dsm_on_grid(flight), window, flight.gsd_m, flight.dsm)
