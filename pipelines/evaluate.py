"""A detector measured on labelled flights (`rams evaluate --model M --flight F.tif [G.tif ...]`).

Each flight is surveyed exactly as `rams survey` surveys it (same tiling, stitching,
vectorization, thresholds and hazard stage), then scored against its labels in metres:
object-level detector metrics and hazard-level metrics (coverage, tightness, disaggregation).
With several flights the detector metrics are also pooled: counts summed over the flights,
with a 95 % interval for each pooled precision, recall and F1 from a bootstrap over the flights
(how far they would move with another draw of as many flights like these).
"""

from __future__ import annotations

import shlex
import tempfile
from collections.abc import Callable
from dataclasses import replace
from functools import reduce
from pathlib import Path

import pyogrio

from rams.detector.calibration import reliability_from_sums
from rams.detector.card import record_metrics, resolve_model_dir
from rams.errors import RamsError, refuse_existing
from rams.evaluation.hazards import fragmentation_metrics, hazard_metrics
from rams.evaluation.metrics import (
    EARTHWORK_MARGIN_M,
    EVALUATION_DEFAULTS,
    add_counts,
    bootstrap_intervals,
    confidence_sums,
    counts_by_ground,
    earthwork_outlines,
    precision_recall_f1,
    recall_by_size_px,
    recall_by_type,
    recall_by_visible_fraction,
    score_detections,
    summarise,
)
from rams.hazards import load_rules
from rams.outputs import write_json
from rams.pipelines.survey import DEFAULT_MODEL, NETWORK_KEYS, survey
from rams.resources import hazard_rules_path
from rams.settings import SurveySettings
from rams.synthetic.flight import labels_path
from rams.training.data import read_labels

#: Submunitions are 5-40 px objects at the survey GSD; shorter items are below what RGB imagery at
#: that GSD resolves (an 8 cm M77 is under 3 px at 3 cm) and are reported apart.
MIN_LENGTH_PX = 5.0
SCORED_LAYERS = ("submunitions", "trenches", "positions", "hazard_areas", "strike_footprints", "coverage")


def evaluate(
    flight: str | Path,
    labels: str | Path,
    *,
    model: str | Path = DEFAULT_MODEL,
    rules: str = "default",
    matching: dict[str, float] | None = None,
    thresholds: dict[str, float] | None = None,
) -> dict:
    """Survey ``flight`` with ``model`` exactly as :func:`rams.survey` does and score the output
    against the ``labels`` GeoPackage (layers in the flight's CRS; see the training guide).

    Objects are matched in metres: ``matching`` overrides
    :data:`~rams.evaluation.metrics.EVALUATION_DEFAULTS` (``match_radius_m`` for submunitions,
    ``iou_threshold`` for positions, ``trench_tolerance_m`` for trench lines, ``min_length_px``
    and ``min_visible_fraction`` for the items scored). ``thresholds`` overrides the cards'
    detection settings (``DetectionSettings`` field names, e.g. ``submunition_threshold``,
    ``position_threshold``, ``position_min_area_m2``), as when calibrating them. Returns the
    report: per-class counts, precision, recall and F1, the networks behind them, hazard metrics.
    """
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
        **_networks(summary),
        "flight": Path(flight).name,
        "labels": Path(labels).name,
        "gsd_m": summary["gsd_m"],
        "area_ha": area_ha,
        "survey_seconds": summary["seconds"],
        "matching": match,
        "metrics": summarise(score_detections(found, truth, area_ha, match, gsd)),
        "submunition_every_size": every["submunition"],
        "position_including_hidden": every["position"],
        "submunition_by_visible_fraction": _with_recall(recall_by_visible_fraction(
            found["submunitions"], truth["submunitions"], match["match_radius_m"],
            match["min_visible_fraction"], match["min_length_px"] * gsd)),
        "submunition_by_ground": _with_recall(counts_by_ground(
            found["submunitions"], truth["submunitions"], earthwork_outlines(truth), match["match_radius_m"],
            match["min_visible_fraction"], match["min_length_px"] * gsd)),
        "submunition_by_type": _with_recall(recall_by_type(
            found["submunitions"], truth["submunitions"], match["match_radius_m"], match["min_visible_fraction"],
            match["min_length_px"] * gsd)),
        "submunition_by_size_px": _with_recall(recall_by_size_px(
            found["submunitions"], truth["submunitions"], gsd, match["match_radius_m"],
            match["min_visible_fraction"])),
        **_calibration(confidence_sums(found["submunitions"], truth["submunitions"], match["match_radius_m"],
                                       match["min_visible_fraction"], match["min_length_px"] * gsd)),
        "hazards": {
            **hazard_metrics(found["hazard_areas"], truth, load_rules(hazard_rules_path(rules))),
            **fragmentation_metrics(found["strike_footprints"], found["trenches"], truth,
                                    match["trench_tolerance_m"]),
        },
    }


def _with_recall(bands: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Each band's submunition counts with its recall, and its precision where it counts false
    positives (1.0 for a band with nothing in it)."""
    out = {}
    for name, c in bands.items():
        precision, recall, _ = precision_recall_f1({"fp": 0, **c}, "submunition")
        out[name] = {**c, "recall": float(recall), **({"precision": float(precision)} if "fp" in c else {})}
    return out


def _calibration(sums: dict[str, dict[str, float]]) -> dict:
    """The report's confidence sections: the bin sums (which add up across flights) and the
    reliability table with the expected calibration error they give."""
    rows, ece = reliability_from_sums(sums)
    return {"submunition_confidence_bins": sums,
            "submunition_calibration": {"expected_calibration_error": round(ece, 4), "reliability": rows}}


#: Report sections of submunition counts split by the items' kind of ground, type and size in
#: flight pixels (bands that add up).
BAND_SECTIONS = ("submunition_by_visible_fraction", "submunition_by_ground", "submunition_by_type",
                 "submunition_by_size_px")


#: Report sections of per-class counts that add up across flights.
POOLED_SECTIONS = ("submunition_every_size", "position_including_hidden")
#: Hazard metrics pooled as the worst flight's: shares that should be 1 (lowest), tightness and
#: pieces per true strike or trench (highest).
WORST_HAZARDS = {"submunition_coverage": min, "trench_length_coverage": min, "position_coverage": min,
                 "tightness": max, "footprints_per_true_strike": max, "strike_items_in_own_footprint": min,
                 "trench_pieces_per_true_trench": max}
_RATIOS = ("precision", "recall", "f1", "fp_per_ha")


def _counts(metrics: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    return {cls: {k: v for k, v in m.items() if k not in _RATIOS} for cls, m in metrics.items()}


#: Draws of the bootstrap over flights behind a pooled report's 95 % intervals.
BOOTSTRAP_DRAWS = 2000


def pool(reports: list[dict]) -> dict:
    """One report for several flights: counts and lengths summed, then precision / recall / F1 (as
    the detector's bar is set, pooled over held-out flights) with their 95 % intervals over the
    flights (:func:`bootstrap_intervals`); hazard shares as the worst flight's."""
    def summed(get) -> dict[str, dict[str, float]]:
        total = _counts(get(reports[0]))
        for r in reports[1:]:
            total = add_counts(total, _counts(get(r)))
        return summarise(total)

    extra = summed(lambda r: {name: r[name] for name in POOLED_SECTIONS})
    bands: dict[str, dict[str, dict[str, float]]] = {section: {} for section in BAND_SECTIONS}
    for r in reports:
        for section in BAND_SECTIONS:
            found = _counts(r.get(section, {}))
            bands[section] = add_counts(bands[section], found)
    hazards = {}
    for key, worst in WORST_HAZARDS.items():
        values = [r["hazards"][key] for r in reports if r["hazards"].get(key) is not None]
        hazards[f"{'lowest' if worst is min else 'highest'} {key}"] = worst(values) if values else None
    gsds = [r["gsd_m"] for r in reports]
    return {
        **_networks(reports[0]),
        "flight": f"{len(reports)} flights pooled",
        "flights": [r["flight"] for r in reports],
        "gsd_m": [min(gsds), max(gsds)],
        "area_ha": sum(r["area_ha"] for r in reports),
        "matching": reports[0]["matching"],
        "metrics": summed(lambda r: r["metrics"]),
        "intervals": bootstrap_intervals([r["metrics"] for r in reports], BOOTSTRAP_DRAWS),
        **extra,
        **{section: _with_recall(b) for section, b in bands.items()},
        **_calibration(reduce(add_counts, [r.get("submunition_confidence_bins", {}) for r in reports], {})),
        "hazards": hazards,
    }


def describe_networks(report: dict, sha_chars: int = 0) -> str:
    """The networks a report was made with, as ``rams-det-v2 [verifier rams-ver-v10, context
    rams-ctx-v1]``; with ``sha_chars``, each name followed by that many characters of its weights'
    sha256 in parentheses."""
    def named(kind: str) -> str:
        sha = str(report.get(f"{kind}_sha256", ""))[:sha_chars]
        return f"{report[kind]} ({sha})" if sha else str(report[kind])

    others = [f"{label} {named(kind)}" for label, kind in (("verifier", "verifier_model"), ("context", "context_model"))
              if report.get(kind)]
    return named("model") + (f" [{', '.join(others)}]" if others else "")


def _distractor_kinds(m: dict[str, float]) -> str:
    """The false positives on distractors by kind, commonest first: ``" (bottle 3, can 1)"``."""
    kinds = sorted(((n, k.removeprefix("fp_on_")) for k, n in m.items() if k.startswith("fp_on_") and n),
                   key=lambda nk: (-nk[0], nk[1]))
    return f" ({', '.join(f'{k} {n:.0f}' for n, k in kinds)})" if kinds else ""


def _interval_line(ci: dict[str, float], flights: int) -> str:
    """A pooled class's 95 % intervals, as a line under its row of the table."""
    shown = "  ".join(f"{name} {ci[f'{k}_low']:.3f}-{ci[f'{k}_high']:.3f}"
                      for name, k in (("P", "precision"), ("R", "recall"), ("F1", "f1")))
    return f"{'':<12} 95% range: {shown} (bootstrap over the {flights} flights)"


def format_table(report: dict) -> str:
    """Per-class precision / recall / F1, then the hazard-level metrics, as plain text."""
    match = report["matching"]
    gsd = report["gsd_m"]
    gsd_shown = f"{gsd[0]:.3f}-{gsd[1]:.3f}" if isinstance(gsd, list) else f"{gsd:.3f}"
    lines = [
        f"{report['flight']}  gsd {gsd_shown} m  area {report['area_ha']:.2f} ha  model {describe_networks(report)}",
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
            extra += _distractor_kinds(m)
            extra += f", radius {match['match_radius_m']} m"
            if match.get("min_length_px"):
                extra += f", items >= {match['min_length_px']:g} px long"
        if cls == "position" and match.get("min_position_visible_share"):
            extra += (f", {m['ignored_truth']:.0f} more than {1 - match['min_position_visible_share']:.0%} "
                      "under vegetation not scored")
        lines.append(f"{cls:<12} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f}  {extra}")
        if cls in report.get("intervals", {}):
            lines.append(_interval_line(report["intervals"][cls], len(report["flights"])))
    if "submunition_every_size" in report:
        m = report["submunition_every_size"]
        lines.append(f"{'(any size)':<12} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f}  "
                     f"tp {m['tp']:.0f} fp {m['fp']:.0f} fn {m['fn']:.0f}, every submunition however small")
    if "position_including_hidden" in report:
        m = report["position_including_hidden"]
        lines.append(f"{'(+ hidden)':<12} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f}  "
                     f"tp {m['tp']:.0f} fp {m['fp']:.0f} fn {m['fn']:.0f}, every position, under trees too")
    bands = {k: c for k, c in report.get("submunition_by_visible_fraction", {}).items() if c["tp"] + c["fn"]}
    if bands:
        found = ", ".join(f"{name.replace('_', ' ').replace('pc', '%')} {c['tp']:.0f} of {c['tp'] + c['fn']:.0f}"
                          for name, c in bands.items())
        lines.append(f"{'(buried)':<12} submunitions found by share of length above ground: {found}")
    ground = report.get("submunition_by_ground", {})
    if ground:
        shown = ", ".join(f"{name.replace('_', ' ')} {c['tp']:.0f} of {c['tp'] + c['fn']:.0f} found, "
                          f"{c['fp']:.0f} false" for name, c in ground.items())
        lines.append(f"{'(ground)':<12} submunitions in trenches and positions (or within "
                     f"{EARTHWORK_MARGIN_M:g} m of them) and on open ground: {shown}")
    for label, section, what in (("(size)", "submunition_by_size_px", "by length in flight pixels"),
                                 ("(type)", "submunition_by_type", "by type")):
        bands = {k: c for k, c in report.get(section, {}).items() if c["tp"] + c["fn"]}
        if bands:
            found = ", ".join(f"{name.replace('_', ' ')} {c['tp']:.0f} of {c['tp'] + c['fn']:.0f}"
                              for name, c in bands.items())
            lines.append(f"{label:<12} submunitions found {what}: {found}")
    calibration = report.get("submunition_calibration")
    if calibration and calibration["reliability"]:
        shown = ", ".join(f"{r['bin']} {r['true_share']:.2f} of {r['detections']}" for r in calibration["reliability"])
        ece = calibration["expected_calibration_error"]
        lines.append(f"{'(confidence)':<12} expected calibration error {ece:.3f}; true share by confidence: {shown}")
    lines.append("hazard areas:")
    for key, value in report["hazards"].items():
        shown = "n/a" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))
        lines.append(f"  {key:<30} {shown}")
    return "\n".join(lines)


#: Detection settings (``DetectionSettings`` fields) the command line may override, and their options.
OVERRIDES = {"submunition_threshold": "--peak-threshold", "position_threshold": "--position-threshold",
             "trench_threshold": "--trench-threshold", "position_min_area_m2": "--position-min-area"}
#: Matching rules (``EVALUATION_DEFAULTS`` keys) the command line sets, and their options.
MATCHING_OPTIONS = {"match_radius_m": "--radius-m", "min_visible_fraction": "--min-visible-fraction",
                    "min_length_px": "--min-length-px", "min_position_visible_share": "--min-position-visible-share"}


def labels_for(flights: list[str], labels: list[str] | None = None) -> list[str]:
    """One labels GeoPackage per flight: as given, else ``F.labels.gpkg`` beside each ``F.tif``."""
    if not labels:
        return [str(labels_path(f)) for f in flights]
    if len(labels) != len(flights):
        raise RamsError("--labels", f"give one labels GeoPackage per flight ({len(flights)} flights, "
                                    f"{len(labels)} labels), or none to read F.labels.gpkg beside each")
    return [str(label) for label in labels]


def _command(model: str, flights: list[str], labels: list[str], matching: dict[str, float],
             thresholds: dict[str, float]) -> str:
    """The command line that reproduces an evaluation of ``flights``."""
    parts = ["rams", "evaluate", "--model", model, "--flight", *flights, "--labels", *labels]
    for name, option in MATCHING_OPTIONS.items():
        parts += [option, str(matching[name])]
    for name, value in thresholds.items():
        parts += [OVERRIDES[name], str(value)]
    return " ".join(shlex.quote(p) for p in parts)


def _networks(report: dict) -> dict[str, str]:
    """The networks behind a report (``NETWORK_KEYS``), as a card's record keeps them."""
    return {key: report[key] for key in NETWORK_KEYS if key in report}


def _recorded(report: dict, pooled: bool = False) -> dict[str, dict[str, float]]:
    """What a card records of a report; the pooled record also gives the items found by how much
    of them is above ground and by the ground they lie on, and each class's 95 % intervals."""
    bands = {f"submunition_{name}": c for section in BAND_SECTIONS for name, c in report.get(section, {}).items()}
    sections = {name: report[name] for name in POOLED_SECTIONS}
    intervals = {f"{cls}_interval95": ci for cls, ci in report.get("intervals", {}).items()}
    return {**report["metrics"], **sections, **(bands if pooled else {}), **intervals}


def evaluate_flights(
    flights: list[str | Path],
    labels: list[str | Path] | None = None,
    *,
    model: str | Path = DEFAULT_MODEL,
    rules: str = "default",
    matching: dict[str, float] | None = None,
    thresholds: dict[str, float] | None = None,
    out: str | Path | None = None,
    record: str | None = None,
    overwrite: bool = False,
    on_report: Callable[[dict], None] | None = None,
) -> dict:
    """:func:`evaluate` each flight against its labels (default: ``F.labels.gpkg`` beside each
    ``F.tif``) and, with several flights, :func:`pool` their reports.

    Returns one flight's report, or ``{"flights": [...], "pooled": {...}}``; written as JSON to
    ``out`` when given (an existing ``out`` is refused with a `RamsError` before any flight is
    surveyed, unless ``overwrite``). ``record`` also writes the metrics into the model's ``metrics.yaml`` under
    section ``<record>``, with the command that reproduces them. ``on_report`` is called with each
    report as it is made (the pooled one last), as `rams evaluate` prints them.
    """
    flights = [str(f) for f in flights]
    labels = labels_for(flights, [str(label) for label in labels] if labels else None)
    refuse_existing(out, overwrite=overwrite)
    thresholds = thresholds or {}
    reports = []
    for flight, gpkg in zip(flights, labels, strict=True):
        reports.append(evaluate(flight, gpkg, model=model, rules=rules, matching=matching, thresholds=thresholds))
        if on_report is not None:
            on_report(reports[-1])
    pooled = pool(reports) if len(reports) > 1 else None
    if pooled is not None and on_report is not None:
        on_report(pooled)
    doc = {"flights": reports, "pooled": pooled} if pooled else reports[0]
    if out is not None:
        write_json(out, doc)
    if record:
        match = {**EVALUATION_DEFAULTS, **(matching or {})}
        model_dir = resolve_model_dir(model)
        for flight, gpkg, report in zip(flights, labels, reports, strict=True):
            record_metrics(model_dir, record, Path(flight).name, _recorded(report),
                           _command(str(model), [flight], [gpkg], match, thresholds), _networks(report))
        if pooled:
            record_metrics(model_dir, record, "pooled", _recorded(pooled, pooled=True),
                           _command(str(model), flights, labels, match, thresholds), _networks(pooled))
    return doc
