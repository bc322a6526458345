"""`rams synth`: write a synthetic survey flight with its ground-truth labels."""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from rams.errors import RamsError
from rams.synth import DEMO, generate_flight

log = logging.getLogger(__name__)
DEMO_PATH = Path("demo/flight.tif")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``synth`` sub-command."""
    p = subparsers.add_parser(
        "synth",
        help="generate a synthetic flight (GeoTIFF + OUT.labels.gpkg ground truth)",
        description="Generate a synthetic drone survey flight: a cloud-optimised RGB GeoTIFF "
        "and OUT.labels.gpkg with the exact ground truth. With --bands rgb+dsm a float32 "
        "surface model (metres) is written beside it as OUT.dsm.tif.",
    )
    p.add_argument("out", nargs="?", type=Path, help="output GeoTIFF (OUT.tif)")
    p.add_argument("--size-px", nargs=2, type=int, metavar=("W", "H"), help="width height (px)")
    p.add_argument("--gsd", type=float, help="ground sample distance (m per px), e.g. 0.03")
    p.add_argument("--seed", type=int, help="random seed: the same seed gives the same flight")
    p.add_argument("--crs", default=None, help="projected CRS in metres (default EPSG:32638)")
    p.add_argument("--bands", choices=("rgb", "rgb+dsm"), default=None)
    p.add_argument(
        "--preset",
        choices=("demo",),
        help="the bundled demo flight (fixes size, gsd and seed; OUT defaults to demo/flight.tif)",
    )
    p.add_argument("--workers", type=int, default=None, help="threads (default: all cores)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.preset == "demo":
        fixed = [n for n in ("size_px", "gsd", "seed") if getattr(args, n) is not None]
        if fixed:
            raise RamsError(
                args.out or DEMO_PATH, f"--preset demo fixes size, gsd and seed; drop --{fixed[0]}"
            )
        out = args.out or DEMO_PATH
        (width, height), gsd, seed = (DEMO.width_px, DEMO.height_px), DEMO.gsd_m, DEMO.seed
        crs, bands = args.crs or DEMO.crs, args.bands or DEMO.bands
    else:
        missing = [n for n in ("out", "size_px", "gsd", "seed") if getattr(args, n) is None]
        if missing:
            name = missing[0].replace("_", "-")
            raise RamsError(args.out or "synth", f"missing {name} (or use --preset demo)")
        out, (width, height), gsd, seed = args.out, args.size_px, args.gsd, args.seed
        crs, bands = args.crs or "EPSG:32638", args.bands or "rgb"
    if args.workers is not None and args.workers < 1:
        raise RamsError(out, "--workers must be at least 1")
    logging.getLogger("pyogrio").setLevel(logging.WARNING)  # one line per layer is noise
    start = time.perf_counter()
    tif, labels = generate_flight(
        out, width, height, gsd, seed, crs=crs, bands=bands, workers=args.workers
    )
    secs = time.perf_counter() - start
    log.info(
        "wrote %s and %s (%dx%d px, %.1f MPix/s)",
        tif,
        labels,
        width,
        height,
        width * height / 1e6 / secs,
    )
    return 0
