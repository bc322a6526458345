"""`rams campaign FLIGHT.tif ... | --flights DIR_OR_LIST -o CAMPAIGN.gpkg`: many flights, one
picture of the ground and a baseline per task polygon."""

from __future__ import annotations

import argparse

from rams.cli.options import add_cluster, add_config, add_model, add_out, add_threads


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``campaign`` sub-command."""
    p = sub.add_parser(
        "campaign",
        help="survey many flights as one campaign",
        description="Survey many flights as one dask job and merge them into one GeoPackage: items seen "
        "by two overlapping flights counted once, trenches and positions joined across flight edges, "
        "strike footprints and hazard areas over the merged evidence, and with --tasks a baseline per "
        "task polygon. Each flight's own GeoPackage is kept in OUT.flights/. An interrupted campaign "
        "resumes where it stopped when run again.",
    )
    p.add_argument("flight", nargs="*", help="orthomosaics (GeoTIFF, COG, VRT; GDAL /vsis3/, /vsicurl/ "
                   "paths too), folders of them, or text files listing one per line")
    p.add_argument("--flights", action="append", default=[], metavar="DIR_OR_LIST",
                   help="a folder of flights or a text file listing them (may be repeated)")
    add_out(p, "campaign GeoPackage (.gpkg)", required=True)
    p.add_argument("--tasks", help="task polygons (any polygon layer GDAL reads) for the baseline table")
    p.add_argument("--task-field", metavar="NAME", help="the field naming each task polygon")
    p.add_argument("--report", help="campaign HTML report (default: none)")
    p.add_argument("--campaign-id", help="the campaign's name in its records (default: OUT's stem)")
    p.add_argument("--merge-radius", type=float, default=None, metavar="M",
                   help="items of two flights closer than this (m) are one item (default 0.5)")
    add_model(p)
    add_config(p, "survey settings YAML (see configs/survey.yaml)")
    add_cluster(p)
    add_threads(p)
    p.add_argument("--keep-run", action="store_true", help="keep the run folders of region results")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rams.campaigns.merge import MERGE_RADIUS_M
    from rams.cli import STARTED
    from rams.errors import RamsError
    from rams.pipelines.campaign import campaign
    from rams.pipelines.survey import DEFAULT_MODEL

    flights = [*args.flight, *args.flights]
    if not flights:
        raise RamsError(args.out, "no flights: name them, or give --flights DIR_OR_LIST")
    campaign(
        flights,
        args.out,
        tasks=args.tasks,
        task_field=args.task_field,
        model=args.model or DEFAULT_MODEL,
        settings=args.config,
        report=args.report,
        scheduler=args.scheduler,
        workers=args.workers,
        threads=args.threads,
        campaign_id=args.campaign_id,
        merge_radius_m=MERGE_RADIUS_M if args.merge_radius is None else args.merge_radius,
        keep_run=args.keep_run,
        overwrite=args.overwrite,
        started=STARTED,
    )
    return 0
