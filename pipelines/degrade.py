"""A labelled flight under an imaging shift (`rams degrade FLIGHT OUT [--jpeg-quality Q] ...`).

Writes a copy of a labelled flight as another camera or mosaicking chain would have delivered
it, with its labels (and DSM) beside it under the new name, so that `rams evaluate` measures a
detector on the same ground under the shift. The flight is processed in strips of rows (with a
halo for the blur) and written atomically.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import rasterio
from rasterio.enums import MaskFlags
from rasterio.windows import Window

from rams.elevation import sidecar
from rams.errors import RamsError, refuse_existing
from rams.evaluation.shifts import ImagingShift, shift_rgb
from rams.synthetic.flight import labels_path

log = logging.getLogger(__name__)

#: Rows read, shifted and written at a time (a blur's halo is read around them).
STRIP_PX = 1024


def degrade(
    flight: str | os.PathLike,
    out: str | os.PathLike,
    shift: ImagingShift,
    jpeg_quality: int | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """Copy ``flight`` (8-bit RGB GeoTIFF) to ``out`` under an imaging ``shift``, stored
    JPEG-compressed at ``jpeg_quality`` (1-100) when given; its labels (``F.labels.gpkg``) and DSM
    (``F.dsm.tif``) are copied beside ``out`` under its name. An existing output (the GeoTIFF or
    either copy) is refused with a `RamsError` unless ``overwrite``. Returns ``out``."""
    flight, out = Path(flight), Path(out)
    if not flight.is_file():
        raise RamsError(flight, "no such flight")
    if out.resolve() == flight.resolve():
        raise RamsError(out, "the output would overwrite the flight")
    if jpeg_quality is not None and not 1 <= jpeg_quality <= 100:
        raise RamsError(out, f"--jpeg-quality must be 1-100, not {jpeg_quality}")
    if shift.blur_px < 0 or shift.saturation < 0 or shift.gamma <= 0 or min(shift.gains) <= 0:
        raise RamsError(out, "--blur-px and --saturation must be >= 0, --gamma and --gains > 0")
    copies = [(src, dst) for src, dst in ((labels_path(flight), labels_path(out)), (sidecar(flight), sidecar(out)))
              if src.is_file()]
    refuse_existing(out, *(dst for _, dst in copies), overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_shifted(flight, out, shift, jpeg_quality)
    for src, dst in copies:
        tmp = dst.with_name(dst.name + ".tmp")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    log.info("%s: %s, jpeg quality %s", out, shift, jpeg_quality or "none")
    return out


def write_shifted(src_path: Path, out: Path, shift: ImagingShift, jpeg_quality: int | None) -> None:
    """The RGB bands of ``src_path`` under ``shift`` into ``out`` (atomically; other bands dropped)."""
    tmp = out.with_name(out.name + ".tmp")
    try:
        with rasterio.open(src_path) as src:
            if src.count < 3 or src.dtypes[0] != "uint8":
                raise RamsError(src_path, f"expected 8-bit RGB, got {src.count} band(s) of {src.dtypes[0]}")
            # JPEG does not keep a nodata value exactly: where the flight has no data is an internal mask
            masked = any(MaskFlags.all_valid not in f for f in src.mask_flag_enums)  # nodata, mask or alpha
            profile = {**src.profile, "count": 3, "driver": "GTiff", "tiled": True, "nodata": None,
                       "blockxsize": 512, "blockysize": 512, "interleave": "pixel"}
            if jpeg_quality is not None:
                profile.update(compress="jpeg", jpeg_quality=jpeg_quality, photometric="ycbcr")
            else:
                profile.update(compress="deflate", predictor=2)
            with rasterio.open(tmp, "w", **profile) as dst:
                halo = shift.halo_px
                for r0 in range(0, src.height, STRIP_PX):
                    rows = min(STRIP_PX, src.height - r0)
                    top, bottom = max(r0 - halo, 0), min(r0 + rows + halo, src.height)
                    rgb = src.read((1, 2, 3), window=Window(0, top, src.width, bottom - top))
                    out_rgb = shift_rgb(rgb, shift)[:, r0 - top:r0 - top + rows]
                    strip = Window(0, r0, src.width, rows)
                    dst.write(out_rgb, window=strip)
                    if masked:
                        dst.write_mask(src.dataset_mask(window=strip), window=strip)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
