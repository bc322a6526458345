"""`rams degrade F.tif OUT.tif [--jpeg-quality Q] [--blur-px S] [--gains R G B] [--saturation F] [--gamma G]`."""

from __future__ import annotations

import argparse
from pathlib import Path

from rams.cli.options import add_out, output
from rams.errors import RamsError

DESCRIPTION = (
    "Writes a copy of a labelled flight as another camera or mosaicking chain would have delivered it, "
    "with its labels (and DSM) beside it under the new name, so that `rams evaluate` measures a detector "
    "on the same ground under the shift."
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``degrade`` sub-command."""
    p = sub.add_parser("degrade", help="copy a labelled flight under an imaging shift (robustness checks)",
                       description=DESCRIPTION)
    p.add_argument("flight", type=Path, help="RGB GeoTIFF; F.labels.gpkg and F.dsm.tif beside it are copied too")
    add_out(p, "output GeoTIFF", positional=True)
    p.add_argument("--jpeg-quality", type=int, help="store the RGB JPEG-compressed (YCbCr) at this quality (1-100)")
    p.add_argument("--blur-px", type=float, default=0.0, help="gaussian blur sigma (px of the flight)")
    p.add_argument("--gains", type=float, nargs=3, default=(1.0, 1.0, 1.0), metavar=("R", "G", "B"),
                   help="per-band factors (white balance), e.g. 1.15 1 0.85 for a warmer camera")
    p.add_argument("--saturation", type=float, default=1.0, help="colour saturation factor (0 grey, 1 unchanged)")
    p.add_argument("--gamma", type=float, default=1.0, help="gamma (< 1 brightens the mid-tones)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rams.evaluation.shifts import ImagingShift
    from rams.pipelines.degrade import degrade

    out = output(args)
    if out is None:
        raise RamsError(args.flight, "no output given (rams degrade FLIGHT OUT)")
    shift = ImagingShift(tuple(args.gains), args.saturation, args.gamma, args.blur_px)
    degrade(args.flight, out, shift, args.jpeg_quality, overwrite=args.overwrite)
    return 0
