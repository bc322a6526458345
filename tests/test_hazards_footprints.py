import dataclasses

import numpy as np
import pytest
import shapely
from hazard_fixtures import ORIGIN, strike, submunitions

from rams.hazards.footprints import cluster_items, orientation_deg, strike_footprints
from rams.hazards.rules import CmrRules

RULES = CmrRules(neighbour_distance_m=30.0, min_samples=3, fade_out_m=25.0, isolated_item_radius_m=5.0)


def test_dbscan_core_border_noise():
    # a chain of cores, one border item within reach of one core only, one far item
    xy = np.array([[0, 0], [10, 0], [20, 0], [30, 0], [45, 0], [500, 0]], dtype=float)
    labels = cluster_items(xy, neighbour_distance_m=15.0, min_samples=3)
    assert labels.tolist() == [0, 0, 0, 0, 0, -1]
    assert cluster_items(xy, 15.0, 1).tolist() == [0, 0, 0, 0, 0, 1]
    assert cluster_items(np.empty((0, 2)), 15.0, 3).tolist() == []


def test_one_strike_one_footprint():
    xy = strike((0, 0), 80, 200, 80, 30, seed=1)
    fp = strike_footprints(submunitions(xy), RULES)
    assert len(fp) == 1
    row = fp.iloc[0]
    assert row.footprint_id == 1 and row.item_count == 80
    assert row.fade_out_m == 25.0
    assert abs(row.orientation_deg - 30) < 10
    assert shapely.contains_xy(row.geometry, xy[:, 0], xy[:, 1]).all()
    assert row.area_m2 == pytest.approx(row.geometry.area)
    assert row.outline_area_m2 < row.area_m2


def test_two_separate_strikes_two_footprints():
    xy = np.vstack([strike((0, 0), 60, 150, 60, 0, seed=2), strike((600, 0), 60, 150, 60, 90, seed=3)])
    fp = strike_footprints(submunitions(xy), RULES)
    assert fp["item_count"].tolist() == [60, 60]
    a, b = fp.geometry
    assert not a.intersects(b)
    # west to east numbering; orientations follow each strike's axis
    assert a.centroid.x < b.centroid.x
    assert abs(fp.iloc[0].orientation_deg % 180) < 15 or fp.iloc[0].orientation_deg > 165
    assert abs(fp.iloc[1].orientation_deg - 90) < 15


def test_lone_item_gets_its_own_small_footprint():
    xy = np.vstack([strike((0, 0), 50, 150, 60, 0, seed=4), ORIGIN + [[1000, 1000]]])
    fp = strike_footprints(submunitions(xy), RULES)
    single = fp.loc[fp["item_count"] == 1].iloc[0]
    radius = RULES.isolated_item_radius_m + RULES.isolated_fade_out_m
    assert single.area_m2 == pytest.approx(np.pi * radius**2, rel=0.01)
    assert single.fade_out_m == RULES.isolated_fade_out_m
    assert np.isnan(single.orientation_deg)
    assert len(fp) == 2


# with min_samples 4: a dense 5 x 5 block of items 5 m apart (cores) and one sparse edge item
# (28 m from the block's corner: a DBSCAN border item), all relative to ORIGIN
RULES4 = dataclasses.replace(RULES, min_samples=4)
BLOCK = np.vstack([np.array([[x, y] for x in range(0, 25, 5) for y in range(0, 25, 5)], dtype=float),
                   [[40.0, -20.0]]])
NEAR = [58.0, -38.0]  # 25.5 m from the edge item, 54 m from the block: noise, within reach
FAR = [10.0, 65.0]  # 45 m north of the block: out of reach


def test_noise_items_within_reach_join_the_strike():
    xy = ORIGIN + np.vstack([BLOCK, NEAR, FAR])
    labels = cluster_items(xy, RULES4.neighbour_distance_m, RULES4.min_samples)
    assert labels[:-2].tolist() == [0] * 26 and labels[-2:].tolist() == [-1, -1]
    fp = strike_footprints(submunitions(xy), RULES4)
    assert fp["item_count"].tolist() == [27, 1]
    assert shapely.contains_xy(fp.geometry.iloc[0], *xy[-2])
    assert fp["fade_out_m"].tolist() == [RULES.fade_out_m, RULES.isolated_fade_out_m]


def test_joined_items_do_not_extend_the_reach():
    beyond = [76.0, -56.0]  # 25.5 m from NEAR, 51 m from the strike's own items
    xy = ORIGIN + np.vstack([BLOCK, NEAR, beyond])
    assert cluster_items(xy, 30.0, 4)[-2:].tolist() == [-1, -1]
    fp = strike_footprints(submunitions(xy), RULES4)
    assert fp["item_count"].tolist() == [27, 1]


@pytest.mark.parametrize("outline", ["concave", "convex", "ellipse"])
def test_outlines_cover_every_item(outline):
    xy = strike((0, 0), 40, 120, 50, 60, seed=5)
    rules = dataclasses.replace(RULES, outline=outline, fade_out_m=0.0)
    fp = strike_footprints(submunitions(xy), rules)
    assert len(fp) == 1
    geom = fp.geometry.iloc[0]
    assert geom.is_valid and geom.geom_type == "Polygon"
    assert shapely.covers(geom.buffer(1e-6), shapely.points(xy)).all()


def test_collinear_pair_still_has_area():
    xy = ORIGIN + np.array([[0.0, 0.0], [10.0, 0.0]])
    rules = dataclasses.replace(RULES, min_samples=2, fade_out_m=0.0)
    fp = strike_footprints(submunitions(xy), rules)
    assert len(fp) == 1 and fp.iloc[0].item_count == 2
    assert fp.iloc[0].outline_area_m2 > 0
    assert orientation_deg(xy - ORIGIN) == pytest.approx(90.0)


def test_low_confidence_items_are_not_evidence():
    xy = strike((0, 0), 30, 100, 40, 0, seed=6)
    strict = CmrRules(neighbour_distance_m=30.0, min_samples=3, min_confidence=0.5)
    assert strike_footprints(submunitions(xy, confidence=0.2), strict).empty


def test_ids_do_not_depend_on_input_order():
    xy = np.vstack(
        [strike((0, 0), 40, 150, 60, 0, seed=7), strike((500, 200), 40, 150, 60, 45, seed=8), ORIGIN + [[-400, 0]]]
    )
    first = strike_footprints(submunitions(xy), RULES)
    shuffled = np.random.default_rng(0).permutation(len(xy))
    second = strike_footprints(submunitions(xy[shuffled]), RULES)
    assert first["footprint_id"].tolist() == second["footprint_id"].tolist() == [1, 2, 3]
    assert first["item_count"].tolist() == second["item_count"].tolist()
    for a, b in zip(first.geometry, second.geometry, strict=True):
        assert a.symmetric_difference(b).area < 1e-6


def test_an_uncertain_item_widens_its_footprint_so_it_still_holds_the_item():
    import geopandas as gpd
    from shapely.geometry import Point

    from rams.hazards.footprints import strike_footprints
    from rams.hazards.rules import CmrRules

    rules = CmrRules()
    points = gpd.GeoDataFrame({"confidence": [0.9, 0.9], "position_error_m": [0.0, 12.0]},
                              geometry=[Point(0, 0), Point(500, 0)], crs="EPSG:32638")
    fp = strike_footprints(points, rules).sort_values("footprint_id")
    certain, uncertain = fp["fade_out_m"].to_numpy()
    assert certain == rules.isolated_fade_out_m and uncertain == rules.isolated_fade_out_m + 12.0
    reach = rules.isolated_item_radius_m + rules.isolated_fade_out_m + 12.0
    assert fp.geometry.iloc[1].contains(Point(500 + reach - 0.5, 0))  # the item may be 12 m off
    assert not fp.geometry.iloc[0].contains(Point(reach - 0.5, 0))
