"""`rams synth OUT.tif --size-px W H --gsd M --seed N` (or `--preset demo`): a synthetic flight."""

from __future__ import annotations

import argparse

from rams.cli.options import add_out, add_threads, output


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``synth`` sub-command."""
    p = sub.add_parser(
        "synth",
        help="generate a synthetic flight (GeoTIFF + OUT.labels.gpkg ground truth)",
        description="Generate a synthetic drone survey flight: a cloud-optimised RGB GeoTIFF "
        "and OUT.labels.gpkg with the exact ground truth. With --bands rgb+dsm a float32 "
        "surface model (metres) is written beside it as OUT.dsm.tif.",
    )
    add_out(p, "output GeoTIFF (OUT.tif; the labels and DSM go beside it)", positional=True)
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
    add_threads(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rams.pipelines.synth import synth

    synth(output(args), *(args.size_px or (None, None)), args.gsd, args.seed, crs=args.crs, bands=args.bands,
          preset=args.preset, threads=args.threads, overwrite=args.overwrite)
    return 0
