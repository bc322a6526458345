"""Opening a survey flight: validation, on-the-fly warp to metres, one flight-wide 8-bit map.

A `Flight` is a small picklable description of a raster; pixels are read through a
thread-local dataset handle so that dask threads (and process workers) each hold their own.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import numpy as np
import rasterio
from affine import Affine
from rasterio._err import CPLE_BaseError
from rasterio.crs import CRS
from rasterio.enums import ColorInterp, MaskFlags, Resampling
from rasterio.env import set_gdal_config
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from rams.errors import RamsError, gdal_message
from rams.resample import area_average, source_span

#: What GDAL (through rasterio) raises on a file or a CRS it cannot handle: rasterio's own errors
#: and GDAL's CPLE_* errors (rasterio._err, not RasterioError subclasses: a CRS that cannot be
#: transformed raises CPLE_NotSupportedError), and the ValueError / OSError of bad parameters.
GDAL_ERRORS = (RasterioError, CPLE_BaseError, ValueError, OSError)

#: Percentiles (of the three bands together) that map non-8-bit imagery onto 0..255, computed
#: once per flight.
STRETCH_PERCENTILES = (0.5, 99.5)
#: Longest side (px) of the decimated read used for flight-wide statistics.
STATS_PX = 1024

_local = threading.local()

#: File rows decoded at a time when a finer file is averaged onto the grid (see `Flight.rescale`):
#: memory stays a few tens of MB however much coarser the grid is.
RESCALE_FILE_ROWS = 512


@dataclass(frozen=True)
class Flight:
    """A survey flight opened for reading, in a projected CRS with metre units.

    ``transform`` and ``width``/``height`` describe the grid pixels are read on: the file's
    own grid, or the north-up grid of an on-the-fly warp (``warp`` set): to the local UTM zone
    for geographic or rotated rasters, or to a coarser GSD the detector was trained for.
    """

    path: str
    width: int
    height: int
    crs: CRS
    transform: Affine
    gsd_m: float
    band_count: int
    dtype: str
    rgb_bands: tuple[int, int, int]
    alpha_band: int | None
    nodata: float | None
    has_internal_mask: bool
    block_shape: tuple[int, int]
    tiled: bool
    warp: Warp | None = None
    #: Per-band (lo, hi) input values mapped to 0 and 255; None for 8-bit imagery.
    stretch: tuple[tuple[float, float], ...] | None = None
    flight_id: str = ""
    #: Surface model (metres) read as the elevation band, see :mod:`rams.elevation`; or None.
    dsm: str | None = None
    #: Acquisition date (ISO 8601, YYYY-MM-DD) from the file's tags (see :func:`acquisition_date`);
    #: empty when the file does not say.
    acquired: str = ""
    #: File px per grid px when the grid is the file's own, made coarser (see :func:`resampled`):
    #: reads decode the file at its resolution and area-average; None when the grid is the file's.
    rescale: float | None = None
    _lut: np.ndarray | None = field(default=None, repr=False, compare=False)

    def dataset(self) -> rasterio.io.DatasetReaderBase:
        """This thread's open handle on the flight (a WarpedVRT when warped)."""
        handles: dict[tuple, object] = _local.__dict__.setdefault("handles", {})
        key = (self.path, self.warp, os.getpid())
        ds = handles.get(key)
        if ds is None:
            src = rasterio.open(self.path)
            ds = WarpedVRT(src, **self.warp.options(src)) if self.warp else src
            handles[key] = ds
        return ds  # type: ignore[return-value]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the flight CRS (metres)."""
        left, top = self.transform * (0, 0)
        right, bottom = self.transform * (self.width, self.height)
        return (left, bottom, right, top)

    def window_transform(self, window: Window) -> Affine:
        """Affine transform of a window's pixel grid in the flight CRS."""
        return self.transform * Affine.translation(window.col_off, window.row_off)

    def read_rgb(
        self, window: Window, out: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Read a window as 8-bit RGB (3, H, W) and its valid-pixel mask (H, W).

        The window must lie inside the raster. ``out`` (uint8, (3, H, W)) is filled in place
        when given, so callers can read straight into a larger canvas.
        """
        if self.rescale is not None:
            return self._read_rescaled(window, out)
        return self._read(self.dataset(), window, out)

    def _read(self, ds, window: Window, out: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        h, w = int(window.height), int(window.width)
        indexes = list(self.rgb_bands)
        if self.alpha_band is not None:
            indexes.append(self.alpha_band)
        if self.dtype == "uint8":
            if out is None or self.alpha_band is not None or not out.flags.c_contiguous:
                raw = ds.read(indexes, window=window)
            else:
                ds.read(indexes, window=window, out=out)
                raw = out
            rgb = raw[:3]
        else:
            raw = ds.read(indexes, window=window)
            rgb = self.to_uint8(raw[:3])
        if out is not None and rgb is not out:
            out[...] = rgb
            rgb = out
        valid = self._valid(ds, window, raw, (h, w))
        return rgb, valid

    def _read_rescaled(self, window: Window, out: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Decode the file px under ``window`` at the file's resolution, a band of rows at a time
        (about ``RESCALE_FILE_ROWS`` of the file's), and area-average them onto the grid."""
        ds = self.dataset()
        h, w = int(window.height), int(window.width)
        r0, c0 = int(window.row_off), int(window.col_off)
        rgb = np.empty((3, h, w), np.uint8) if out is None else out
        valid = np.zeros((h, w), bool)
        sc0, sc1 = source_span(c0, c0 + w, self.rescale, ds.width)
        step = max(1, int(RESCALE_FILE_ROWS // self.rescale))
        for a in range(0, h, step):
            b = min(h, a + step)
            sr0, sr1 = source_span(r0 + a, r0 + b, self.rescale, ds.height)
            if sr1 <= sr0 or sc1 <= sc0:
                rgb[:, a:b] = 0
                continue
            native, native_valid = self._read(ds, Window(sc0, sr0, sc1 - sc0, sr1 - sr0), None)
            valid[a:b] = area_average(native, native_valid, (r0 + a, b - a, self.rescale, sr0),
                                      (c0, w, self.rescale, sc0), rgb[:, a:b])
        return rgb, valid

    def has_overviews(self) -> bool:
        """Whether GDAL can read this flight's grid at reduced resolution from the file's own
        overviews (a file read on its own grid, not warped, with overviews)."""
        return self.rescale is None and self.warp is None and bool(self.dataset().overviews(self.rgb_bands[0]))

    def read_rgb_overview(self, window: Window, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """``window`` (inside the raster) read as ``shape`` (h, w) px, each the average of the
        px under it, by GDAL from the file's overviews (see :meth:`has_overviews`): 8-bit RGB
        (3, h, w) and the valid mask (h, w). For views: a chip of a wide window costs the
        overview's px, not the window's."""
        from rasterio.enums import Resampling

        ds = self.dataset()
        h, w = shape
        indexes = list(self.rgb_bands) + ([self.alpha_band] if self.alpha_band is not None else [])
        raw = ds.read(indexes, window=window, out_shape=(len(indexes), h, w), resampling=Resampling.average)
        rgb = raw[:3] if self.dtype == "uint8" else self.to_uint8(raw[:3])
        if self.alpha_band is not None:
            valid = raw[-1] >= 128
        elif self.has_internal_mask:
            valid = ds.dataset_mask(window=window, out_shape=(h, w)) > 0
        elif self.nodata is not None:
            valid = (raw[:3] != np.asarray(self.nodata, dtype=raw.dtype)).any(axis=0)
        else:
            valid = np.ones(shape, bool)
        return np.ascontiguousarray(rgb), valid

    def native_patches(self, xy: np.ndarray, patch_px: int, patch_gsd_m: float) -> np.ndarray:
        """uint8 patches (K, 3, P, P) centred on the map points ``xy`` (K, 2) (metres, flight
        CRS), each covering ``patch_px * patch_gsd_m`` metres of ground cut from the file at its
        own resolution and resampled to ``patch_px`` px: a file finer than the read grid
        (:attr:`rescale`) is not averaged first. Each patch is what
        :func:`rams.detector.verifier.crop_patches` cuts from the whole image at that
        resolution (edge pixels repeated beyond the raster). A warped flight has no north-up
        grid of its own: its patches come from the warped grid."""
        ds = self.dataset()
        return self._patches(xy, patch_px, patch_gsd_m, ds.transform, (ds.height, ds.width),
                             lambda window: self._read(ds, window, None)[0])

    def grid_patches(self, xy: np.ndarray, patch_px: int, patch_gsd_m: float | None) -> np.ndarray:
        """The patches of :meth:`native_patches` (at the grid's own GSD when ``patch_gsd_m`` is
        None), cut from the grid the flight is read on (:meth:`read_rgb`: area-averaged when
        :attr:`rescale` makes it coarser than the file)."""
        return self._patches(xy, patch_px, patch_gsd_m or self.gsd_m, self.transform, (self.height, self.width),
                             lambda window: self.read_rgb(window)[0])

    def verifier_patches(self, xy: np.ndarray, patch_px: int, patch_gsd_m: float | None) -> np.ndarray:
        """The verifier's patches of the points ``xy`` (K, 2) as a survey of this flight cuts
        them (:func:`rams.detector.verifier.verify_points`): from the file's own pixels when the
        grid is the file made coarser and the patches are finer than the grid, else from the
        grid. Training on reviewed detections cuts them so: the verifier learns from the pixels
        it will judge."""
        if self.rescale is not None and patch_gsd_m and patch_gsd_m < self.gsd_m * 0.999:
            return self.native_patches(xy, patch_px, patch_gsd_m)
        return self.grid_patches(xy, patch_px, patch_gsd_m)

    @staticmethod
    def _patches(xy: np.ndarray, patch_px: int, patch_gsd_m: float, grid: Affine, shape: tuple[int, int],
                 read: Callable[[Window], np.ndarray]) -> np.ndarray:
        from rams.patches import crop_patches, patch_scale  # torch: imported when patches are cut

        out = np.empty((len(xy), 3, patch_px, patch_px), np.uint8)
        if len(xy) == 0:
            return out
        height, width = shape
        scale = patch_scale(patch_gsd_m, abs(grid.a))
        side = max(1, round(patch_px * scale))
        cols, rows = ~grid @ (np.asarray(xy)[:, 0], np.asarray(xy)[:, 1])
        rows = np.clip(rows, 0, height - 1e-6)
        cols = np.clip(cols, 0, width - 1e-6)
        for k, (r, c) in enumerate(zip(rows, cols, strict=True)):
            r0 = max(0, math.floor(r) - side // 2)
            c0 = max(0, math.floor(c) - side // 2)
            r1 = min(height, math.floor(r) - side // 2 + side)
            c1 = min(width, math.floor(c) - side // 2 + side)
            out[k] = crop_patches(read(Window(c0, r0, c1 - c0, r1 - r0)), np.array([[r - r0, c - c0]]), patch_px,
                                  scale)[0]
        return out

    def to_uint8(self, pixels: np.ndarray) -> np.ndarray:
        """Map native pixels (3, H, W) to uint8 with the flight-wide stretch."""
        if self.stretch is None:
            return pixels.astype(np.uint8, copy=False)
        if self._lut is not None and pixels.dtype == np.uint16:
            return np.stack([self._lut[b][pixels[b]] for b in range(3)])
        out = np.empty(pixels.shape, dtype=np.uint8)
        for b, (lo, hi) in enumerate(self.stretch):
            scaled = (pixels[b].astype(np.float32) - lo) * (255.0 / max(hi - lo, 1e-9))
            np.clip(scaled, 0, 255, out=scaled)
            out[b] = scaled + 0.5
        return out

    def _valid(self, ds, window: Window, raw: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        if self.alpha_band is not None:
            return raw[-1] > 0
        if self.warp is not None or self.has_internal_mask:
            # GDAL knows best where a warp or an internal mask left no data.
            return ds.dataset_mask(window=window) > 0
        if self.nodata is not None:
            nd = raw[:3] != np.asarray(self.nodata, dtype=raw.dtype)
            return nd.any(axis=0)
        return np.ones(shape, dtype=bool)


@dataclass(frozen=True)
class Warp:
    """An on-the-fly GDAL warp: target CRS and north-up grid (transform as 6 coefficients)."""

    crs: str
    transform: tuple[float, ...] | None = None
    width: int | None = None
    height: int | None = None
    resampling: str = "bilinear"

    def options(self, src: rasterio.io.DatasetReader) -> dict:
        """Keyword arguments for `WarpedVRT` over ``src``."""
        # Without a nodata value, an alpha band is the only way the warp can mark the ground
        # outside the source footprint as invalid rather than black.
        opts: dict = {
            "crs": self.crs,
            "resampling": Resampling[self.resampling],
            "add_alpha": src.nodata is None
            and not any(ci == ColorInterp.alpha for ci in src.colorinterp),
        }
        if self.transform is not None:
            opts.update(transform=Affine(*self.transform), width=self.width, height=self.height)
        return opts


def _has_internal_mask(src) -> bool:
    return any(MaskFlags.per_dataset in flags for flags in src.mask_flag_enums)


def utm_crs_for(lon: float, lat: float) -> CRS:
    """The WGS 84 / UTM zone CRS holding a longitude/latitude (degrees)."""
    zone = int(math.floor((lon + 180.0) / 6.0)) % 60 + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def _choose_rgb(src, colour_bands: list[int]) -> tuple[int, int, int]:
    interp = {ci: i + 1 for i, ci in enumerate(src.colorinterp)}
    if all(c in interp for c in (ColorInterp.red, ColorInterp.green, ColorInterp.blue)):
        return (interp[ColorInterp.red], interp[ColorInterp.green], interp[ColorInterp.blue])
    if len(colour_bands) == 1:
        return (colour_bands[0],) * 3  # grayscale: the same band on every channel
    if len(colour_bands) == 2:
        raise ValueError("2 colour bands: the detector needs 1 (grey) or at least 3 (RGB)")
    return (colour_bands[0], colour_bands[1], colour_bands[2])


#: GDAL block cache (MB) unless the user sets GDAL_CACHEMAX: enough to keep the blocks that
#: neighbouring regions share (a couple of block rows of a very wide flight), small enough
#: that memory stays well under the flight's size.
BLOCK_CACHE_MB = 256


def _bound_block_cache() -> None:
    if "GDAL_CACHEMAX" not in os.environ:
        set_gdal_config("GDAL_CACHEMAX", BLOCK_CACHE_MB)


#: GDAL's virtual file systems (``/vsis3/``, ``/vsigs/``, ``/vsiaz/``, ``/vsicurl/``, ``/vsimem/``,
#: ``/vsizip/`` ...): a path under them names a file only GDAL can reach.
VIRTUAL_PREFIX = "/vsi"


def is_virtual(path: str | os.PathLike) -> bool:
    """Whether ``path`` is on one of GDAL's virtual file systems (see ``VIRTUAL_PREFIX``)."""
    return str(path).startswith(VIRTUAL_PREFIX)


def path_stem(path: str | os.PathLike) -> str:
    """A flight's file name without its extension, for a local or a virtual path (a
    ``/vsicurl/`` URL keeps its slashes; its query string is dropped)."""
    return PurePosixPath(str(path).split("?", 1)[0]).stem


def open_flight(path: str | os.PathLike) -> Flight:
    """Open and validate a flight raster; raise `RamsError` with a one-line reason if unusable.

    ``path`` is a local file or a GDAL virtual file system path (``/vsis3/bucket/f.tif``,
    ``/vsicurl/https://host/f.tif``, ``/vsimem/f.tif``: see ``VIRTUAL_PREFIX``), read as GDAL
    reads it, with the credentials its environment gives.

    Geographic or rotated rasters are warped on the fly to their local UTM zone (north-up).
    Non-8-bit imagery gets one flight-wide percentile stretch from a decimated read.
    """
    _bound_block_cache()
    p: str | Path = str(path) if is_virtual(path) else Path(path)
    if isinstance(p, Path) and not p.exists():
        raise RamsError(p, "no such file")
    if isinstance(p, Path) and p.is_dir():
        raise RamsError(p, "is a directory, not a raster")
    try:
        # A raster without a geotransform is refused below ("no geotransform"): rasterio's
        # warning about it would only say the same thing twice, with a source line.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(p) as src:
                return _describe(p, src)
    except RamsError:
        raise
    except GDAL_ERRORS as err:
        raise RamsError(p, _reason(err)) from None


def crs_name(crs: CRS) -> str:
    """A CRS as a person names it: ``EPSG:32638``, else the name its WKT gives it."""
    code = crs.to_epsg()
    if code:
        return f"EPSG:{code}"
    found = re.match(r'\s*[A-Z_]+\[\s*"([^"]*)"', crs.to_wkt())
    return found.group(1) if found else "a custom CRS"


def _reason(err: BaseException) -> str:
    text = gdal_message(err)
    if "not recognized as" in text or "not recognised as" in text:
        return "not a raster GDAL can read"
    return f"cannot read raster ({text})"


def _describe(p: str | Path, src) -> Flight:
    if src.width == 0 or src.height == 0 or src.count == 0:
        raise RamsError(p, f"empty raster ({src.width}x{src.height} px, {src.count} bands)")
    if src.crs is None:
        raise RamsError(p, "no CRS: georeference the flight (e.g. gdal_edit.py -a_srs EPSG:32638)")
    if src.transform.is_identity and not src.gcps[0]:
        raise RamsError(p, "no geotransform: georeference the flight (e.g. gdal_edit.py -a_ullr)")
    dtypes = set(src.dtypes)
    if len(dtypes) != 1:
        raise RamsError(p, f"bands have mixed data types {sorted(dtypes)}")
    dtype = src.dtypes[0]
    if not (
        np.issubdtype(np.dtype(dtype), np.integer) or np.issubdtype(np.dtype(dtype), np.floating)
    ):
        raise RamsError(p, f"unsupported data type {dtype}")
    alpha = next((i + 1 for i, ci in enumerate(src.colorinterp) if ci == ColorInterp.alpha), None)
    colour = [b for b in range(1, src.count + 1) if b != alpha]
    try:
        rgb = _choose_rgb(src, colour)
    except ValueError as err:
        raise RamsError(p, f"band layout unusable: {err}") from None

    warp = None
    ds = src
    rotated = src.transform.b != 0 or src.transform.d != 0 or src.transform.e > 0
    if src.crs.is_geographic or rotated:
        target = src.crs
        if src.crs.is_geographic:
            lon, lat = src.xy(src.height // 2, src.width // 2)
            target = utm_crs_for(lon, lat)
        if not target.is_projected:
            raise RamsError(p, f"CRS {crs_name(src.crs)} is neither geographic nor projected")
        warp = Warp(target.to_string())
        try:
            ds = WarpedVRT(src, **warp.options(src))
        except GDAL_ERRORS as err:  # e.g. a compound CRS PROJ finds no operation for
            raise RamsError(p, f"cannot warp its CRS {crs_name(src.crs)} to {crs_name(target)} "
                               f"({gdal_message(err)})") from None
    elif not src.crs.is_projected:
        raise RamsError(p, f"CRS {crs_name(src.crs)} is not a projected CRS in metres")
    units = (ds.crs.linear_units or "").lower()
    if units not in ("metre", "meter", "m", "metres", "meters"):
        raise RamsError(p, f"CRS units are '{units}', expected metres")
    t = ds.transform
    gsd = float(abs(t.a) + abs(t.e)) / 2.0
    if not (0.001 <= gsd <= 10.0):
        raise RamsError(p, f"ground sample distance {gsd:.4g} m is outside 1 mm .. 10 m")
    block = tuple(int(v) for v in src.block_shapes[0])
    flight = Flight(
        path=str(p),
        width=int(ds.width),
        height=int(ds.height),
        crs=ds.crs,
        transform=t,
        gsd_m=gsd,
        band_count=int(src.count),
        dtype=dtype,
        rgb_bands=rgb,
        alpha_band=alpha,
        nodata=src.nodata,
        has_internal_mask=_has_internal_mask(src),
        block_shape=(block[0], block[1]),
        tiled=block[1] < src.width,
        warp=warp,
        flight_id=path_stem(p),
        acquired=acquisition_date(src),
    )
    if dtype != "uint8":
        flight = _with_stretch(flight, ds)
    if ds is not src:
        ds.close()
    _probe_read(p, flight)
    return flight


#: Tags that date a flight, first found wins: when the photographs were taken (EXIF, which
#: photogrammetry software may carry into the orthomosaic), then the TIFF's own date and time.
DATE_TAGS = ("EXIF_DateTimeOriginal", "EXIF_DateTime", "TIFFTAG_DATETIME")


def acquisition_date(src: rasterio.io.DatasetReaderBase) -> str:
    """The date (YYYY-MM-DD) a raster's tags give for its imagery (``DATE_TAGS``, in the default
    and the EXIF metadata domains), or "" when none holds a date. Never the file's mtime: a copy
    would change it."""
    tags = {**src.tags(ns="EXIF"), **src.tags()} if "EXIF" in (src.tag_namespaces() or []) else src.tags()
    for key in DATE_TAGS:
        found = re.match(r"\s*(\d{4})[:-](\d{2})[:-](\d{2})", tags.get(key, ""))
        if found:
            try:
                return dt.date(*(int(part) for part in found.groups())).isoformat()
            except ValueError:
                continue
    return ""


def _with_stretch(flight: Flight, ds) -> Flight:
    """Attach the flight-wide stretch: one range for all three bands (per-band ranges would shift
    the colour balance the detector was trained on), from a sample of the flight's pixels."""
    # one range for the three bands, so that the stretch keeps the flight's colour balance
    values = _sample(flight, ds).compressed()
    if values.size == 0:
        values = np.asarray([0, 1])
    lo, hi = (float(v) for v in np.percentile(values, STRETCH_PERCENTILES))
    stretch = [(lo, max(hi, lo + 1))] * 3
    lut = None
    if flight.dtype == "uint16":
        x = np.arange(65536, dtype=np.float32)
        lut = np.stack(
            [
                np.clip((x - lo) * (255.0 / (hi - lo)) + 0.5, 0, 255).astype(np.uint8)
                for lo, hi in stretch
            ]
        )
    return replace(flight, stretch=tuple(stretch), _lut=lut)


#: Windows (per side) and their size (px) sampled for statistics from a file without overviews.
SAMPLE_GRID, SAMPLE_PX = 8, 128


def _sample(flight: Flight, ds) -> np.ma.MaskedArray:
    """Masked RGB pixels (3, H, W) standing for the whole flight, decoding a bounded part of it:
    the overviews' decimated read when the file has them, else a grid of ``SAMPLE_GRID`` ²
    windows of ``SAMPLE_PX`` px each inside one block (a decimated read of a file without
    overviews decodes every block of it)."""
    bands = list(flight.rgb_bands)
    if ds.overviews(bands[0]):
        scale = max(1.0, max(flight.width, flight.height) / STATS_PX)
        shape = (3, max(1, round(flight.height / scale)), max(1, round(flight.width / scale)))
        return ds.read(bands, out_shape=shape, masked=True, resampling=Resampling.nearest)
    # snapped to block starts in a tiled file's own grid (a warp's grid has no blocks)
    bh, bw = flight.block_shape if flight.tiled and flight.warp is None else (1, 1)
    h = min(SAMPLE_PX, flight.height, bh if bh > 1 else SAMPLE_PX)
    w = min(SAMPLE_PX, flight.width, bw if bw > 1 else SAMPLE_PX)
    rows = np.unique(np.linspace(0, flight.height - h, SAMPLE_GRID).astype(int) // bh * bh)
    cols = np.unique(np.linspace(0, flight.width - w, SAMPLE_GRID).astype(int) // bw * bw)
    parts = [ds.read(bands, window=Window(c, r, w, h), masked=True) for r in rows for c in cols]
    return np.ma.concatenate(parts, axis=2)


def _probe_read(p: str | Path, flight: Flight) -> None:
    """Decode the first and last blocks so truncated or corrupt files fail here, not mid-run."""
    bh, bw = flight.block_shape
    for row, col in ((0, 0), (flight.height - 1, flight.width - 1)):
        r0 = max(0, min(row, flight.height - min(bh, flight.height)))
        c0 = max(0, min(col, flight.width - min(bw, flight.width)))
        win = Window(c0, r0, min(bw, flight.width - c0), min(64, flight.height - r0))
        try:
            flight.read_rgb(win)
        except GDAL_ERRORS as err:
            raise RamsError(p, f"corrupt or truncated raster data ({_reason(err)})") from None


def valid_fraction(flight: Flight) -> float:
    """Share (0..1) of the flight's pixels holding valid data, from a decimated mask read."""
    ds = flight.dataset()
    scale = max(1.0, max(flight.width, flight.height) / STATS_PX)
    shape = (max(1, round(flight.height / scale)), max(1, round(flight.width / scale)))
    if (
        flight.alpha_band is None
        and flight.nodata is None
        and not flight.has_internal_mask
        and not flight.warp
    ):
        return 1.0
    mask = ds.dataset_mask(out_shape=shape, resampling=Resampling.nearest)
    return float(np.count_nonzero(mask) / mask.size)


def flight_info(flight: Flight) -> dict:
    """A summary of the flight for people and logs (sizes in px, distances in metres)."""
    share = valid_fraction(flight)
    area_km2 = flight.width * flight.height * flight.gsd_m**2 / 1e6
    ds = flight.dataset()
    return {
        "path": flight.path,
        "flight_id": flight.flight_id,
        "size_px": [flight.width, flight.height],
        "bands": flight.band_count,
        "rgb_bands": list(flight.rgb_bands),
        "alpha_band": flight.alpha_band,
        "dtype": flight.dtype,
        "nodata": flight.nodata,
        "crs": flight.crs.to_string(),
        "warped": flight.warp is not None,
        "gsd_m": round(flight.gsd_m, 5),
        "extent_km2": round(area_km2, 6),
        "footprint_km2": round(area_km2 * share, 6),
        "valid_share": round(share, 4),
        "block_shape_px": list(flight.block_shape),
        "layout": "tiled" if flight.tiled else "striped",
        "overviews": ds.overviews(1) if not flight.warp else [],
        "stretch_to_8bit": [list(s) for s in flight.stretch] if flight.stretch else None,
    }


def resampled(flight: Flight, gsd_m: float) -> Flight:
    """The same flight read on a north-up grid of ``gsd_m`` metres (each grid px the average of
    the valid px under it), e.g. to match the GSD range a detector was trained on. A file in a
    projected north-up grid is decoded at its own resolution and averaged (:attr:`Flight.rescale`);
    a warped one goes through GDAL's warper."""
    if abs(gsd_m - flight.gsd_m) <= 1e-3 * flight.gsd_m:
        return flight
    t = flight.transform
    width = max(1, math.ceil(flight.width * flight.gsd_m / gsd_m))
    height = max(1, math.ceil(flight.height * flight.gsd_m / gsd_m))
    transform = Affine(gsd_m, 0, t.c, 0, -gsd_m, t.f)
    if flight.warp is None:
        ratio = gsd_m / flight.gsd_m * (flight.rescale or 1.0)
        return replace(flight, rescale=ratio, transform=transform, width=width, height=height, gsd_m=gsd_m)
    warp = Warp(flight.crs.to_string(), tuple(transform)[:6], width, height, "average")
    return replace(flight, warp=warp, transform=transform, width=width, height=height, gsd_m=gsd_m)
