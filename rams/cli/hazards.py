"""`rams hazards DETECTIONS.gpkg -o OUT.gpkg [--rules RULES.yaml]`: hazard areas from detections."""

from __future__ import annotations

import argparse
from pathlib import Path

from rams.cli.options import add_model, add_out


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``hazards`` sub-command."""
    p = sub.add_parser("hazards", help="recompute suspected hazard areas from detections")
    p.add_argument("detections", type=Path, help="survey output GeoPackage (rams survey)")
    add_out(p, "GeoPackage to write", required=True)
    p.add_argument(
        "--rules",
        type=Path,
        help="hazard rules YAML (default: built-in defaults, as configs/hazards/default.yaml)",
    )
    p.add_argument("--flight-id", help="flight id (default: from the input's metadata)")
    p.add_argument("--survey-date", help="survey date YYYY-MM-DD (default: from metadata)")
    add_model(p, "the model behind the detections, by name or folder, as the output records it "
                 "(default: from metadata)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rams.pipelines.hazards import hazards

    hazards(args.detections, args.out, rules=args.rules, flight_id=args.flight_id,
            survey_date=args.survey_date, model=_model_name(args.model), overwrite=args.overwrite)
    return 0


def _model_name(model: str | None) -> str | None:
    """The name of the model ``--model`` gives: its card's name for a model folder (whose own
    name may be any, such as a training run's ``model``), else the name as given."""
    if model is None or not (Path(model) / "card.yaml").is_file():
        return model
    from rams.detector.card import read_card

    return str(read_card(Path(model))["name"])
