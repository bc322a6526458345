import dataclasses
import math

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box

from rams.evaluation.hazards import fragmentation_metrics, hazard_metrics
from rams.hazards import HazardRules

CRS = "EPSG:32638"
RULES = HazardRules()
RULES10 = dataclasses.replace(RULES, cmr=dataclasses.replace(RULES.cmr, fade_out_m=10.0))


def frame(geoms, **fields):
    return gpd.GeoDataFrame(fields, geometry=gpd.GeoSeries(geoms, crs=CRS), crs=CRS)


def hand_built():
    areas = frame(
        [box(0, 0, 100, 100), box(500, 500, 510, 510), box(900, 0, 910, 10),
         box(0, 200, 100, 260)],
        hazard_type=["CMR", "CMR", "CMR", "FORTIFICATION"],
        evidence_count=[3, 1, 0, 2],
    )
    truth = {
        # three of four true items inside the big CMR area
        "submunitions": frame([Point(10, 10), Point(50, 50), Point(90, 90), Point(300, 300)],
                              strike_id=[-1, 1, 1, -1]),
        "strike_footprints": frame([box(25, 25, 75, 75)], strike_id=[1]),
        # 60 of 100 m of trench inside the FORTIFICATION area
        "trenches": frame([LineString([(40, 230), (140, 230)])]),
        # half of the position inside it
        "positions": frame([box(95, 240, 105, 250)]),
        # a distractor under the small CMR area that holds no true item
        "distractors": frame([box(502, 502, 504, 504)], kind=["scrap"]),
    }
    return areas, truth


def test_metrics_on_a_hand_built_case():
    areas, truth = hand_built()
    m = hazard_metrics(areas, truth, RULES10)
    assert m["submunition_coverage"] == pytest.approx(0.75)
    assert m["trench_length_coverage"] == pytest.approx(0.6)
    assert m["position_coverage"] == pytest.approx(0.5)
    assert m["cmr_area_m2"] == pytest.approx(10_000 + 100 + 100)
    # a 50 m square grown by 10 m: 2500 + 4 * 50 * 10 + pi * 10^2, plus two stray items, each
    # a disc of 5 m radius + 5 m isolated margin (the one at (10, 10) clear of the square)
    truth_m2 = 4500 + math.pi * 100 + 2 * math.pi * 100
    assert m["true_contamination_m2"] == pytest.approx(truth_m2, rel=2e-3)
    assert m["tightness"] == pytest.approx(10_200 / truth_m2, rel=2e-3)
    assert m["cmr_areas"] == 3
    assert m["cmr_without_evidence"] == 1
    assert m["cmr_without_true_items"] == 2
    assert m["cmr_on_distractors"] == 1


def test_empty_truth_gives_undefined_shares():
    areas, _ = hand_built()
    m = hazard_metrics(areas, {}, RULES)
    assert m["submunition_coverage"] is None
    assert m["trench_length_coverage"] is None
    assert m["position_coverage"] is None
    assert m["tightness"] is None
    assert m["cmr_without_true_items"] == 3 and m["cmr_on_distractors"] == 0


def test_combined_areas_count_as_cmr_and_fortification_ground():
    areas = frame([box(0, 0, 100, 100), box(100, 0, 200, 100)],
                  hazard_type=["CMR+FORTIFICATION", "FORTIFICATION"], evidence_count=[3, 1])
    truth = {"submunitions": frame([Point(50, 50)], strike_id=[0]),
             "trenches": frame([LineString([(10, 10), (190, 10)])], trench_id=[0])}
    m = hazard_metrics(areas, truth, RULES)
    assert m["submunition_coverage"] == 1.0 and m["trench_length_coverage"] == pytest.approx(1.0)
    assert m["cmr_areas"] == 1 and m["cmr_area_m2"] == pytest.approx(10_000)


def test_fragmentation_on_a_hand_built_case():
    truth = {
        # strike 1: four items, strike 2: two, strike 3: one no footprint reaches, one stray item
        "submunitions": frame([Point(0, 0), Point(10, 0), Point(20, 0), Point(30, 0), Point(500, 0),
                               Point(510, 0), Point(900, 900), Point(200, 200)],
                              strike_id=[1, 1, 1, 1, 2, 2, 3, -1]),
        "trenches": frame([LineString([(0, 100), (100, 100)]), LineString([(0, 300), (100, 300)])],
                          trench_id=[0, 1]),
    }
    footprints = frame([box(-5, -5, 15, 5), box(15, -5, 35, 5),  # strike 1 split in two
                        box(495, -5, 515, 5),  # strike 2 whole
                        box(195, 195, 205, 205), box(1000, 1000, 1010, 1010)])  # no strike item
    lines = frame([LineString([(0, 100.5), (40, 100.5)]), LineString([(45, 100), (100, 100)]),
                   LineString([(0, 300), (100, 300.2)]),
                   LineString([(90, 100), (90, 150)]),  # crosses trench 0, runs along nothing
                   LineString([(0, 600), (50, 600)])])
    m = fragmentation_metrics(footprints, lines, truth, trench_tolerance_m=1.0)
    assert m["footprints_per_true_strike"] == pytest.approx(3 / 2)
    assert m["footprints_without_strike"] == 2
    assert m["strike_items_in_own_footprint"] == pytest.approx(4 / 7)
    assert m["trench_pieces_per_true_trench"] == pytest.approx(3 / 2)
    assert m["trench_pieces_without_trench"] == 2


def test_fragmentation_perfect_and_empty():
    truth = {"submunitions": frame([Point(0, 0), Point(10, 0)], strike_id=[0, 0]),
             "trenches": frame([LineString([(0, 100), (100, 100)])], trench_id=[0])}
    perfect = fragmentation_metrics(frame([box(-30, -30, 40, 30)]), frame([LineString([(0, 100), (100, 100)])]),
                                    truth)
    assert perfect["footprints_per_true_strike"] == 1.0
    assert perfect["strike_items_in_own_footprint"] == 1.0
    assert perfect["trench_pieces_per_true_trench"] == 1.0
    nothing = fragmentation_metrics(frame([]), frame([]), {})
    assert nothing["footprints_per_true_strike"] is None
    assert nothing["strike_items_in_own_footprint"] is None
    assert nothing["trench_pieces_per_true_trench"] is None
