"""One centre line per trench (merge_trench_lines) on hand-built trench lines with known answers."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.crs import CRS
from shapely.geometry import LineString, Point
from test_vectorize import L_CENTRE, TRANSFORM, band, clip_to_core, core_box

from rams.vectorize import chain_lines, join_lines, merge_trench_lines, trench_lines

CRS_UTM = CRS.from_epsg(32636)
GAP_M, MAX_TURN_DEG = 10.0, 60.0


def _lines(*coords, width_m: float = 1.0, flight_id: str = "f1") -> gpd.GeoDataFrame:
    geoms = [LineString(c) for c in coords]
    return gpd.GeoDataFrame(
        {"length_m": [g.length for g in geoms], "width_m": width_m, "confidence": 0.8,
         "flight_id": flight_id, "review_status": "unreviewed"},
        geometry=geoms, crs=CRS_UTM)


def _merged(lines: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return merge_trench_lines(lines, GAP_M, MAX_TURN_DEG)


def _zig_zag(turn_deg: float, legs: int = 6, leg_m: float = 8.0) -> list[tuple[float, float]]:
    """Corners of a zig-zag turning by ``turn_deg`` at each corner, its course along +x."""
    half = math.radians(turn_deg / 2)
    corners = [(0.0, 0.0)]
    for k in range(legs):
        angle = half if k % 2 == 0 else -half
        x, y = corners[-1]
        corners.append((x + leg_m * math.cos(angle), y + leg_m * math.sin(angle)))
    return corners


def _legs_cut_short(corners: list[tuple[float, float]], before_m: float,
                    after_m: float) -> list[list[tuple[float, float]]]:
    """Each leg of a polyline as its own piece, ending ``before_m`` short of the next corner and
    starting ``after_m`` past the previous one."""
    pieces = []
    for k, (a, b) in enumerate(zip(corners[:-1], corners[1:], strict=True)):
        leg = LineString([a, b])
        start = after_m if k > 0 else 0.0
        end = leg.length - (before_m if k < len(corners) - 2 else 0.0)
        pieces.append([leg.interpolate(start).coords[0], leg.interpolate(end).coords[0]])
    return pieces


def _near(line: LineString, points, tolerance_m: float) -> bool:
    return bool(np.all(shapely.distance(line, shapely.points(np.asarray(points))) <= tolerance_m))


def test_two_overlapping_traces_of_one_trench_are_one_line():
    # the detector traced both walls of a wide trench: two lines 1.4 m apart along 35 m
    lines = _lines([(0, 0), (40, 0)], [(5, 1.4), (45, 1.4)], width_m=1.0)
    lines.loc[1, "confidence"] = 0.6
    merged = _merged(lines)
    assert len(merged) == 1
    line = merged.geometry.iloc[0]
    assert line.length == pytest.approx(45.0, abs=1.5)
    assert merged["length_m"].iloc[0] == pytest.approx(line.length)
    assert _near(line, [(2, 0), (20, 0.7), (43, 1.4)], 1.0)
    assert merged["confidence"].iloc[0] == pytest.approx(0.7)  # length-weighted: both 40 m
    assert merged["flight_id"].iloc[0] == "f1" and merged["review_status"].iloc[0] == "unreviewed"
    # the chaining alone keeps both traces
    assert len(chain_lines(join_lines(lines), GAP_M, MAX_TURN_DEG)) == 2


def test_a_zig_zag_with_100_degree_corners_broken_at_each_corner_is_one_line():
    corners = _zig_zag(100.0, leg_m=12.0)
    # each corner hidden from 1 m before it to 4.5 m past it: 4.5 m gaps across the corner
    merged = _merged(_lines(*_legs_cut_short(corners, 1.0, 4.5)))
    assert len(merged) == 1
    line = merged.geometry.iloc[0]
    assert _near(line, corners, 0.8)  # through every corner, end to end
    assert line.length == pytest.approx(LineString(corners).length, rel=0.05)
    # corners hidden over 1 m on each side: pieces whose ground meets
    close = _merged(_lines(*_legs_cut_short(corners, 1.0, 1.0)))
    assert len(close) == 1
    assert _near(close.geometry.iloc[0], corners, 0.8)
    # the same zig-zag, pieces 4 m short of each corner on both sides (7 m from the next leg's
    # line): separate trenches as far as its pieces tell
    assert len(_merged(_lines(*_legs_cut_short(corners, 6.0, 6.0)))) > 1


def test_a_zig_zag_traced_whole_with_stubs_at_its_corners_is_one_line():
    corners = _zig_zag(100.0)
    # the detector's skeleton runs on past each corner for 2 m (a spoil berm), and the legs
    # meet at the stubs' roots, as three pieces meeting at a point
    pieces = []
    for a, b in zip(corners[1:-2], corners[2:-1], strict=True):
        stub = np.asarray(a) + 2.0 * (np.asarray(a) - np.asarray(corners[corners.index(a) - 1])) / 8.0
        pieces += [[a, b], [a, tuple(stub)]]
    pieces += [[corners[0], corners[1]], [corners[-2], corners[-1]]]
    merged = _merged(_lines(*pieces))
    assert len(merged) == 1
    assert merged.geometry.iloc[0].length == pytest.approx(LineString(corners).length, rel=0.1)


def test_two_trenches_10_m_apart_stay_two_lines():
    merged = _merged(_lines([(0, 0), (50, 0)], [(0, 10), (50, 10)]))
    assert len(merged) == 2
    assert sorted(round(g.length) for g in merged.geometry) == [50, 50]
    # and side by side 4 m apart (axis to axis, 1 m wide) still two
    assert len(_merged(_lines([(0, 0), (50, 0)], [(0, 4), (50, 4)]))) == 2


def test_crossing_trenches_are_two_straight_lines():
    # two 40 m trenches crossing at right angles, each cut into two pieces at the crossing as
    # a skeleton leaves them, plus a short second trace along one arm
    pieces = _lines([(0, 20), (20, 20)], [(20, 20), (40, 20)], [(20, 0), (20, 20)], [(20, 20), (20, 40)],
                    [(24, 20.8), (36, 20.8)], width_m=1.2)
    merged = _merged(pieces)
    assert len(merged) == 2
    for line in merged.geometry:
        assert line.length == pytest.approx(40.0, abs=1.5)
        start, end = np.asarray(line.coords[0]), np.asarray(line.coords[-1])
        assert np.hypot(*(end - start)) == pytest.approx(line.length, rel=0.03)  # straight through


def test_a_long_branch_is_its_own_trench_and_a_short_spur_is_dropped():
    through = [(0, 0), (20, 0)], [(20, 0), (40, 0)]
    branched = _merged(_lines(*through, [(20, 0), (20, 15)]))
    assert sorted(round(g.length) for g in branched.geometry) == [15, 40]
    spur = _merged(_lines(*through, [(20, 0), (21.5, 2.5)]))
    assert len(spur) == 1 and spur.geometry.iloc[0].length == pytest.approx(40.0, abs=0.5)


def test_overlapping_traces_of_two_flights_are_one_line():
    # flight a saw the first 60 m of the trench, flight b the last 60 m, 0.5 m to one side
    a = _lines([(0, 0), (30, 5), (60, 0)], flight_id="a")
    b = _lines([(40, 3.8), (60, 0.5), (100, 0.5)], flight_id="b")
    both = gpd.GeoDataFrame(pd.concat([a, b], ignore_index=True), crs=CRS_UTM)
    merged = _merged(both)
    assert len(merged) == 1
    line = merged.geometry.iloc[0]
    assert _near(line, [(0, 0), (30, 5), (60, 0.25), (100, 0.5)], 1.0)
    assert merged["flight_id"].iloc[0] in {"a", "b"}
    assert merged["length_m"].iloc[0] == pytest.approx(line.length)


def test_a_trench_cut_at_region_borders_is_one_line():
    prob = band((300, 300), L_CENTRE, width_px=10)
    regions = [((0, 150, 0, 180), core_box(0, 110, 0, 140)), ((0, 150, 100, 300), core_box(0, 110, 140, 300)),
               ((70, 300, 0, 300), core_box(110, 300, 0, 300))]
    pieces = []
    for (r0, r1, c0, c1), core in regions:
        transform = TRANSFORM @ Affine.translation(c0, r0)
        pieces.append(clip_to_core(trench_lines(prob[r0:r1, c0:c1], transform, CRS_UTM), core))
    merged = merge_trench_lines(gpd.GeoDataFrame(pd.concat(pieces, ignore_index=True), crs=CRS_UTM),
                                GAP_M, MAX_TURN_DEG)
    assert len(merged) == 1
    assert merged["length_m"].iloc[0] == pytest.approx(20.0, rel=0.05)


def test_gaps_follow_gap_m_and_the_result_is_order_independent():
    pieces = _lines([(0, 0), (20, 0)], [(28, 0), (50, 0)], [(0, 30), (20, 30)], [(20.5, 30.5), (40, 30)])
    merged = _merged(pieces)
    assert sorted(round(g.length) for g in merged.geometry) == [40, 50]
    backward = _merged(pieces.iloc[::-1].reset_index(drop=True))
    assert all(a.equals_exact(b, 1e-9) for a, b in zip(merged.geometry, backward.geometry, strict=True))
    # gap_m 0: the 8 m gap stays open, the pieces that overlap still join
    assert len(merge_trench_lines(pieces, 0.0, MAX_TURN_DEG)) == 3


def test_a_lone_line_and_an_empty_frame_pass_through():
    lone = _lines([(0, 0), (10, 0), (10, 10)])
    kept = _merged(lone)
    assert len(kept) == 1 and kept.geometry.iloc[0].equals(lone.geometry.iloc[0])
    assert len(_merged(lone.iloc[:0])) == 0
    far = _merged(_lines([(0, 0), (10, 0)], [(100, 0), (110, 0)]))
    assert [g.coords[0] for g in far.geometry] == [(0.0, 0.0), (100.0, 0.0)]
    assert Point(0, 0).distance(far.geometry.iloc[0]) == 0


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_random_lines_give_valid_lines_on_their_ground(seed: int):
    rng = np.random.default_rng(seed)
    starts = rng.uniform(0, 60, (12, 2))
    coords = [[tuple(s), tuple(s + rng.normal(0, 8, 2)), tuple(s + rng.normal(0, 12, 2))] for s in starts]
    lines = _lines(*coords)
    lines["width_m"] = rng.uniform(0.2, 2.0, len(lines))
    merged = _merged(lines)
    geoms = merged.geometry.to_numpy()
    assert len(merged) >= 1 and (merged.geometry.geom_type == "LineString").all()
    assert shapely.is_valid(geoms).all() and (shapely.length(geoms) > 0).all()
    assert np.allclose(merged["length_m"], shapely.length(geoms))
    # every line lies on the lines' ground or on a bridge between them (gap_m at most)
    ground = shapely.union_all(shapely.buffer(lines.geometry.to_numpy(), GAP_M))
    assert shapely.covers(ground, geoms).all()


def test_a_fragment_beside_a_trench_does_not_bridge_another_trench_to_it():
    upper = [(0, 10), (20, 10), (26, 4)]  # its last leg points down at the lower trench
    lower = [(0, 0), (50, 0)]
    fragment = [(29.0, 1.2), (30.0, 1.8)]  # a 1.2 m scrap of the detector's map beside the lower
    merged = _merged(_lines(upper, lower, fragment))
    assert sorted(round(g.length) for g in merged.geometry) == [28, 50]
    from_upper = merged.geometry[merged.distance(Point(0, 10)) < 1.0].iloc[0]
    assert from_upper.distance(LineString(lower)) > 3.0


def test_a_trench_crossing_another_with_its_halves_staggered_is_one_line():
    # the two halves of the crossing trench meet the other 4 m apart along it
    through = [(0, 20), (40, 20)]
    merged = _merged(_lines(through, [(18, 40), (18, 20)], [(22, 20), (22, 0)]))
    assert len(merged) == 2
    crossing = merged.geometry[merged.distance(Point(18, 40)) < 1.0].iloc[0]
    assert _near(crossing, [(18, 40), (18, 25), (22, 15), (22, 0)], 1.0)
    other = merged.geometry[merged.distance(Point(0, 20)) < 1.0].iloc[0]
    assert other.length == pytest.approx(40.0, abs=1.0)
