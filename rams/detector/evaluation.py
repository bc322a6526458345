"""Evaluate a detector on one labelled flight: predict, vectorise, match, report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rams.detector.data import load_labelled_flight
from rams.detector.detector import Detector
from rams.detector.metrics import summarise
from rams.detector.whole_flight import (
    DEFAULT_POSTPROCESS,
    predict_flight,
    score_detections,
    vectorise,
)

SWEEP_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
DEFAULT_MATCHING: dict[str, float] = {"match_radius_m": 0.3, "iou_threshold": 0.5,
                                      "trench_tolerance_m": 1.0, "min_visible_fraction": 0.01}


def evaluate_flight(detector: Detector, tif: str | Path, labels: str | Path,
                    matching: dict[str, float] | None = None,
                    postprocess: dict[str, float] | None = None) -> dict[str, Any]:
    """Object-level report (JSON-able) of ``detector`` on a flight against its labels GeoPackage.

    Post-processing defaults to the model card's; matching defaults to 0.3 m for submunitions,
    IoU 0.5 for positions and 1 m for trench centre lines.
    """
    match = {**DEFAULT_MATCHING, **(matching or {})}
    pp = {**DEFAULT_POSTPROCESS, **detector.card.get("postprocess", {}), **(postprocess or {})}
    flight = load_labelled_flight(tif, labels)
    t0 = time.perf_counter()
    prob = predict_flight(detector.predict, flight.image, int(detector.card["tile_px"]),
                          int(detector.card["overlap_px"]))
    seconds = time.perf_counter() - t0
    det = vectorise(prob, flight.transform, flight.crs, {**pp, "peak_threshold": 0.05})
    area_ha = flight.shape[0] * flight.shape[1] * flight.gsd_m**2 / 1e4
    subs = det["submunitions"]
    chosen = dict(det, submunitions=subs[subs.confidence >= pp["peak_threshold"]])
    metrics = summarise(score_detections(chosen, flight.labels, area_ha, match))
    sweep = []
    for thr in SWEEP_THRESHOLDS:
        d = dict(det, submunitions=subs[subs.confidence >= thr])
        s = summarise(score_detections(d, flight.labels, area_ha, match))["submunition"]
        sweep.append({"threshold": thr, **{k: s[k] for k in ("precision", "recall", "f1")}})
    return {
        "model": detector.card["name"], "model_sha256": detector.card["sha256"],
        "flight": Path(tif).name, "labels": Path(labels).name, "gsd_m": flight.gsd_m,
        "size_px": list(flight.shape), "area_ha": area_ha, "predict_seconds": seconds,
        "device": str(detector.device), "matching": match, "postprocess": pp,
        "metrics": metrics, "submunition_threshold_sweep": sweep,
    }


def format_table(report: dict[str, Any]) -> str:
    """A plain-text table of a report's per-class precision / recall / F1."""
    lines = [f"{report['flight']}  gsd {report['gsd_m']:.3f} m  area {report['area_ha']:.2f} ha"
             f"  model {report['model']}",
             f"{'class':<12} {'precision':>9} {'recall':>7} {'f1':>6}  details"]
    for cls, m in report["metrics"].items():
        if cls == "trench":
            extra = (f"true {m['true_length_m']:.0f} m, predicted {m['pred_length_m']:.0f} m "
                     f"(tolerance {report['matching']['trench_tolerance_m']} m)")
        else:
            extra = f"tp {m['tp']} fp {m['fp']} fn {m['fn']}"
        if cls == "submunition":
            extra += (f", {m['fp_per_ha']:.2f} fp/ha, {m['distractor_fp']} on distractors, "
                      f"radius {report['matching']['match_radius_m']} m")
        lines.append(f"{cls:<12} {m['precision']:>9.3f} {m['recall']:>7.3f} "
                     f"{m['f1']:>6.3f}  {extra}")
    return "\n".join(lines)
