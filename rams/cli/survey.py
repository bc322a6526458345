"""`rams survey FLIGHT.tif -o OUT.gpkg`: from a flight to a GIS-ready GeoPackage and a report."""

from __future__ import annotations

import argparse

from rams.cli.options import add_cluster, add_config, add_model, add_out, add_threads


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``survey`` sub-command."""
    p = sub.add_parser("survey", help="survey a flight: detections, hazard areas, report",
                       description="Survey a flight: an orthomosaic, or the drone's photographs themselves (a "
                       "folder of them, or several files), each detection placed from the camera's own position.")
    p.add_argument("flight", nargs="+", help="orthomosaic GeoTIFF / COG, or photographs (a folder, or JPEG/TIFF "
                   "files) with their GPS and attitude tags")
    add_out(p, "output GeoPackage (.gpkg)", required=True)
    add_model(p)
    add_config(p, "survey settings YAML (see configs/survey.yaml)")
    p.add_argument("--report", help="HTML report path (default: OUT with .html)")
    p.add_argument("--flight-id", help="the flight's identifier in every layer (default: the file name's stem)")
    p.add_argument("--survey-date", metavar="YYYY-MM-DD",
                   help="date the flight was flown (default: from its tags, EXIF DateTimeOriginal or "
                        "TIFFTAG_DATETIME; empty, with a warning, when it has none)")
    p.add_argument("--dsm", help="surface model (GeoTIFF, metres): for a model that takes an elevation band "
                                 "(default: FLIGHT.dsm.tif beside the flight); for photographs, the ground they "
                                 "are cast on (heights on the tags' altitude datum)")
    photos = p.add_argument_group("photographs (a folder or several JPEG/TIFF files)")
    photos.add_argument("--ground-elevation", type=float, metavar="M",
                        help="ground elevation (m, the tags' altitude datum) instead of the take-off point's level")
    photos.add_argument("--camera", metavar="CAMERA.yaml", help="the camera's focal length, sensor size and lens "
                        "distortion, for a camera the tags and rams' camera table do not know")
    photos.add_argument("--max-off-nadir", type=float, default=15.0, metavar="DEG",
                        help="refuse photographs further from nadir than this (default 15)")
    photos.add_argument("--no-registration", action="store_true",
                        help="place photographs by their GPS tags alone (no tie points between them)")
    add_cluster(p)
    add_threads(p)
    p.add_argument("--keep-run", action="store_true", help="keep the run folder of region results")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rams.cli import STARTED
    from rams.errors import RamsError
    from rams.pipelines.photos import is_photo_set, survey_photos
    from rams.pipelines.survey import DEFAULT_MODEL, survey

    report = args.report or args.out.with_suffix(".html")
    if is_photo_set(args.flight):
        survey_photos(args.flight, args.out, model=args.model or DEFAULT_MODEL, settings=args.config, report=report,
                      dsm=args.dsm, ground_elevation_m=args.ground_elevation, camera_file=args.camera,
                      max_off_nadir_deg=args.max_off_nadir, registration=not args.no_registration,
                      scheduler=args.scheduler, workers=args.workers, threads=args.threads,
                      flight_id=args.flight_id, survey_date=args.survey_date, keep_run=args.keep_run,
                      overwrite=args.overwrite, started=STARTED)
        return 0
    for name in ("ground_elevation", "camera"):
        if getattr(args, name) is not None:
            raise RamsError(args.flight[0], f"--{name.replace('_', '-')} goes with photographs, not an orthomosaic")
    survey(
        args.flight[0],
        args.out,
        model=args.model or DEFAULT_MODEL,
        settings=args.config,
        report=report,
        dsm=args.dsm,
        scheduler=args.scheduler,
        workers=args.workers,
        threads=args.threads,
        keep_run=args.keep_run,
        overwrite=args.overwrite,
        flight_id=args.flight_id,
        survey_date=args.survey_date,
        started=STARTED,
    )
    return 0
