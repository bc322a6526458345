"""`rams evaluate --model M --flight F.tif --labels F.labels.gpkg [--out report.json]`."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from rams.detector.card import record_metrics, resolve_model_dir
from rams.detector.detector import Detector
from rams.detector.evaluation import evaluate_flight, format_table


def run(args: argparse.Namespace) -> int:
    detector = Detector.load(args.model)
    matching = {"match_radius_m": args.radius_m, "min_visible_fraction": args.min_visible_fraction}
    pp = {"peak_threshold": args.peak_threshold} if args.peak_threshold is not None else None
    report = evaluate_flight(detector, args.flight, args.labels, matching, pp)
    print(format_table(report))
    if args.out:
        out = Path(args.out)
        tmp = out.with_suffix(out.suffix + ".tmp")
        tmp.write_text(json.dumps(report, indent=1))
        tmp.replace(out)
    if args.record:
        parts = ["rams", "evaluate", "--model", args.model, "--flight", args.flight, "--labels",
                 args.labels, "--radius-m", str(args.radius_m), "--min-visible-fraction",
                 str(args.min_visible_fraction)]
        if args.peak_threshold is not None:
            parts += ["--peak-threshold", str(args.peak_threshold)]
        command = " ".join(shlex.quote(p) for p in parts)
        record_metrics(resolve_model_dir(args.model), args.record, Path(args.flight).name,
                       report["metrics"], command)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate", help="object-level metrics of a model on a labelled flight", description=__doc__
    )
    p.add_argument("--model", default="rams-det-v1", help="model name under models/ or a folder")
    p.add_argument("--flight", required=True, help="GeoTIFF (bands 1-3 uint8 RGB)")
    p.add_argument("--labels", required=True, help="labels GeoPackage (rams synth layer names)")
    p.add_argument("--out", help="write the report as JSON here")
    p.add_argument("--radius-m", type=float, default=0.3, help="submunition match radius (m)")
    p.add_argument(
        "--min-visible-fraction",
        type=float,
        default=0.01,
        help="ignore true submunitions less visible than this (0-1); the default ignores only "
        "items under vegetation (visible_fraction 0), ground reported as not assessable",
    )
    p.add_argument("--peak-threshold", type=float, help="override the card's heatmap threshold")
    p.add_argument("--record", metavar="SECTION",
                   help="also write the metrics into the model card under metrics.SECTION")
    p.set_defaults(run=run)
