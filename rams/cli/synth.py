"""`rams synth OUT.tif --size-px W H --gsd M --seed N` (or `--preset demo`): a synthetic flight;
`rams synth OUT.tif --frame FRAME.jpg --gsd M --seed N`: its objects on a real drone frame;
`rams synth --preset campaign OUTDIR`: four overlapping flights of one scene and its truth;
`rams synth --preset photos OUTDIR`: a drone's tagged nadir photographs of one scene and its truth."""

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
        "surface model (metres) is written beside it as OUT.dsm.tif. With --frame the ground is "
        "a real drone photograph instead: the generator's submunitions and litter are "
        "composited onto it at their real size, lit, softened and noised like the frame. "
        "--preset campaign writes into folder OUT four overlapping flights cut from one scene "
        "(flight-a.tif ... flight-d.tif, one at 4 cm, each with its labels) and the scene's "
        "whole truth (truth.gpkg): test data for merging a campaign's surveys. --preset photos "
        "writes into folder OUT the nadir photographs a DJI Phantom 3 takes over one scene "
        "(photos/DJI_0001.JPG ..., 75%% forward and 65%% side overlap, GPS noise, DJI's EXIF "
        "and XMP tags), the scene's truth (truth.gpkg), the true and recorded poses "
        "(flight_plan.csv) and the scene as an orthomosaic (ortho.tif, ortho.labels.gpkg).",
    )
    add_out(p, "output GeoTIFF (OUT.tif; the labels and DSM go beside it), or the folder of "
            "--preset campaign or photos", positional=True)
    p.add_argument("--size-px", nargs=2, type=int, metavar=("W", "H"), help="width height (px)")
    p.add_argument("--gsd", type=float, help="ground sample distance (m per px), e.g. 0.03")
    p.add_argument("--seed", type=int, help="random seed: the same seed gives the same flight")
    p.add_argument("--crs", default=None, help="projected CRS in metres (default EPSG:32638)")
    p.add_argument("--bands", choices=("rgb", "rgb+dsm"), default=None)
    p.add_argument(
        "--preset",
        choices=("demo", "campaign", "photos"),
        help="demo: the bundled demo flight (fixes size, gsd and seed; OUT defaults to "
        "demo/flight.tif); campaign: four overlapping flights of one scene with its truth, "
        "into folder OUT (fixes everything but --threads); photos: a drone's tagged nadir "
        "photographs of one scene with its truth and orthomosaic, into folder OUT (fixes "
        "everything but --seed and --threads)",
    )
    p.add_argument("--frame", help="composite the objects onto this real nadir drone frame "
                   "(JPEG), resampled to --gsd (0.005-0.04 m); no --size-px")
    p.add_argument("--frame-gsd", type=float, help="the frame's own GSD (m per px); default: "
                   "that of its known flight (caliterra 0.015, brighton 0.017)")
    p.add_argument("--jpeg-quality", type=int, default=None,
                   help="with --frame: quality of the final JPEG pass (default 90)")
    add_threads(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rams.pipelines.synth import synth

    synth(output(args), *(args.size_px or (None, None)), args.gsd, args.seed, crs=args.crs, bands=args.bands,
          preset=args.preset, threads=args.threads, overwrite=args.overwrite, frame=args.frame,
          frame_gsd_m=args.frame_gsd, jpeg_quality=args.jpeg_quality)
    return 0
