"""`rams survey FLIGHT.tif -o OUT.gpkg`: from a flight to a GIS-ready GeoPackage and a report."""

from __future__ import annotations

import argparse

from rams.cli.options import add_cluster, add_config, add_model, add_out, add_threads


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``survey`` sub-command."""
    p = sub.add_parser("survey", help="survey a flight: detections, hazard areas, report")
    p.add_argument("flight", help="orthomosaic GeoTIFF / COG")
    add_out(p, "output GeoPackage (.gpkg)", required=True)
    add_model(p)
    add_config(p, "survey settings YAML (see configs/survey.yaml)")
    p.add_argument("--report", help="HTML report path (default: OUT with .html)")
    p.add_argument("--flight-id", help="the flight's identifier in every layer (default: the file name's stem)")
    p.add_argument("--survey-date", metavar="YYYY-MM-DD",
                   help="date the flight was flown (default: from its tags, EXIF DateTimeOriginal or "
                        "TIFFTAG_DATETIME; empty, with a warning, when it has none)")
    p.add_argument("--dsm", help="surface model (GeoTIFF, metres) for a model that takes an elevation band "
                                 "(default: FLIGHT.dsm.tif beside the flight)")
    add_cluster(p)
    add_threads(p)
    p.add_argument("--keep-run", action="store_true", help="keep the run folder of region results")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rams.cli import STARTED
    from rams.pipelines.survey import DEFAULT_MODEL, survey

    survey(
        args.flight,
        args.out,
        model=args.model or DEFAULT_MODEL,
        settings=args.config,
        report=args.report or args.out.with_suffix(".html"),
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
