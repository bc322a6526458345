"""Recompute hazard areas from existing detections (`rams hazards DETECTIONS.gpkg -o OUT.gpkg`).

Reads a survey output GeoPackage, rebuilds strike footprints and suspected hazard areas with
the given rules, and writes a new survey GeoPackage: the detections passed through unchanged,
the two hazard layers replaced, the rules recorded in the metadata table. The input's own
hazard areas are the ``previous`` areas of the new ones, so an area whose evidence mostly
persists (after a reviewer rejected a false detection, say) keeps its ``hazard_id``, and a split
or merge records the ids it replaces in ``supersedes`` (rule in :mod:`rams.hazards.ids`).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import geopandas as gpd
import pyogrio
from pyproj import CRS

from rams.config import iso_date
from rams.errors import RamsError, refuse_existing
from rams.export import empty_layer, write_geopackage
from rams.hazards import HazardRules, hazard_layers, load_rules
from rams.hazards.rules import rules_to_dict

log = logging.getLogger(__name__)

DETECTION_LAYERS = ("submunitions", "trenches", "positions")
INPUT_LAYERS = (*DETECTION_LAYERS, "coverage", "not_assessable")
PREVIOUS_LAYER = "hazard_areas"


def read_survey(path: Path) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, str]]:
    """Detection layers (missing ones empty, each indexed by its GeoPackage fid), the earlier
    ``hazard_areas`` and the metadata table of a survey GeoPackage; `RamsError` for a file that
    is none."""
    if not path.is_file():
        raise RamsError(path, "no such file")
    try:
        present = {str(name) for name, _ in pyogrio.list_layers(path)}
        frames = {n: pyogrio.read_dataframe(path, layer=n, fid_as_index=True)
                  for n in (*INPUT_LAYERS, PREVIOUS_LAYER) if n in present}
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
    for name in (*INPUT_LAYERS, PREVIOUS_LAYER):
        frames.setdefault(name, empty_layer(name, crs))
    if not {"hazard_id", "hazard_type"} <= set(frames[PREVIOUS_LAYER].columns):
        raise RamsError(path, f"layer {PREVIOUS_LAYER!r} lacks the fields 'hazard_id' and 'hazard_type'")
    for name in DETECTION_LAYERS:
        if "confidence" not in frames[name].columns:
            raise RamsError(path, f"layer {name!r} lacks the field 'confidence'")
    metadata: dict[str, str] = {}
    if table is not None and {"key", "value"} <= set(table.columns):
        metadata = {str(k): str(v) for k, v in zip(table["key"], table["value"], strict=True)}
    return frames, metadata


def with_fids(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` with its index as the ``fid`` field, which the GeoPackage writer keeps as the
    feature id: a rewritten layer keeps the ids that reviews (rams.review) refer to."""
    return frame.assign(fid=frame.index.to_numpy(dtype="int64"))


def _check_crs(path: Path, crs: CRS, rules: HazardRules, rules_path: Path | None) -> None:
    if rules.expected_crs is not None and not crs.equals(CRS.from_user_input(rules.expected_crs)):
        source = rules_path or "the rules"
        raise RamsError(
            path, f"detections are in {crs.name}; {source} expects {rules.expected_crs}"
        )


def hazards(
    detections: str | os.PathLike,
    out: str | os.PathLike,
    *,
    rules: str | os.PathLike | None = None,
    flight_id: str | None = None,
    survey_date: str | None = None,
    model: str | None = None,
    overwrite: bool = False,
) -> dict[str, int]:
    """Recompute the hazard layers of a survey GeoPackage ``detections`` into ``out``.

    ``rules`` is a hazard rules YAML (default: the built-in rules); ``flight_id``, ``survey_date``
    (YYYY-MM-DD) and ``model`` (the name recorded for the detections' model) default to the
    input's metadata. An existing ``out`` is refused with a `RamsError` unless ``overwrite``, and
    ``out`` may never be ``detections`` itself. Returns the count of each hazard type and of
    strike footprints (``"strike_footprints"``).
    """
    src, out = Path(detections), Path(out)
    rules_path = Path(rules) if rules is not None else None
    if out.resolve() == src.resolve():
        raise RamsError(out, "output would overwrite the detections it is computed from")
    refuse_existing(out, overwrite=overwrite)
    hazard_rules = load_rules(rules_path) if rules_path else HazardRules()
    frames, metadata = read_survey(src)
    crs = frames["submunitions"].crs
    _check_crs(src, CRS.from_user_input(crs), hazard_rules, rules_path)
    flight_id = flight_id or metadata.get("flight_id") or src.stem
    survey_date = iso_date(src, survey_date or metadata.get("survey_date", ""))
    model = model or metadata.get("model", "")

    layers = {name: with_fids(frames[name]) for name in INPUT_LAYERS}
    layers.update(
        hazard_layers(frames, hazard_rules, flight_id=flight_id, survey_date=survey_date, model=model,
                      previous=frames[PREVIOUS_LAYER])
    )
    areas, footprints = layers["hazard_areas"], layers["strike_footprints"]
    metadata.pop("schema_version", None)  # the writer states the version it writes
    metadata.update(
        {
            "flight_id": flight_id,
            "survey_date": survey_date,
            "model": model,
            "hazard_rules": hazard_rules.name,
            "hazard_rules_config": json.dumps(rules_to_dict(hazard_rules), sort_keys=True),
            "hazards_source": src.name,
        }
    )
    write_geopackage(out, layers, metadata)
    counts = {str(k): int(v) for k, v in sorted(areas["hazard_type"].value_counts().to_dict().items())}
    log.info(
        "%s: %d hazard areas (%s), %d strike footprints",
        out,
        len(areas),
        ", ".join(f"{k} {v}" for k, v in counts.items()) or "none",
        len(footprints),
    )
    return {**counts, "strike_footprints": len(footprints)}
