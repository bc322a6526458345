"""`rams hazards DETECTIONS.gpkg -o OUT.gpkg`: recompute hazard areas from existing detections.

Reads a survey output GeoPackage, rebuilds strike footprints and suspected hazard areas with
the given rules, and writes a new survey GeoPackage: the detections passed through unchanged,
the two hazard layers replaced, the rules recorded in the metadata table.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
from pathlib import Path

import geopandas as gpd
import pyogrio
from pyproj import CRS

from rams.errors import RamsError
from rams.export import empty_layer, write_geopackage
from rams.hazards import HazardRules, hazard_layers, load_rules
from rams.hazards.rules import rules_to_dict

log = logging.getLogger(__name__)

DETECTION_LAYERS = ("submunitions", "trenches", "positions")
INPUT_LAYERS = (*DETECTION_LAYERS, "coverage", "not_assessable")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hazards", help="recompute suspected hazard areas from detections")
    p.add_argument("detections", type=Path, help="survey output GeoPackage (rams survey)")
    p.add_argument("-o", "--output", type=Path, required=True, help="GeoPackage to write")
    p.add_argument(
        "--rules",
        type=Path,
        help="hazard rules YAML (default: built-in defaults, as configs/hazards/default.yaml)",
    )
    p.add_argument("--flight-id", help="flight id (default: from the input's metadata)")
    p.add_argument("--survey-date", help="survey date YYYY-MM-DD (default: from metadata)")
    p.add_argument("--model", help="detector model name (default: from metadata)")
    p.set_defaults(run=run)


def _read_layers(path: Path) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, str]]:
    """Detection layers (missing ones empty) and the metadata table of a survey GeoPackage."""
    if not path.is_file():
        raise RamsError(path, "no such file")
    try:
        present = {str(name) for name, _ in pyogrio.list_layers(path)}
        frames = {n: pyogrio.read_dataframe(path, layer=n) for n in INPUT_LAYERS if n in present}
        table = pyogrio.read_dataframe(path, layer="metadata") if "metadata" in present else None
    except pyogrio.errors.DataSourceError as err:
        raise RamsError(path, "not a GeoPackage GDAL can read") from err
    if not present.intersection(DETECTION_LAYERS):
        raise RamsError(
            path,
            f"not a rams detections GeoPackage: none of the layers {', '.join(DETECTION_LAYERS)}",
        )
    crs_set = {f.crs.to_wkt() for f in frames.values() if f.crs is not None}
    if len(crs_set) != 1:
        raise RamsError(path, f"detection layers need one CRS, found {len(crs_set) or 'none'}")
    crs = CRS.from_wkt(crs_set.pop())
    if not crs.is_projected:
        raise RamsError(path, f"detections must be in a projected CRS in metres, not {crs.name}")
    for name in INPUT_LAYERS:
        frames.setdefault(name, empty_layer(name, crs))
    for name in DETECTION_LAYERS:
        if "confidence" not in frames[name].columns:
            raise RamsError(path, f"layer {name!r} lacks the field 'confidence'")
    metadata: dict[str, str] = {}
    if table is not None and {"key", "value"} <= set(table.columns):
        metadata = {str(k): str(v) for k, v in zip(table["key"], table["value"], strict=True)}
    return frames, metadata


def _check_crs(path: Path, crs: CRS, rules: HazardRules, rules_path: Path | None) -> None:
    if rules.expected_crs is not None and not crs.equals(CRS.from_user_input(rules.expected_crs)):
        source = rules_path or "the rules"
        raise RamsError(
            path, f"detections are in {crs.name}; {source} expects {rules.expected_crs}"
        )


def _survey_date(path: Path, value: str) -> str:
    try:
        return datetime.date.fromisoformat(value).isoformat() if value else ""
    except ValueError:
        raise RamsError(path, f"survey date {value!r} is not YYYY-MM-DD") from None


def run(args: argparse.Namespace) -> int:
    src: Path = args.detections
    out: Path = args.output
    if out.resolve() == src.resolve():
        raise RamsError(out, "output would overwrite the detections it is computed from")
    rules = load_rules(args.rules) if args.rules else HazardRules()
    frames, metadata = _read_layers(src)
    crs = frames["submunitions"].crs
    _check_crs(src, CRS.from_user_input(crs), rules, args.rules)
    flight_id = args.flight_id or metadata.get("flight_id") or src.stem
    survey_date = _survey_date(src, args.survey_date or metadata.get("survey_date", ""))
    model = args.model or metadata.get("model", "")

    layers = {name: frames[name] for name in INPUT_LAYERS}
    layers.update(
        hazard_layers(frames, rules, flight_id=flight_id, survey_date=survey_date, model=model)
    )
    areas, footprints = layers["hazard_areas"], layers["strike_footprints"]
    metadata.pop("schema_version", None)  # the writer states the version it writes
    metadata.update(
        {
            "flight_id": flight_id,
            "survey_date": survey_date,
            "model": model,
            "hazard_rules": rules.name,
            "hazard_rules_config": json.dumps(rules_to_dict(rules), sort_keys=True),
            "hazards_source": src.name,
        }
    )
    write_geopackage(out, layers, metadata)
    counts = areas["hazard_type"].value_counts().to_dict()
    log.info(
        "%s: %d hazard areas (%s), %d strike footprints",
        out,
        len(areas),
        ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none",
        len(footprints),
    )
    return 0
