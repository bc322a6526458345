"""`rams info FLIGHT [--json]`: describe a flight raster."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``info`` sub-command."""
    p = sub.add_parser("info", help="describe a flight raster (size, CRS, GSD, footprint, layout)")
    p.add_argument("flight", help="GeoTIFF / COG or any raster GDAL reads")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rams.pipelines.info import describe

    info = describe(args.flight)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        print(f"{key:<{width}}  {value}")
    return 0
