"""Decisions in force, review order, and the records that follow them (pure functions)."""

from __future__ import annotations

import json

import numpy as np
from hazard_fixtures import not_assessable, positions, square, strike, submunitions, trenches

from rams.hazards import HazardRules, hazard_layers
from rams.hazards.rules import CmrRules
from rams.review.decisions import Decision, latest, utc_time
from rams.review.items import Item, ordered, review_items, thresholds
from rams.review.records import reviewed_layers


def _layers() -> dict:
    points = submunitions(strike((0, 0), 12, 60, 30, 0, seed=3))
    points.index = np.arange(1, len(points) + 1)
    layers = {"submunitions": points, "trenches": trenches([[(0, -200), (100, -200)]]),
              "positions": positions([square(300, 300, 10)]), "not_assessable": not_assessable([])}
    for name in ("trenches", "positions"):
        layers[name].index = [1]
    return layers


def test_the_latest_decision_is_in_force_whoever_made_it():
    a = Decision("submunitions", 1, "confirmed", "ana", utc_time("2025-05-01T10:00"))
    b = Decision("submunitions", 1, "rejected", "ben", utc_time("2025-05-01T11:00"))
    c = Decision("trenches", 1, "unsure", "ana", utc_time("2025-05-01T09:00"))
    assert latest([b, a, c]) == {("submunitions", 1): b, ("trenches", 1): c}
    assert utc_time("2025-05-01T12:00+02:00") == "2025-05-01T10:00:00.000000Z"


def test_review_order_puts_the_least_sure_first_or_goes_area_by_area():
    items = [Item("submunitions", 1, 0.99, 0, 0, "HA-b", "S1"), Item("submunitions", 2, 0.55, 0, 0, "", "S2"),
             Item("trenches", 1, 0.52, 0, 0, "HA-b", "T1"), Item("positions", 1, 0.9, 0, 0, "HA-a", "P1")]
    limits = thresholds({"configuration": json.dumps({"detection": {"submunition_threshold": 0.6}})})
    assert limits == {"submunitions": 0.6, "trenches": 0.5, "positions": 0.5}
    assert ordered(items, "uncertainty", limits) == [2, 1, 0, 3]
    assert ordered(items, "hazard", limits) == [3, 2, 0, 1]


def test_every_detection_is_an_item_placed_in_its_hazard_area():
    layers = _layers()
    layers.update(hazard_layers(layers, HazardRules(), flight_id="f", survey_date="", model="m"))
    items = review_items(layers)
    assert [(i.layer, i.fid) for i in items][-2:] == [("trenches", 1), ("positions", 1)]
    assert len(items) == 14 and all(i.hazard_id.startswith("HA-") for i in items)


def test_rejected_leaves_the_evidence_and_confirmed_proposes_cha():
    layers = _layers()
    rules = HazardRules(cmr=CmrRules(min_confidence=0.95))  # every item below it: no CMR evidence ...
    decided = {("submunitions", 1): Decision("submunitions", 1, "confirmed", "ana", "t1"),
               ("positions", 1): Decision("positions", 1, "rejected", "ana", "t2")}
    marked = {**layers, **reviewed_layers(layers, decided)}
    assert marked["submunitions"]["evidence"].tolist() == ["direct"] + ["indirect"] * 11
    assert marked["positions"]["review_status"].tolist() == ["rejected"]
    areas = hazard_layers(marked, rules, flight_id="f", survey_date="", model="m")["hazard_areas"]
    # ... but the confirmed one, whatever its confidence; the rejected position counts for nothing
    assert sorted(areas["hazard_type"]) == ["CMR", "FORTIFICATION"]
    cmr = areas[areas["hazard_type"] == "CMR"].iloc[0]
    assert (cmr["evidence_count"], cmr["proposed_status"], cmr["review_status"], cmr["status"]) == (
        1, "CHA", "reviewed", "SHA")
    assert areas[areas["hazard_type"] == "FORTIFICATION"]["proposed_status"].tolist() == ["SHA"]
