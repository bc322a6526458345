"""`rams evaluate --model M --flight F.tif --labels F.labels.gpkg [--out report.json]`.

The flight is surveyed exactly as `rams survey` surveys it (same tiling, stitching,
vectorisation, thresholds and hazard stage), then scored against its labels in metres:
object-level detector metrics and hazard-level metrics (coverage, tightness, disaggregation).
"""

from __future__ import annotations

import argparse
import json
import shlex
import tempfile
from dataclasses import replace
from pathlib import Path

import pyogrio

from pipelines.survey import DEFAULT_MODEL, hazard_rules_path, survey
from pipelines.survey_config import SurveySettings
from rams.detector.card import record_metrics, resolve_model_dir
from rams.detector.data import read_labels
from rams.detector.metrics import EVALUATION_DEFAULTS, score_detections, summarise
from rams.hazards import hazard_metrics, load_rules

#: Submunitions are 5-40 px objects at the survey GSD; shorter items are below what RGB imagery at
#: that GSD resolves (an 8 cm M77 is under 3 px at 3 cm) and are reported apart.
MIN_LENGTH_PX = 5.0
SCORED_LAYERS = ("submunitions", "trenches", "positions", "hazard_areas", "coverage")


def evaluate(
    flight: str | Path,
    labels: str | Path,
    *,
    model: str,
    rules: str = "default",
    matching: dict[str, float] | None = None,
    thresholds: dict[str, float] | None = None,
) -> dict:
    """Survey ``flight`` with ``model`` and score the output against the ``labels`` GeoPackage.

    ``thresholds`` overrides the cards' detection settings (``DetectionSettings`` field names,
    e.g. ``submunition_threshold``, ``position_threshold``, ``position_min_area_m2``), as when
    calibrating them."""
    truth = read_labels(labels)
    settings = SurveySettings(hazard_rules=rules)
    if thresholds:
        settings = replace(settings, detection=replace(settings.detection, **thresholds))
    with tempfile.TemporaryDirectory(prefix="rams-evaluate-") as tmp:
        out = Path(tmp) / "evaluate.gpkg"
        summary = survey(flight, out, model=model, settings=settings, report=None)
        found = {name: pyogrio.read_dataframe(out, layer=name) for name in SCORED_LAYERS}
    area_ha = float(found["coverage"]["area_m2"].sum()) / 1e4
    match = {**EVALUATION_DEFAULTS, **(matching or {})}
    gsd = float(summary["gsd_m"])
    every = summarise(score_detections(found, truth, area_ha,
                                       {**match, "min_length_px": 0.0, "min_position_visible_share": 0.0}, gsd))
    return {
        "model": summary["model"],
        "model_sha256": summary["model_sha256"],
        "flight": Path(flight).name,
        "labels": Path(labels).name,
        "gsd_m": summary["gsd_m"],
        "area_ha": area_ha,
        "survey_seconds": summary["seconds"],
        "matching": match,
        "metrics": summarise(score_detections(found, truth, area_ha, match, gsd)),
        "submunition_every_size": every["submunition"],
        "position_including_hidden": every["position"],
        "hazards": hazard_metrics(found["hazard_areas"], truth, load_rules(hazard_rules_path(rules))),
    }


def format_table(report: dict) -> str:
    """Per-class precision / recall / F1, then the hazard-level metrics, as plain text."""
    match = report["matching"]
    lines = [
        f"{report['flight']}  gsd {report['gsd_m']:.3f} m  area {report['area_ha']:.2f} ha  model {report['model']}",
        f"{'class':<12} {'precision':>9} {'recall':>7} {'f1':>6}  details",
    ]
    for cls, m in report["metrics"].items():
        if cls == "trench":
            tolerance = match["trench_tolerance_m"]
            extra = f"true {m['true_length_m']:.0f} m, found {m['pred_length_m']:.0f} m (within {tolerance} m)"
        else:
            extra = f"tp {m['tp']:.0f} fp {m['fp']:.0f} fn {m['fn']:.0f}"
        if cls == "submunition":
            extra += f", {m['fp_per_ha']:.2f} fp/ha, {m['distractor_fp']:.0f} on distractors"
            extra += f", radius {match['match_radius_m']} m"
            if match.get("min_length_px"):
                extra += f", items >= {match['min_length_px']:g} px long"
        if cls == "position" and match.get("min_position_visible_share"):
            extra += (f", {m['ignored_truth']:.0f} more than {1 - match['min_position_visible_share']:.0%} "
                      "under vegetation not scored")
        lines.append(f"{cls:<12} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f}  {extra}")
    if "submunition_every_size" in report:
        m = report["submunition_every_size"]
        lines.append(f"{'(any size)':<12} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f}  "
                     f"tp {m['tp']:.0f} fp {m['fp']:.0f} fn {m['fn']:.0f}, every submunition however small")
    if "position_including_hidden" in report:
        m = report["position_including_hidden"]
        lines.append(f"{'(+ hidden)':<12} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f}  "
                     f"tp {m['tp']:.0f} fp {m['fp']:.0f} fn {m['fn']:.0f}, every position, under trees too")
    lines.append("hazard areas:")
    for key, value in report["hazards"].items():
        shown = "n/a" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))
        lines.append(f"  {key:<26} {shown}")
    return "\n".join(lines)


#: Detection settings (``DetectionSettings`` fields) the command line may override, and their options.
OVERRIDES = {"submunition_threshold": "--peak-threshold", "position_threshold": "--position-threshold",
             "trench_threshold": "--trench-threshold", "position_min_area_m2": "--position-min-area"}


def _overrides(args: argparse.Namespace) -> dict[str, float]:
    """The detection settings given on the command line, by ``DetectionSettings`` field."""
    values = {name: getattr(args, option[2:].replace("-", "_")) for name, option in OVERRIDES.items()}
    return {name: float(v) for name, v in values.items() if v is not None}


def run(args: argparse.Namespace) -> int:
    matching = {
        "match_radius_m": args.radius_m,
        "min_visible_fraction": args.min_visible_fraction,
        "min_length_px": args.min_length_px,
        "min_position_visible_share": args.min_position_visible_share,
    }
    report = evaluate(
        args.flight,
        args.labels,
        model=args.model,
        rules=args.rules,
        matching=matching,
        thresholds=_overrides(args),
    )
    print(format_table(report))
    if args.out:
        out = Path(args.out)
        tmp = out.with_suffix(out.suffix + ".tmp")
        tmp.write_text(json.dumps(report, indent=1))
        tmp.replace(out)
    if args.record:
        parts = ["rams", "evaluate", "--model", args.model, "--flight", args.flight, "--labels", args.labels]
        parts += ["--radius-m", str(args.radius_m), "--min-visible-fraction", str(args.min_visible_fraction)]
        parts += ["--min-length-px", str(args.min_length_px)]
        parts += ["--min-position-visible-share", str(args.min_position_visible_share)]
        for name, value in _overrides(args).items():
            parts += [OVERRIDES[name], str(value)]
        command = " ".join(shlex.quote(p) for p in parts)
        metrics = {**report["metrics"], "submunition_every_size": report["submunition_every_size"],
                   "position_including_hidden": report["position_including_hidden"]}
        record_metrics(resolve_model_dir(args.model), args.record, Path(args.flight).name, metrics, command)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate", help="object- and hazard-level metrics on a labelled flight", description=__doc__
    )
    p.add_argument("--model", default=DEFAULT_MODEL, help="model name under models/ or a folder")
    p.add_argument("--flight", required=True, help="flight raster (as for rams survey)")
    p.add_argument("--labels", required=True, help="labels GeoPackage (rams synth layer names)")
    p.add_argument("--out", help="write the report as JSON here")
    p.add_argument("--rules", default="default", help="hazard rules profile name or YAML path")
    p.add_argument("--radius-m", type=float, default=0.3, help="submunition match radius (m)")
    p.add_argument("--min-visible-fraction", type=float, default=0.01,
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
        "--record", metavar="SECTION", help="also write the metrics into the model card under metrics.SECTION"
    )
    p.set_defaults(run=run)
