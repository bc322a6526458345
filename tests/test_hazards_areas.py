import dataclasses

import numpy as np
import pandas as pd
import pytest
import shapely
from hazard_fixtures import (
    ORIGIN,
    not_assessable,
    positions,
    square,
    strike,
    submunitions,
    synthetic_detections,
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


def test_lone_false_item_gets_a_small_area():
    xy = np.vstack([strike((0, 0), 50, 150, 60, 0, seed=3), ORIGIN + [[800, 0]]])
    areas = areas_of(submunitions(xy))
    assert sorted(areas["evidence_count"]) == [1, 50]
    small = areas.loc[areas["evidence_count"] == 1].iloc[0]
    radius = RULES.cmr.isolated_item_radius_m + RULES.cmr.isolated_fade_out_m
    assert small.area_m2 == pytest.approx(np.pi * radius**2, rel=0.01)
    assert small.area_m2 < 400  # not a strike's 2,800 m² circle
    assert small.buffer_m == RULES.cmr.isolated_fade_out_m


def assert_planar(areas):
    """Sum of the areas equals the area of their union within 0.1 %; no two overlap."""
    geoms = areas.geometry.to_numpy()
    union = shapely.union_all(geoms)
    assert areas["area_m2"].sum() == pytest.approx(union.area, rel=1e-3)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pairs = left < right
    overlap = shapely.area(shapely.intersection(geoms[left[pairs]], geoms[right[pairs]]))
    assert (overlap < 1e-3).all(), overlap.max()
    assert areas.geometry.is_valid.all() and set(areas.geom_type) <= {"Polygon"}


def test_strike_meeting_a_trench_buffer_shares_one_combined_piece():
    sub = submunitions(strike((0, 0), 50, 150, 60, 0, seed=4))
    tr = trenches([[(-200, 0), (200, 0)]])  # runs through the strike
    areas = areas_of(sub, tr)
    assert_planar(areas)
    kinds = areas["hazard_type"].tolist()
    assert kinds.count("CMR+FORTIFICATION") == 1
    assert kinds.count("CMR") == 2  # the strike's ground north and south of the trench buffer
    assert kinds.count("FORTIFICATION") == 2  # the trench buffer west and east of the strike
    both = areas.loc[areas["hazard_type"] == "CMR+FORTIFICATION"].iloc[0]
    footprint = strike_footprints(sub, RULES.cmr).geometry.iloc[0]
    trench_ground = tr.geometry.iloc[0].buffer(RULES.fortification.trench_buffer_m)
    assert both.geometry.symmetric_difference(footprint.intersection(trench_ground)).area < 1e-3
    assert both.evidence_count == 51  # the strike's 50 items and the trench
    assert both.buffer_m == max(FADE, RULES.fortification.trench_buffer_m)
    cmr = areas.loc[areas["hazard_type"] == "CMR"]
    assert set(cmr["evidence_count"]) == {50} and areas["hazard_id"].is_unique
    assert set(areas.loc[areas["hazard_type"] == "FORTIFICATION", "evidence_count"]) == {1}
    assert areas["area_m2"].sum() == pytest.approx(footprint.union(trench_ground).area, rel=1e-3)


def test_planar_on_a_crowded_hand_built_scene():
    xy = np.vstack([strike((0, 0), 60, 160, 70, 20, seed=11), strike((90, 40), 40, 120, 50, 80, seed=12),
                    strike((400, 0), 30, 100, 40, 0, seed=13), ORIGIN + [[250, 250], [255, 252]]])
    tr = trenches([[(-200, 20), (500, 20)], [(60, -200), (60, 200)], [(380, -100), (420, 100)]])
    pos = positions([square(70, 30, 12), square(395, -5, 10)])
    areas = areas_of(submunitions(xy), tr, pos)
    assert_planar(areas)
    assert set(areas["hazard_type"]) == {"CMR", "FORTIFICATION", "CMR+FORTIFICATION"}
    assert (areas["evidence_count"] > 0).all() and areas["hazard_id"].is_unique
    cmr = strike_footprints(submunitions(xy), RULES.cmr).union_all()
    fort = pd.concat([tr.geometry.buffer(25), pos.geometry.buffer(25)]).union_all()
    on_cmr = areas.loc[areas["hazard_type"] != "FORTIFICATION"].union_all()
    assert on_cmr.symmetric_difference(cmr).area < 1e-3 * cmr.area
    on_fort = areas.loc[areas["hazard_type"] != "CMR"].union_all()
    assert on_fort.symmetric_difference(fort).area < 1e-3 * fort.area


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


def test_ids_stable_across_runs_input_order_and_flight_renaming():
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
    renamed = hazard_areas(
        submunitions(xy), tr, pos, not_assessable([]), RULES, flight_id="copy-of-f1", survey_date="", model=""
    )
    assert renamed["hazard_id"].tolist() == first["hazard_id"].tolist()
    assert set(renamed["flight_id"]) == {"copy-of-f1"}


def recompute(xy, previous):
    return hazard_areas(submunitions(xy), trenches([]), positions([]), not_assessable([]), RULES,
                        **META, previous=previous)


TWELVE = strike((0, 0), 12, 80, 40, 30, seed=21)


@pytest.mark.parametrize("removed", range(12))
def test_one_of_twelve_items_removed_keeps_the_id(removed):
    before = areas_of(submunitions(TWELVE))
    after = recompute(np.delete(TWELVE, removed, axis=0), before)
    assert len(before) == len(after) == 1
    assert after["hazard_id"].tolist() == before["hazard_id"].tolist()
    assert after["supersedes"].tolist() == [""]


def test_one_item_added_keeps_the_id():
    before = areas_of(submunitions(TWELVE))
    added = np.vstack([TWELVE, ORIGIN + [[-30.0, -10.0]]])  # west of every item: a new anchor
    assert areas_of(submunitions(added))["hazard_id"].tolist() != before["hazard_id"].tolist()
    assert recompute(added, before)["hazard_id"].tolist() == before["hazard_id"].tolist()


def test_split_gives_new_ids_and_both_children_supersede_the_parent():
    west, east = strike((0, 0), 30, 60, 30, 90, seed=5), strike((150, 0), 30, 60, 30, 90, seed=6)
    bridge = ORIGIN + np.array([[x, 0.0] for x in range(35, 125, 10)])  # links the two clusters
    merged = areas_of(submunitions(np.vstack([west, east, bridge])))
    assert len(merged) == 1
    split = recompute(np.vstack([west, east]), merged)
    assert len(split) == 2
    parent = merged.iloc[0].hazard_id
    assert split["supersedes"].tolist() == [parent, parent]
    assert parent not in set(split["hazard_id"]) and split["hazard_id"].is_unique
    # and back: the merge supersedes both children
    again = recompute(np.vstack([west, east, bridge]), split)
    assert again["supersedes"].iloc[0].split(",") == sorted(split["hazard_id"])
    assert again["hazard_id"].iloc[0] not in set(split["hazard_id"])


def test_no_evidence_no_areas():
    strict = dataclasses.replace(RULES, cmr=dataclasses.replace(RULES.cmr, min_confidence=0.5))
    areas = areas_of(submunitions(strike((0, 0), 20, 50, 20, 0, seed=10), confidence=0.1), rules=strict)
    assert areas.empty
    assert list(areas.columns) == [*AREA_COLUMNS, "geometry"]
    assert areas.crs == "EPSG:32638"


@pytest.mark.parametrize("seed", [3101, 3102, 3103, 20240917])
def test_planar_on_synthetic_survey_detections(seed):
    det = synthetic_detections(seed)
    areas = areas_of(det["submunitions"], det["trenches"], det["positions"])
    assert_planar(areas)
    assert areas["hazard_id"].is_unique and (areas["evidence_count"] > 0).all()
    footprints = strike_footprints(det["submunitions"], RULES.cmr)
    on_cmr = areas.loc[areas["hazard_type"] != "FORTIFICATION"].union_all()
    assert on_cmr.symmetric_difference(footprints.union_all()).area < 1e-3 * on_cmr.area
