"""Object-level metrics on hand-built cases with known answers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, Point, box

from rams.evaluation.metrics import (
    add_counts,
    bootstrap_intervals,
    confidence_sums,
    counts_by_ground,
    hidden_share,
    match_points,
    position_counts,
    recall_by_size_px,
    recall_by_type,
    recall_by_visible_fraction,
    submunition_counts,
    submunition_sweep,
    summarise,
    trench_counts,
)
from rams.pipelines.evaluate import format_table, pool

CRS = "EPSG:32638"


def _pts(xy, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=[Point(x, y) for x, y in xy], crs=CRS)


def test_match_points_greedy_by_confidence() -> None:
    truth = np.array([[0.0, 0.0], [10.0, 0.0]])
    pred = np.array([[0.2, 0.0], [0.1, 0.0], [10.5, 0.0]])
    # the more confident second prediction takes the truth; the first becomes unmatched
    assert match_points(pred, np.array([0.5, 0.9, 0.9]), truth, 0.3).tolist() == [-1, 0, -1]


def test_submunition_counts() -> None:
    truth = _pts([(0, 0), (5, 0), (10, 0), (20, 0)], visible_fraction=[1, 1, 1, 0.1])
    pred = _pts([(0.1, 0.1), (5.25, 0), (30, 30), (40, 40), (20, 0)],
                confidence=[0.9, 0.8, 0.7, 0.6, 0.5])
    stone = gpd.GeoDataFrame(geometry=[Point(40, 40).buffer(0.1)], crs=CRS)
    c = submunition_counts(pred, truth, 0.3, area_ha=2.0, distractors=stone,
                           min_visible_fraction=0.5)
    # (20,0) matches an ignored hidden item: neither tp nor fp; (10,0) is missed
    assert (c["tp"], c["fp"], c["fn"], c["distractor_fp"], c["ignored_truth"]) == (2, 2, 1, 1, 1)
    assert c["fp_on_distractor"] == 1  # a distractors layer without kinds
    s = summarise({"submunition": c})["submunition"]
    assert s["precision"] == pytest.approx(0.5)
    assert s["recall"] == pytest.approx(2 / 3)
    assert s["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert s["fp_per_ha"] == pytest.approx(1.0)


def test_submunition_sweep_equals_counting_each_threshold_apart() -> None:
    rng = np.random.default_rng(3)
    truth = _pts(rng.uniform(0, 6, (12, 2)), visible_fraction=rng.choice([0.0, 1.0], 12),
                 length_m=rng.uniform(0.05, 0.3, 12))
    pred = _pts(rng.uniform(0, 6, (40, 2)), confidence=rng.uniform(0, 1, 40))
    thresholds = [0.0, 0.2, 0.5, 0.8, 1.1]
    sweep = submunition_sweep(pred, truth, thresholds, 0.5, 1.0, 0.5, 0.1)
    for thr, c in zip(thresholds, sweep, strict=True):
        alone = submunition_counts(pred[pred.confidence >= thr], truth, 0.5, 1.0, None, 0.5, 0.1)
        assert {k: c[k] for k in ("tp", "fp", "fn", "ignored_truth")} == \
            {k: alone[k] for k in ("tp", "fp", "fn", "ignored_truth")}
    assert sweep[0]["tp"] > 0 and sweep[-1]["tp"] == 0


def test_items_below_the_resolution_are_ignored_not_missed() -> None:
    truth = _pts([(0, 0), (5, 0), (10, 0)], length_m=[0.26, 0.08, 0.06], visible_fraction=[1, 1, 1])
    pred = _pts([(0, 0), (5, 0)], confidence=[0.9, 0.8])
    c = submunition_counts(pred, truth, 0.3, min_length_m=0.15)
    # the 8 cm item found is not a tp, the 6 cm one missed is not an fn
    assert (c["tp"], c["fp"], c["fn"], c["ignored_truth"]) == (1, 0, 0, 2)
    every = submunition_counts(pred, truth, 0.3)
    assert (every["tp"], every["fp"], every["fn"]) == (2, 0, 1)


def test_position_counts_iou() -> None:
    truth = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10)], crs=CRS)
    pred = gpd.GeoDataFrame(geometry=[box(1, 0, 11, 10),  # IoU 9/11 -> match
                                      box(20, 0, 30, 4),  # IoU 0.4 -> no match
                                      box(50, 50, 52, 52)], crs=CRS)
    assert position_counts(pred, truth, 0.5) == {"tp": 1, "fp": 2, "fn": 1, "ignored_truth": 0}


def test_positions_mostly_under_vegetation_are_not_scored() -> None:
    truth = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10), box(40, 0, 50, 10)], crs=CRS)
    # canopy over 60 % of the second position and 40 % of the third
    veg = gpd.GeoDataFrame(geometry=[box(20, 0, 26, 10), box(40, 0, 44, 10)], crs=CRS)
    assert hidden_share(truth, veg) == pytest.approx([0.0, 0.6, 0.4])
    found_hidden = gpd.GeoDataFrame(geometry=[box(0, 0, 10, 10), box(20, 0, 30, 10)], crs=CRS)
    # the hidden one found: neither a true nor a false positive; the 40 % one missed: scored
    assert position_counts(found_hidden, truth, 0.5, veg, 0.5) == {"tp": 1, "fp": 0, "fn": 1, "ignored_truth": 1}
    # the hidden one missed: no false negative
    assert position_counts(found_hidden.iloc[:1], truth, 0.5, veg, 0.5)["fn"] == 1
    # a stray outline beside a hidden position is still false
    stray = gpd.GeoDataFrame(geometry=[box(26, 0, 30, 4)], crs=CRS)
    assert position_counts(stray, truth, 0.5, veg, 0.5) == {"tp": 0, "fp": 1, "fn": 2, "ignored_truth": 1}
    # without the rule every position counts
    assert position_counts(found_hidden, truth, 0.5, veg, 0.0) == {"tp": 2, "fp": 0, "fn": 1, "ignored_truth": 0}


def test_trench_counts_by_length() -> None:
    truth = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (100, 0)])], crs=CRS)
    pred = gpd.GeoDataFrame(geometry=[LineString([(50, 0.5), (150, 0.5)])], crs=CRS)
    c = trench_counts(pred, truth, 1.0)
    assert c["true_length_m"] == pytest.approx(100)
    assert c["true_length_matched_m"] == pytest.approx(50, abs=1.01)  # 49-51 m within 1 m
    assert c["pred_length_matched_m"] == pytest.approx(51, abs=0.2)
    s = summarise({"trench": c})["trench"]
    assert s["recall"] == pytest.approx(0.5, abs=0.011)
    assert s["precision"] == pytest.approx(0.51, abs=0.002)


def test_empty_is_perfect_and_counts_add() -> None:
    empty = gpd.GeoDataFrame(geometry=[], crs=CRS)
    c = {"position": position_counts(empty, empty), "trench": trench_counts(empty, empty)}
    s = summarise(c)
    assert s["position"]["f1"] == 1.0 and s["trench"]["f1"] == 1.0
    total = add_counts(c, c)
    assert total["position"] == {"tp": 0, "fp": 0, "fn": 0, "ignored_truth": 0}


def test_false_positives_by_distractor_kind() -> None:
    """Each false positive near distractors counts once, for the nearest one's kind; one farther
    than the radius from every distractor counts for none."""
    distractors = gpd.GeoDataFrame(
        {"kind": ["bottle", "can", "bottle"]},
        geometry=[Point(0, 0).buffer(0.1), Point(0.5, 0).buffer(0.1), Point(10, 0).buffer(0.1)], crs=CRS)
    # (0.3, 0) is 0.2 m from the first bottle and 0.1 m from the can; (10.35, 0) is 0.25 m from the
    # last bottle; (20, 0) is far from everything
    pred = _pts([(0.3, 0), (10.35, 0), (20, 0)], confidence=[0.9, 0.8, 0.7])
    c = submunition_counts(pred, _pts([]), 0.3, distractors=distractors)  # a flight without items
    assert (c["fp"], c["distractor_fp"], c["fp_on_bottle"], c["fp_on_can"]) == (3, 2, 1, 1)
    pooled = add_counts({"submunition": c}, {"submunition": {**c, "fp_on_bottle": 0, "fp_on_stone": 2}})
    assert pooled["submunition"]["fp_on_can"] == 2 and pooled["submunition"]["fp_on_stone"] == 2


def test_evaluation_table_names_the_distractors_taken_for_submunitions() -> None:
    sub = summarise({"submunition": {"tp": 3, "fp": 4, "fn": 1, "distractor_fp": 3, "area_ha": 1.0,
                                     "ignored_truth": 0, "fp_on_can": 1, "fp_on_bottle": 2, "fp_on_stone": 0}})
    report = {"flight": "f.tif", "gsd_m": 0.03, "area_ha": 1.0, "model": "m", "hazards": {},
              "matching": {"match_radius_m": 0.3}, "metrics": sub}
    assert "3 on distractors (bottle 2, can 1), radius" in format_table(report)


def test_recall_by_visible_fraction_uses_the_scored_matching() -> None:
    """Items found and missed per band of the share of their length above ground; items the
    score ignores (hidden, too short) are in no band."""
    truth = _pts([(0, 0), (5, 0), (10, 0), (15, 0), (20, 0), (25, 0)],
                 visible_fraction=[0.3, 0.4, 0.7, 0.95, 1.0, 0.0], length_m=[0.26, 0.26, 0.26, 0.26, 0.05, 0.26])
    # (5.1, 0) and (5.2, 0) both reach the item at (5, 0): only the more confident one is a match
    pred = _pts([(0.1, 0), (5.1, 0), (5.2, 0), (15, 0.1), (20, 0), (25, 0)],
                confidence=[0.9, 0.8, 0.95, 0.7, 0.9, 0.9])
    bands = recall_by_visible_fraction(pred, truth, 0.3, min_visible_fraction=0.01, min_length_m=0.15)
    assert bands == {"under_half_visible": {"tp": 2, "fn": 0}, "half_to_90pc_visible": {"tp": 0, "fn": 1},
                     "over_90pc_visible": {"tp": 1, "fn": 0}}
    assert recall_by_visible_fraction(pred, _pts([(0, 0)]), 0.3) == {}


def test_buried_items_are_pooled_and_shown() -> None:
    sub = summarise({"submunition": {"tp": 1, "fp": 0, "fn": 1, "distractor_fp": 0, "area_ha": 1.0,
                                     "ignored_truth": 0}})
    def report(tp_buried: int) -> dict:
        return {"flight": "f.tif", "gsd_m": 0.03, "area_ha": 1.0, "model": "m", "model_sha256": "x",
                "hazards": {}, "matching": {"match_radius_m": 0.3}, "metrics": sub,
                "submunition_every_size": sub["submunition"], "position_including_hidden": sub["submunition"],
                "submunition_by_visible_fraction": {"under_half_visible": {"tp": tp_buried, "fn": 1, "recall": 0.0},
                                                    "over_90pc_visible": {"tp": 1, "fn": 0, "recall": 1.0}}}
    pooled = pool([report(0), report(1)])
    assert pooled["submunition_by_visible_fraction"] == {
        "under_half_visible": {"tp": 1, "fn": 2, "recall": pytest.approx(1 / 3)},
        "over_90pc_visible": {"tp": 2, "fn": 0, "recall": 1.0}}
    assert "under half visible 1 of 3, over 90% visible 2 of 2" in format_table(pooled)


def test_counts_by_ground_splits_items_and_false_positives_at_the_earthworks() -> None:
    """Items inside a trench or a position, or within the margin of one, are in the earthworks;
    false positives are split by where they lie; ignored items are in neither split."""
    earthworks = np.array([box(0, -1, 10, 1), box(50, 50, 60, 60)])
    truth = _pts([(5, 0), (10.4, 0), (55, 55), (30, 0), (30, 20), (5, 0.5)],
                 visible_fraction=[1, 1, 1, 1, 1, 0.0])
    # found: (5, 0) in the trench and (30, 0) in the open; a false one in the trench's margin, two in the open
    pred = _pts([(5.1, 0), (30, 0.1), (10, 1.3), (40, 40), (41, 41)], confidence=[0.9] * 5)
    split = counts_by_ground(pred, truth, earthworks, 0.3, min_visible_fraction=0.01)
    assert split == {"in_earthworks": {"tp": 1, "fn": 2, "fp": 1}, "open_ground": {"tp": 1, "fn": 1, "fp": 2}}
    assert counts_by_ground(pred, truth, np.empty(0, object), 0.3) == {}


def test_ground_split_is_pooled_and_shown() -> None:
    sub = summarise({"submunition": {"tp": 1, "fp": 1, "fn": 1, "distractor_fp": 0, "area_ha": 1.0,
                                     "ignored_truth": 0}})
    report = {"flight": "f.tif", "gsd_m": 0.03, "area_ha": 1.0, "model": "m", "model_sha256": "x",
              "hazards": {}, "matching": {"match_radius_m": 0.3}, "metrics": sub,
              "submunition_every_size": sub["submunition"], "position_including_hidden": sub["submunition"],
              "submunition_by_visible_fraction": {},
              "submunition_by_ground": {"in_earthworks": {"tp": 0, "fn": 1, "fp": 0, "recall": 0.0, "precision": 1.0},
                                        "open_ground": {"tp": 1, "fn": 0, "fp": 1, "recall": 1.0, "precision": 0.5}}}
    pooled = pool([report, report])
    assert pooled["submunition_by_ground"] == {
        "in_earthworks": {"tp": 0, "fn": 2, "fp": 0, "recall": 0.0, "precision": 1.0},
        "open_ground": {"tp": 2, "fn": 0, "fp": 2, "recall": 1.0, "precision": 0.5}}
    assert "in earthworks 0 of 2 found, 0 false, open ground 2 of 2 found, 2 false" in format_table(pooled)


def test_bootstrap_intervals_span_what_other_draws_of_flights_would_give() -> None:
    """Flights alike give no spread; a flight all found and one all false span precision 0-1."""
    same = {"submunition": {"tp": 3, "fp": 1, "fn": 2},
            "trench": {"true_length_m": 10.0, "true_length_matched_m": 8.0, "pred_length_m": 5.0,
                       "pred_length_matched_m": 5.0}}
    ci = bootstrap_intervals([same] * 4, draws=200)
    sub = summarise(same)["submunition"]
    assert ci["submunition"]["precision_low"] == ci["submunition"]["precision_high"] == pytest.approx(0.75)
    assert ci["submunition"]["f1_low"] == pytest.approx(sub["f1"])
    assert ci["trench"] == pytest.approx({"precision_low": 1.0, "precision_high": 1.0, "recall_low": 0.8,
                                          "recall_high": 0.8, "f1_low": 8 / 9, "f1_high": 8 / 9})
    found, false = {"submunition": {"tp": 2, "fp": 0, "fn": 0}}, {"submunition": {"tp": 0, "fp": 2, "fn": 0}}
    ci = bootstrap_intervals([found, false], draws=400)["submunition"]
    # draws of two flights: both false (precision 0, no true item: recall 1), one of each, both found
    assert (ci["precision_low"], ci["precision_high"]) == (0.0, 1.0)
    assert (ci["recall_low"], ci["recall_high"]) == (1.0, 1.0)
    assert bootstrap_intervals([found]) == {}
    assert bootstrap_intervals([found, false], draws=400) == bootstrap_intervals([found, false], draws=400)


def test_pooled_report_gives_and_shows_the_intervals() -> None:
    def report(tp: int, fp: int) -> dict:
        sub = summarise({"submunition": {"tp": tp, "fp": fp, "fn": 1, "distractor_fp": 0, "area_ha": 1.0,
                                         "ignored_truth": 0}})
        return {"flight": "f.tif", "gsd_m": 0.03, "area_ha": 1.0, "model": "m", "model_sha256": "x",
                "hazards": {}, "matching": {"match_radius_m": 0.3}, "metrics": sub,
                "submunition_every_size": sub["submunition"], "position_including_hidden": sub["submunition"]}
    pooled = pool([report(4, 0), report(1, 3), report(3, 1)])
    ci = pooled["intervals"]["submunition"]
    assert ci["precision_low"] < pooled["metrics"]["submunition"]["precision"] < ci["precision_high"]
    assert f"95% range: P {ci['precision_low']:.3f}-{ci['precision_high']:.3f}" in format_table(pooled)
    assert "bootstrap over the 3 flights" in format_table(pooled)


def test_recall_by_size_and_type_and_the_confidence_of_counted_detections() -> None:
    """Items found and missed per band of length in flight pixels (every size, small ones apart)
    and per type; detections on ignored items count in no confidence bin."""
    truth = _pts([(0, 0), (5, 0), (10, 0), (15, 0), (20, 0)], length_m=[0.04, 0.12, 0.26, 0.26, 0.08],
                 visible_fraction=[1.0, 1.0, 1.0, 0.0, 1.0], munition_type=["M77", "PFM-1", "9N235", "9N235", "M77"])
    pred = _pts([(0, 0.1), (10, 0), (15, 0), (30, 0)], confidence=[0.95, 0.85, 0.5, 0.95])
    sizes = recall_by_size_px(pred, truth, gsd_m=0.01, radius_m=0.3, min_visible_fraction=0.01)
    assert sizes == {"under_5_px": {"tp": 1, "fn": 0}, "5_to_8_px": {"tp": 0, "fn": 0},
                     "8_to_16_px": {"tp": 0, "fn": 2}, "16_px_and_more": {"tp": 1, "fn": 0}}
    types = recall_by_type(pred, truth, 0.3, min_visible_fraction=0.01, min_length_m=0.05)
    assert types == {"9N235": {"tp": 1, "fn": 0}, "M77": {"tp": 0, "fn": 1}, "PFM-1": {"tp": 0, "fn": 1}}
    bins = confidence_sums(pred, truth, 0.3, min_visible_fraction=0.01, min_length_m=0.05)
    # counted: (10, 0) true at 0.85, (30, 0) false at 0.95; (0, 0) and (15, 0) are on ignored items
    assert bins["0.8-0.9"] == {"detections": 1, "confidence_sum": 0.85, "true": 1}
    assert bins["0.9-1.0"] == {"detections": 1, "confidence_sum": 0.95, "true": 0}
    assert sum(b["detections"] for b in bins.values()) == 2
    assert recall_by_type(pred, _pts([(0, 0)]), 0.3) == {} and recall_by_size_px(pred, _pts([(0, 0)]), 0.01) == {}


def test_size_type_and_calibration_are_pooled_and_shown() -> None:
    sub = summarise({"submunition": {"tp": 1, "fp": 1, "fn": 1, "distractor_fp": 0, "area_ha": 1.0,
                                     "ignored_truth": 0}})

    def report(true: int) -> dict:
        return {"flight": "f.tif", "gsd_m": 0.01, "area_ha": 1.0, "model": "m", "model_sha256": "x",
                "hazards": {}, "matching": {"match_radius_m": 0.3}, "metrics": sub,
                "submunition_every_size": sub["submunition"], "position_including_hidden": sub["submunition"],
                "submunition_by_size_px": {"8_to_16_px": {"tp": 1, "fn": 1, "recall": 0.5}},
                "submunition_by_type": {"PFM-1": {"tp": 1, "fn": 0, "recall": 1.0}},
                "submunition_confidence_bins": {"0.9-1.0": {"detections": 10, "confidence_sum": 9.5, "true": true}}}
    pooled = pool([report(9), report(10)])
    assert pooled["submunition_by_size_px"] == {"8_to_16_px": {"tp": 2, "fn": 2, "recall": 0.5}}
    assert pooled["submunition_calibration"] == {
        "expected_calibration_error": pytest.approx(0.0),
        "reliability": [{"bin": "0.9-1.0", "detections": 20, "mean_confidence": 0.95, "true_share": 0.95}]}
    table = format_table(pooled)
    assert "by length in flight pixels: 8 to 16 px 2 of 4" in table and "by type: PFM-1 2 of 2" in table
    assert "expected calibration error 0.000; true share by confidence: 0.9-1.0 0.95 of 20" in table
