"""`rams evaluate --model M --flight F.tif [G.tif ...] [--labels F.labels.gpkg ...] [-o report.json]`."""

from __future__ import annotations

import argparse

from rams.cli.options import add_model, add_out

DESCRIPTION = (
    "Each flight is surveyed exactly as `rams survey` surveys it, then scored against its labels in metres: "
    "object-level detector metrics and hazard-level metrics (coverage, tightness, disaggregation). With "
    "several flights the detector metrics are also pooled: counts summed over the flights, with a 95%% "
    "interval for each pooled precision, recall and F1 from a bootstrap over the flights."
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` sub-command."""
    # the defaults below are the job's own (its module loads torch: only for this command)
    from rams.evaluation.metrics import EVALUATION_DEFAULTS
    from rams.pipelines.evaluate import MIN_LENGTH_PX

    p = sub.add_parser("evaluate", help="object- and hazard-level metrics on a labelled flight",
                       description=DESCRIPTION)
    add_model(p)
    p.add_argument("--flight", required=True, nargs="+",
                   help="flight raster(s) (as for rams survey); with several, the metrics are also pooled")
    p.add_argument("--labels", nargs="+",
                   help="labels GeoPackage(s) (rams synth layer names), one per flight; default: F.labels.gpkg "
                   "beside each F.tif")  # fmt: skip
    add_out(p, "write the report as JSON here")
    p.add_argument("--rules", default="default", help="hazard rules profile name or YAML path")
    p.add_argument("--radius-m", type=float, default=EVALUATION_DEFAULTS["match_radius_m"],
                   help="submunition match radius (m)")
    p.add_argument("--min-visible-fraction", type=float, default=EVALUATION_DEFAULTS["min_visible_fraction"],
                   help="ignore true submunitions less visible than this (0-1); the default ignores only "
                   "items under vegetation (visible_fraction 0), ground reported as not assessable")  # fmt: skip
    p.add_argument("--min-length-px", type=float, default=MIN_LENGTH_PX,
                   help="score only true submunitions at least this long in pixels (the rest are reported "
                   "separately as 'any size'); 0 scores every item")  # fmt: skip
    p.add_argument("--min-position-visible-share", type=float,
                   default=EVALUATION_DEFAULTS["min_position_visible_share"],
                   help="score only true positions with at least this share of their area outside vegetation "
                   "(the rest are reported separately, '+ hidden'); the default, the IoU a match needs, "
                   "leaves out positions that an outline of their visible part could not match; 0 scores "
                   "every one")  # fmt: skip
    p.add_argument("--peak-threshold", type=float, help="override the card's submunition threshold (0-1)")
    p.add_argument("--position-threshold", type=float, help="override the position mask threshold (0-1)")
    p.add_argument("--trench-threshold", type=float, help="override the trench mask threshold (0-1)")
    p.add_argument("--position-min-area", type=float, help="override the smallest position kept (m²)")
    p.add_argument(
        "--record", metavar="SECTION", help="also record the metrics in the model folder's metrics.yaml under SECTION"
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rams.pipelines.evaluate import DEFAULT_MODEL, MATCHING_OPTIONS, OVERRIDES, evaluate_flights, format_table

    def given(options: dict[str, str]) -> dict[str, float]:
        values = {name: getattr(args, option[2:].replace("-", "_")) for name, option in options.items()}
        return {name: float(v) for name, v in values.items() if v is not None}

    evaluate_flights(args.flight, args.labels, model=args.model or DEFAULT_MODEL, rules=args.rules,
                     matching=given(MATCHING_OPTIONS), thresholds=given(OVERRIDES), out=args.out,
                     record=args.record, overwrite=args.overwrite,
                     on_report=lambda report: print(format_table(report), flush=True))
    return 0
