import dataclasses
import math

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box

from rams.evaluation.hazards import hazard_metrics
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
    # a 50 m square grown by 10 m: 2500 + 4 * 50 * 10 + pi * 10^2, plus two stray items
    # (5 m radius + 10 m margin) of which the one at (10, 10) overlaps the grown square
    grown = box(25, 25, 75, 75).buffer(10)
    near = Point(10, 10).buffer(15)
    truth_m2 = 4500 + math.pi * 100 + (near.area - near.intersection(grown).area) + math.pi * 225
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
