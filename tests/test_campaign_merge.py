"""Several flights' layers merged into one picture of the ground (rams.campaigns.merge)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS
from shapely.geometry import LineString, Point, box

from rams.campaigns.merge import FlightLayers, campaign_crs, evidence_flights, merge_flights, merge_points, owned_ground
from rams.export import empty_layer
from rams.hazards import hazard_layers, load_rules
from rams.resources import hazard_rules_path
from rams.settings import DetectionSettings

CRS_ = "EPSG:32638"
UNREVIEWED = {"review_status": "unreviewed", "reviewer": "", "reviewed_at": ""}


def _points(flight_id: str, rows: list[tuple[float, float, float]], status: str = "unreviewed") -> gpd.GeoDataFrame:
    if not rows:
        return empty_layer("submunitions", CRS_)
    return gpd.GeoDataFrame(
        [{"confidence": c, "flight_id": flight_id, "chip": f"{flight_id}/{i}", "munition_class": "submunition",
          "evidence": "indirect", **UNREVIEWED, "review_status": status} for i, (_, _, c) in enumerate(rows)],
        geometry=[Point(x, y) for x, y, _ in rows], crs=CRS_)


def _lines(flight_id: str, lines: list[LineString]) -> gpd.GeoDataFrame:
    if not lines:
        return empty_layer("trenches", CRS_)
    return gpd.GeoDataFrame(
        [{"length_m": g.length, "width_m": 1.2, "confidence": 0.9, "flight_id": flight_id, **UNREVIEWED}
         for g in lines], geometry=lines, crs=CRS_)


def _flight(flight_id: str, ground: shapely.Polygon, *, gsd: float = 0.03, points=(), lines=(),
            blind: shapely.Polygon | None = None, date: str = "2026-05-01") -> FlightLayers:
    na = empty_layer("not_assessable", CRS_) if blind is None else gpd.GeoDataFrame(
        {"reason": ["vegetation"], "area_m2": [blind.area], "flight_id": [flight_id]},
        geometry=[shapely.MultiPolygon([blind])], crs=CRS_)
    layers = {
        "submunitions": _points(flight_id, list(points)),
        "trenches": _lines(flight_id, list(lines)),
        "positions": empty_layer("positions", CRS_),
        "coverage": gpd.GeoDataFrame({"area_m2": [ground.area], "flight_id": [flight_id]},
                                     geometry=[shapely.MultiPolygon([ground])], crs=CRS_),
        "not_assessable": na,
    }
    return FlightLayers(flight_id, gsd, date, layers)


def test_campaign_crs_is_the_one_most_flights_are_in() -> None:
    a, b = CRS.from_epsg(32638), CRS.from_epsg(32639)
    assert campaign_crs([b, a, a]) == a
    assert campaign_crs([b, a]) == b  # a tie: the first


def test_owned_ground_is_planar_and_the_finer_flight_owns_the_overlap() -> None:
    coarse = _flight("coarse", box(0, 0, 60, 50), gsd=0.04)
    fine = _flight("fine", box(40, 0, 100, 50), gsd=0.02)
    owned = owned_ground([coarse, fine])
    assert owned[1].equals(box(40, 0, 100, 50))
    assert owned[0].equals(box(0, 0, 40, 50))
    assert sum(g.area for g in owned) == pytest.approx(shapely.union(box(0, 0, 60, 50), box(40, 0, 100, 50)).area)


def test_an_item_seen_by_two_flights_is_one_point_with_both_flights() -> None:
    a = _flight("a", box(0, 0, 60, 50), points=[(50.0, 10.0, 0.6), (20.0, 20.0, 0.9)])
    b = _flight("b", box(40, 0, 100, 50), points=[(50.1, 10.05, 0.8), (50.9, 10.0, 0.7)])
    merged = merge_points([a, b], 0.5, CRS_)
    assert len(merged) == 3  # 50.9 is 0.8 m from both views of the item at 50: another item
    item = merged[merged.distance(Point(50, 10)) < 0.2].iloc[0]
    assert item["flight_ids"] == "a,b"
    assert item["confidence"] == pytest.approx(0.8)  # the better view: the more confident
    assert item["flight_id"] == "b"
    assert sorted(merged["flight_ids"]) == ["a", "a,b", "b"]


def test_a_confirmed_view_is_kept_over_a_more_confident_one() -> None:
    a = _flight("a", box(0, 0, 60, 50), points=[(50.0, 10.0, 0.5)])
    a.layers["submunitions"]["review_status"] = "confirmed"
    b = _flight("b", box(40, 0, 100, 50), points=[(50.1, 10.0, 0.95)])
    merged = merge_points([a, b], 0.5, CRS_)
    assert len(merged) == 1 and merged["review_status"].iloc[0] == "confirmed"


def test_points_of_one_flight_are_never_merged() -> None:
    a = _flight("a", box(0, 0, 60, 50), points=[(50.0, 10.0, 0.5), (50.3, 10.0, 0.6)])
    assert len(merge_points([a], 0.5, CRS_)) == 2


def test_a_trench_across_a_flight_edge_is_one_line() -> None:
    a = _flight("a", box(0, 0, 60, 50), lines=[LineString([(5, 25), (59.5, 25.1)])])
    b = _flight("b", box(40, 0, 100, 50), lines=[LineString([(40.5, 25.05), (95, 25)])])
    layers = merge_flights([a, b], DetectionSettings(), CRS_)
    trenches = layers["trenches"]
    assert len(trenches) == 1
    assert trenches["length_m"].iloc[0] == pytest.approx(90, abs=1.0)
    assert trenches["flight_id"].iloc[0] == "a,b"


def test_ground_is_not_assessable_only_where_no_flight_assessed_it() -> None:
    a = _flight("a", box(0, 0, 60, 50), blind=box(45, 10, 55, 20))  # in the overlap: b saw it
    b = _flight("b", box(40, 0, 100, 50), blind=box(80, 10, 90, 20))  # only b covers it
    layers = merge_flights([a, b], DetectionSettings(), CRS_)
    blind = layers["not_assessable"]
    assert blind.geometry.union_all().equals(box(80, 10, 90, 20))
    assert list(blind["flight_id"]) == ["b"]
    coverage = layers["coverage"]
    assert coverage["area_m2"].sum() == pytest.approx(100 * 50)
    assert shapely.union_all(coverage.geometry.to_numpy()).area == pytest.approx(coverage["area_m2"].sum())


def test_a_strike_across_a_flight_edge_is_one_footprint_and_one_area() -> None:
    rng = np.random.default_rng(7)
    xy = rng.normal((50.0, 25.0), (6.0, 3.0), size=(30, 2))
    a_rows = [(x, y, 0.9) for x, y in xy if x < 60]
    b_rows = [(x + 0.05, y, 0.8) for x, y in xy if x > 40]  # b sees the overlap's items again
    a = _flight("a", box(0, 0, 60, 50), points=a_rows, date="2026-05-01")
    b = _flight("b", box(40, 0, 100, 50), points=b_rows, date="2026-05-03")
    layers = merge_flights([a, b], DetectionSettings(), CRS_)
    assert len(layers["submunitions"]) == len(xy)
    hazards = hazard_layers(layers, load_rules(hazard_rules_path("default")), flight_id="campaign",
                            survey_date="2026-05-03", model="m")
    assert len(hazards["strike_footprints"]) == 1
    areas = hazards["hazard_areas"]
    assert len(areas) == 1 and areas["hazard_type"].iloc[0] == "CMR"
    flights, dates = evidence_flights(areas, layers, {"a": "2026-05-01", "b": "2026-05-03"})
    assert flights == ["a,b"] and dates == ["2026-05-03"]
