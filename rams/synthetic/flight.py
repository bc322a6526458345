"""Write a synthetic survey flight: cloud-optimised GeoTIFF (+ DSM sidecar) and its labels."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dask
import geopandas as gpd
import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.windows import Window

from rams.errors import RamsError
from rams.parallel import default_workers
from rams.synthetic.labels import label_frames, write_labels
from rams.synthetic.layout import make_scene
from rams.synthetic.render import BLOCK_PX, render_region
from rams.synthetic.scene import Scene

REGION_BLOCKS = 4  # a region is 4 x 4 blocks (2048 px square): one dask task
ORIGIN_LONLAT = (46.95, 39.98)  # Karabakh lowlands, near Aghdam: top-left of every flight


@dataclass(frozen=True)
class SynthPreset:
    """Fixed arguments of a named synthetic flight."""

    width_px: int
    height_px: int
    gsd_m: float
    seed: int
    crs: str = "EPSG:32638"
    bands: str = "rgb"


DEMO = SynthPreset(width_px=6000, height_px=6000, gsd_m=0.03, seed=20240917)


def labels_path(out_tif: str | Path) -> Path:
    """OUT.tif -> OUT.labels.gpkg"""
    p = Path(out_tif)
    return p.with_name(p.stem + ".labels.gpkg")


def dsm_path(out_tif: str | Path) -> Path:
    """OUT.tif -> OUT.dsm.tif (float32 surface heights, metres, on the same grid)"""
    p = Path(out_tif)
    return p.with_name(p.stem + ".dsm.tif")


def _origin(crs: CRS, path: Path) -> tuple[float, float]:
    if not crs.is_projected or crs.axis_info[0].unit_name not in ("metre", "meter"):
        raise RamsError(path, f"CRS {crs.to_string()} is not projected in metres")
    t = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = t.transform(*ORIGIN_LONLAT)
    return float(round(x)), float(round(y))  # whole metres: tidy, reproducible geotransforms


def _check(path: Path, width_px: int, height_px: int, gsd_m: float, bands: str) -> None:
    if width_px < 16 or height_px < 16:
        raise RamsError(path, f"size {width_px}x{height_px} px is too small (minimum 16 px)")
    if not 0.005 <= gsd_m <= 0.2:
        raise RamsError(path, f"GSD {gsd_m} m is outside 0.005-0.2 m (objects need cm pixels)")
    if bands not in ("rgb", "rgb+dsm"):
        raise RamsError(path, f"bands must be 'rgb' or 'rgb+dsm', not {bands!r}")
    if path.suffix.lower() not in (".tif", ".tiff"):
        raise RamsError(path, "output must be a .tif file")


def _regions(width: int, height: int) -> Iterator[Window]:
    step = BLOCK_PX * REGION_BLOCKS
    for r in range(0, height, step):
        for c in range(0, width, step):
            yield Window(c, r, min(step, width - c), min(step, height - r))


def _profile(width: int, height: int, crs: CRS, transform, count: int, dtype: str) -> dict:
    return dict(driver="GTiff", width=width, height=height, count=count, dtype=dtype, crs=crs,
                transform=transform, tiled=True, blockxsize=BLOCK_PX, blockysize=BLOCK_PX,
                compress="DEFLATE", predictor=2 if dtype == "uint8" else 3, BIGTIFF="IF_SAFER")


def _render_into(scene: Scene, rgb_dst, dsm_dst, workers: int) -> None:
    """Render regions on a thread pool, writing each as it is done; a bounded number in flight."""
    windows = list(_regions(rgb_dst.width, rgb_dst.height))
    batch = max(1, 2 * workers)
    for k in range(0, len(windows), batch):
        wins = windows[k:k + batch]
        tasks = [dask.delayed(render_region)(scene, int(w.row_off), int(w.col_off),
                                             int(w.height), int(w.width)) for w in wins]
        results = dask.compute(*tasks, scheduler="threads", num_workers=workers)
        for w, (rgb, z) in zip(wins, results, strict=False):
            rgb_dst.write(rgb, window=w)
            if dsm_dst is not None:
                dsm_dst.write(z[None], window=w)


def _to_cog(src: Path, dst: Path, workers: int, resampling: str) -> None:
    tmp = dst.with_name(dst.name + ".tmp")
    rasterio.shutil.copy(src, tmp, driver="COG", compress="DEFLATE", blocksize=BLOCK_PX,
                         overview_resampling=resampling, num_threads=workers,
                         predictor="YES", bigtiff="IF_SAFER")
    os.replace(tmp, dst)


def generate_flight(
    out_tif: str | Path,
    width_px: int,
    height_px: int,
    gsd_m: float,
    seed: int,
    crs: str = "EPSG:32638",
    bands: str = "rgb",
    workers: int | None = None,
) -> tuple[Path, Path]:
    """Write a synthetic flight and its ground truth; returns (tif_path, labels_gpkg_path).

    The RGB orthomosaic (uint8, north-up, ``gsd_m`` metres per pixel, top-left corner in the
    Karabakh lowlands, in projected ``crs``) is a cloud-optimised GeoTIFF. With
    ``bands="rgb+dsm"`` a float32 surface model (metres) is written beside it as OUT.dsm.tif on
    the same grid: GeoTIFF bands share one dtype. Identical arguments give identical bytes.
    """
    out = Path(out_tif)
    _check(out, width_px, height_px, gsd_m, bands)
    crs_obj, transform = _grid(out, width_px, height_px, gsd_m, crs)
    scene = generate_scene(width_px, height_px, gsd_m, seed, crs)
    workers = workers or default_workers()
    out.parent.mkdir(parents=True, exist_ok=True)
    rio_crs = rasterio.crs.CRS.from_wkt(crs_obj.to_wkt())
    raw = out.with_name(out.name + ".raw.tif")
    raw_dsm = out.with_name(out.name + ".rawdsm.tif")
    try:
        with rasterio.Env(GDAL_NUM_THREADS=str(workers)):
            with rasterio.open(raw, "w", **_profile(width_px, height_px, rio_crs, transform, 3,
                                                    "uint8"), photometric="RGB") as dst:
                if bands == "rgb+dsm":
                    with rasterio.open(raw_dsm, "w", **_profile(width_px, height_px, rio_crs,
                                                                transform, 1, "float32")) as dz:
                        _render_into(scene, dst, dz, workers)
                else:
                    _render_into(scene, dst, None, workers)
            _to_cog(raw, out, workers, "AVERAGE")
            if bands == "rgb+dsm":
                _to_cog(raw_dsm, dsm_path(out), workers, "AVERAGE")
    finally:
        raw.unlink(missing_ok=True)
        raw_dsm.unlink(missing_ok=True)
    labels = write_labels(label_frames(scene, rio_crs.to_wkt()), labels_path(out))
    return out, labels


def _grid(path: Path, width_px: int, height_px: int, gsd_m: float, crs: str
          ) -> tuple[CRS, Affine]:
    """The flight's CRS and north-up pixel grid (``gsd_m`` metres per pixel)."""
    try:
        crs_obj = CRS.from_user_input(crs)
    except Exception as err:  # pyproj raises several types for unparseable input
        raise RamsError(path, f"unknown CRS {crs!r}") from err
    x0, y0 = _origin(crs_obj, path)
    return crs_obj, Affine(gsd_m, 0.0, x0, 0.0, -gsd_m, y0)


def generate_scene(width_px: int, height_px: int, gsd_m: float, seed: int,
                   crs: str = "EPSG:32638", catalogue: str = "classic") -> Scene:
    """The scene description a flight with these arguments would show (nothing rendered);
    ``catalogue`` "field" asks for the varied objects of :mod:`rams.synthetic.catalogue`."""
    _, t = _grid(Path("<scene>"), width_px, height_px, gsd_m, crs)
    return make_scene(seed, (t.c, t.f - height_px * gsd_m, t.c + width_px * gsd_m, t.f), gsd_m,
                      catalogue)


def render_flight(width_px: int, height_px: int, gsd_m: float, seed: int, crs: str = "EPSG:32638"
                  ) -> tuple[np.ndarray, Affine, str, dict[str, gpd.GeoDataFrame], np.ndarray]:
    """The flight :func:`generate_flight` would write, held in memory instead: RGB uint8
    (3, H, W), its transform, the CRS as WKT, the label layers and the surface model
    (float32 (H, W), metres) of ``bands="rgb+dsm"`` (nothing touches the disk)."""
    where = Path(f"<synthetic flight {seed}>")
    _check(where.with_suffix(".tif"), width_px, height_px, gsd_m, "rgb")
    crs_obj, transform = _grid(where, width_px, height_px, gsd_m, crs)
    scene = generate_scene(width_px, height_px, gsd_m, seed, crs)
    rgb = np.empty((3, height_px, width_px), np.uint8)
    z = np.empty((height_px, width_px), np.float32)
    for w in _regions(width_px, height_px):
        rows, cols = w.toslices()
        rgb[:, rows, cols], z[rows, cols] = render_region(scene, int(w.row_off), int(w.col_off), int(w.height),
                                                          int(w.width))
    return rgb, transform, crs_obj.to_wkt(), label_frames(scene, crs_obj.to_wkt()), z


__all__ = ["DEMO", "SynthPreset", "generate_flight", "generate_scene", "labels_path",
           "dsm_path", "render_flight"]
