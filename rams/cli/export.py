"""`rams export SURVEY.gpkg OUT [--formats geojson,shp,kml,csv,fgb]`: the other GIS formats."""

from __future__ import annotations

import argparse
from pathlib import Path

from rams.cli.options import add_out, output
from rams.errors import RamsError

# rams.export.FORMATS, spelled out so that `rams export --help` need not import GDAL
# (tests/test_export_cli.py holds the two together)
FORMATS_HELP = "geojson,shp,kml,csv,fgb"


def formats_list(text: str) -> tuple[str, ...]:
    """An argparse type: comma-separated format names (checked by the export itself)."""
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    if not chosen:
        raise argparse.ArgumentTypeError(f"expected some of {FORMATS_HELP}, got {text!r}")
    return chosen


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``export`` sub-command."""
    p = sub.add_parser(
        "export",
        help="export a survey GeoPackage as GeoJSON, Shapefile, KML, CSV and FlatGeobuf",
        description="Write every layer of a survey GeoPackage into the folder OUT: GeoJSON (RFC 7946), "
        "Shapefile, one KML, CSVs of hazard areas and submunitions, FlatGeobuf, and SLD styles. "
        "The folder appears complete or not at all.",
    )
    p.add_argument("survey", type=Path, help="survey output GeoPackage (rams survey or rams hazards)")
    add_out(p, "output folder", positional=True)
    p.add_argument("--formats", type=formats_list, metavar="LIST",
                   help=f"comma-separated formats (default: all of {FORMATS_HELP})")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rams.export import FORMATS, export_layers

    out = output(args)
    if out is None:
        raise RamsError(args.survey, "no output folder given: rams export SURVEY.gpkg OUT")
    export_layers(args.survey, out, args.formats or FORMATS, overwrite=args.overwrite)
    return 0
