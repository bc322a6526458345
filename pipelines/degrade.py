"""`rams degrade FLIGHT OUT [--jpeg-quality Q] [--blur-px S] [--gains R G B] [--saturation F] [--gamma G]`.

Writes a copy of a labelled flight as another camera or mosaicking chain would have delivered
it, with its labels (and DSM) beside it under the new name, so that `rams evaluate` measures a
detector on the same ground under the shift. The flight is processed in strips of rows (with a
halo for the blur) and written atomically.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

import rasterio
from rasterio.enums import MaskFlags
from rasterio.windows import Window

from rams.elevation import sidecar
from rams.errors import RamsError
from rams.evaluation.shifts import ImagingShift, shift_rgb
from rams.synthetic.flight import labels_path

STRIP_PX = 1024


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("degrade", help="copy a labelled flight under an imaging shift (robustness checks)",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("flight", type=Path, help="RGB GeoTIFF; F.labels.gpkg and F.dsm.tif beside it are copied too")
    p.add_argument("out", type=Path, help="output GeoTIFF")
    p.add_argument("--jpeg-quality", type=int, help="store the RGB JPEG-compressed (YCbCr) at this quality (1-100)")
    p.add_argument("--blur-px", type=float, default=0.0, help="gaussian blur sigma (px of the flight)")
    p.add_argument("--gains", type=float, nargs=3, default=(1.0, 1.0, 1.0), metavar=("R", "G", "B"),
                   help="per-band factors (white balance), e.g. 1.15 1 0.85 for a warmer camera")
    p.add_argument("--saturation", type=float, default=1.0, help="colour saturation factor (0 grey, 1 unchanged)")
    p.add_argument("--gamma", type=float, default=1.0, help="gamma (< 1 brightens the mid-tones)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.flight.is_file():
        raise RamsError(args.flight, "no such flight")
    if args.out.resolve() == args.flight.resolve():
        raise RamsError(args.out, "the output would overwrite the flight")
    if args.jpeg_quality is not None and not 1 <= args.jpeg_quality <= 100:
        raise RamsError(args.out, f"--jpeg-quality must be 1-100, not {args.jpeg_quality}")
    if args.blur_px < 0 or args.saturation < 0 or args.gamma <= 0 or min(args.gains) <= 0:
        raise RamsError(args.out, "--blur-px and --saturation must be >= 0, --gamma and --gains > 0")
    shift = ImagingShift(tuple(args.gains), args.saturation, args.gamma, args.blur_px)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_shifted(args.flight, args.out, shift, args.jpeg_quality)
    for src, dst in ((labels_path(args.flight), labels_path(args.out)),
                     (sidecar(args.flight), sidecar(args.out))):
        if src.is_file():
            tmp = dst.with_name(dst.name + ".tmp")
            shutil.copyfile(src, tmp)
            os.replace(tmp, dst)
    print(f"{args.out}: {shift}, jpeg quality {args.jpeg_quality or 'none'}")
    return 0


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
