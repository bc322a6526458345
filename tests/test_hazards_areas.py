import dataclasses

import numpy as np
import pandas as pd
import pytest
from hazard_fixtures import (
    ORIGIN,
    not_assessable,
    positions,
    square,
    strike,
    submunitions,
    trenches,
)

from rams.hazards import AREA_COLUMNS, HazardRules, hazard_areas, strike_footprints

RULES = HazardRules()
FADE = RULES.cmr.fade_out_m
META = {"flight_id": "f1", "survey_date": "2025-05-01", "model": "rams-unet-v1"}


def areas_of(sub=None, tr=None, pos=None, na=None, rules=RULES):
    return hazard_areas(
        sub if sub is not None else submunitions(np.empty((0, 2))),
        tr if tr is not None else trenches([]),
        pos if pos is not None else positions([]),
        na if na is not None else not_assessable([]),
        rules,
        **META,
    )


def test_contract_fields_and_geometry():
    xy = strike((0, 0), 50, 150, 60, 0, seed=1)
    areas = areas_of(submunitions(xy), trenches([[(0, -300), (200, -300)]]))
    assert list(areas.columns) == [*AREA_COLUMNS, "geometry"]
    assert set(areas["status"]) == {"SHA"}
    assert set(areas["review_status"]) == {"unreviewed"}
    assert set(areas["flight_id"]) == {"f1"} and set(areas["model"]) == {"rams-unet-v1"}
    assert areas["hazard_type"].tolist() == ["CMR", "FORTIFICATION"]
    assert areas.geometry.is_valid.all() and set(areas.geom_type) == {"Polygon"}
    assert areas["area_m2"].to_numpy() == pytest.approx(areas.geometry.area.to_numpy())
    assert areas["buffer_m"].tolist() == [FADE, RULES.fortification.trench_buffer_m]
    assert areas.iloc[0].evidence_count == 50
    assert areas.iloc[0].max_confidence == pytest.approx(0.9)


def test_cmr_area_is_the_footprint_with_its_margin():
    sub = submunitions(strike((0, 0), 50, 150, 60, 0, seed=2))
    areas = areas_of(sub)
    footprint = strike_footprints(sub, RULES.cmr).geometry.iloc[0]
    assert len(areas) == 1
    assert areas.geometry.iloc[0].symmetric_difference(footprint).area < 1e-6


def test_isolated_item_makes_its_own_small_area():
    xy = np.vstack([strike((0, 0), 50, 150, 60, 0, seed=3), ORIGIN + [[800, 0]]])
    areas = areas_of(submunitions(xy))
    assert sorted(areas["evidence_count"]) == [1, 50]
    small = areas.loc[areas["evidence_count"] == 1].iloc[0]
    radius = RULES.cmr.isolated_item_radius_m + FADE
    assert small.area_m2 == pytest.approx(np.pi * radius**2, rel=0.01)


def test_overlapping_cmr_and_fortification_stay_separate():
    sub = submunitions(strike((0, 0), 50, 150, 60, 0, seed=4))
    tr = trenches([[(-200, 0), (200, 0)]])  # runs through the strike
    areas = areas_of(sub, tr)
    assert areas["hazard_type"].tolist() == ["CMR", "FORTIFICATION"]
    cmr, fort = areas.geometry
    assert cmr.intersection(fort).area > 1000
    assert areas["evidence_count"].tolist() == [50, 1]


def test_same_type_overlaps_merge_and_disjoint_parts_split():
    # two clusters too far apart to be one strike, whose fade-out margins overlap
    xy = np.vstack([strike((0, 0), 30, 60, 30, 90, seed=5), strike((95, 0), 30, 60, 30, 90, seed=6)])
    assert len(strike_footprints(submunitions(xy), RULES.cmr)) == 2
    tr = trenches([[(0, -400), (100, -400)], [(100, -400), (100, -500)], [(800, -400), (900, -400)]])
    pos = positions([square(95, -545, 10)])  # merges with the second trench's buffer
    areas = areas_of(submunitions(xy), tr, pos)
    assert areas["hazard_type"].tolist() == ["CMR", "FORTIFICATION", "FORTIFICATION"]
    assert areas.iloc[0].evidence_count == 60
    assert sorted(areas.iloc[1:]["evidence_count"]) == [1, 3]
    assert set(areas.geom_type) == {"Polygon"}


def test_not_assessable_is_reported_never_cut_away():
    sub = submunitions(strike((0, 0), 50, 150, 60, 0, seed=7))
    clear = areas_of(sub)
    veg = not_assessable([square(-50, -50, 100), square(-20, -20, 40)])  # overlapping patches
    under = areas_of(sub, na=veg)
    assert under.iloc[0].area_m2 == pytest.approx(clear.iloc[0].area_m2)
    assert under.geometry.iloc[0].equals(clear.geometry.iloc[0])
    expected = clear.geometry.iloc[0].intersection(veg.union_all()).area
    assert under.iloc[0].not_assessable_m2 == pytest.approx(expected)
    assert 0 < expected <= 100 * 100
    assert clear.iloc[0].not_assessable_m2 == 0


def test_ids_stable_across_runs_and_input_order():
    xy = np.vstack([strike((0, 0), 40, 150, 60, 0, seed=8), strike((600, 0), 40, 150, 60, 45, seed=9)])
    tr = trenches([[(0, -400), (300, -400)], [(0, 400), (0, 700)]])
    pos = positions([square(500, 500, 12)])
    first = areas_of(submunitions(xy), tr, pos)
    again = areas_of(submunitions(xy), tr, pos)
    rng = np.random.default_rng(1)
    shuffled = areas_of(submunitions(xy[rng.permutation(len(xy))]), tr.iloc[::-1].reset_index(drop=True), pos)
    pd.testing.assert_frame_equal(first.drop(columns="geometry"), again.drop(columns="geometry"))
    assert first["hazard_id"].tolist() == shuffled["hazard_id"].tolist()
    assert first["hazard_id"].is_unique
    other_flight = hazard_areas(
        submunitions(xy), tr, pos, not_assessable([]), RULES, flight_id="f2", survey_date="", model=""
    )
    assert set(other_flight["hazard_id"]).isdisjoint(first["hazard_id"])


def test_no_evidence_no_areas():
    strict = dataclasses.replace(RULES, cmr=dataclasses.replace(RULES.cmr, min_confidence=0.5))
    areas = areas_of(submunitions(strike((0, 0), 20, 50, 20, 0, seed=10), confidence=0.1), rules=strict)
    assert areas.empty
    assert list(areas.columns) == [*AREA_COLUMNS, "geometry"]
    assert areas.crs == "EPSG:32638"
