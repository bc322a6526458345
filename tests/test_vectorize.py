"""Vectorization on hand-built class maps with known answers, and the cross-region join."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.crs import CRS
from scipy import ndimage
from shapely.geometry import LineString, box

from rams.vectorize import (
    chain_lines,
    join_lines,
    mask_polygons,
    merge_polygons,
    position_polygons,
    submunition_points,
    suppress_points,
    trench_lines,
)

CRS_UTM = CRS.from_epsg(32636)
GSD = 0.05
ORIGIN_X, ORIGIN_Y = 500_000.0, 5_500_000.0
TRANSFORM = Affine(GSD, 0, ORIGIN_X, 0, -GSD, ORIGIN_Y)


def map_xy(row: float, col: float) -> tuple[float, float]:
    return ORIGIN_X + (col + 0.5) * GSD, ORIGIN_Y - (row + 0.5) * GSD


def gaussian(shape: tuple[int, int], row: float, col: float, sigma: float, peak: float):
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    return peak * np.exp(-((rr - row) ** 2 + (cc - col) ** 2) / (2 * sigma**2))


def band(shape: tuple[int, int], centre_px: LineString, width_px: float, value: float = 0.9):
    """Probability map: ``value`` within width/2 px of a centre line given in (col, row) px."""
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    distance = shapely.distance(centre_px, shapely.points(cc.ravel(), rr.ravel()))
    return np.where(distance.reshape(shape) <= width_px / 2, value, 0.05).astype(np.float32)


def assert_valid(frame: gpd.GeoDataFrame) -> None:
    assert frame.crs == CRS_UTM
    assert shapely.is_valid(np.asarray(frame.geometry.values)).all()


def clip_to_core(frame: gpd.GeoDataFrame, core) -> gpd.GeoDataFrame:
    """What the pipeline does with a region's features: keep the part inside its core."""
    clipped = frame.copy()
    clipped["geometry"] = shapely.intersection(np.asarray(frame.geometry.values), core)
    clipped = clipped[~clipped.geometry.is_empty]
    return clipped.explode(index_parts=False).reset_index(drop=True)


# --- submunition points -------------------------------------------------------------------


def test_two_separated_peaks_give_two_points_at_their_map_coordinates():
    heat = np.maximum(
        gaussian((120, 120), 30.3, 40.7, 2.0, 0.9), gaussian((120, 120), 90.0, 70.25, 2.0, 0.7)
    ).astype(np.float32)
    points = submunition_points(heat, TRANSFORM, CRS_UTM)
    assert_valid(points)
    assert len(points) == 2
    by_conf = points.sort_values("confidence", ascending=False)
    for (_, p), (row, col, conf) in zip(
        by_conf.iterrows(), [(30.3, 40.7, 0.9), (90.0, 70.25, 0.7)], strict=True
    ):
        x, y = map_xy(row, col)
        assert p.geometry.x == pytest.approx(x, abs=0.1 * GSD)
        assert p.geometry.y == pytest.approx(y, abs=0.1 * GSD)
        assert p.confidence == pytest.approx(conf, abs=0.05)


def test_peaks_closer_than_nms_radius_give_one_point_the_stronger():
    # 4 px = 0.2 m apart, radius 0.25 m: two local maxima, one survives.
    heat = np.maximum(
        gaussian((60, 60), 30, 28, 1.0, 0.8), gaussian((60, 60), 30, 32, 1.0, 0.95)
    ).astype(np.float32)
    assert len(submunition_points(heat, TRANSFORM, CRS_UTM, nms_radius_m=0.1)) == 2
    points = submunition_points(heat, TRANSFORM, CRS_UTM, nms_radius_m=0.25)
    assert len(points) == 1
    assert points.confidence.iloc[0] == pytest.approx(0.95, abs=1e-3)
    assert points.geometry.iloc[0].x == pytest.approx(map_xy(30, 32)[0], abs=0.1 * GSD)


def test_no_peak_above_threshold_gives_empty_frame_with_columns():
    points = submunition_points(np.full((30, 30), 0.2, np.float32), TRANSFORM, CRS_UTM)
    assert len(points) == 0
    assert list(points.columns) == ["confidence", "geometry"]
    assert points.crs == CRS_UTM


# --- trench lines -------------------------------------------------------------------------

L_CENTRE = LineString([(40, 50), (240, 50), (240, 250)])  # (col, row) px: 400 px = 20 m


def test_l_shaped_band_gives_one_line_of_its_length_and_width():
    prob = band((300, 300), L_CENTRE, width_px=10)
    lines = trench_lines(prob, TRANSFORM, CRS_UTM)
    assert_valid(lines)
    assert len(lines) == 1
    line = lines.iloc[0]
    assert line.geometry.geom_type == "LineString"
    assert line.length_m == pytest.approx(20.0, rel=0.05)
    assert line.length_m == pytest.approx(line.geometry.length)
    assert line.width_m == pytest.approx(0.5, rel=0.2)
    assert line.confidence == pytest.approx(0.9, abs=0.01)
    start, end = sorted([line.geometry.coords[0], line.geometry.coords[-1]])
    assert shapely.Point(start).distance(shapely.Point(map_xy(50, 40))) < 0.3
    assert shapely.Point(end).distance(shapely.Point(map_xy(250, 240))) < 0.3


def test_short_spur_is_pruned_and_short_blob_dropped():
    prob = band((300, 300), L_CENTRE, width_px=10)
    spur = band((300, 300), LineString([(140, 50), (140, 36)]), width_px=8)  # 0.7 m arm
    blob = band((300, 300), LineString([(60, 200), (80, 200)]), width_px=10)  # 1.5 m long
    lines = trench_lines(np.maximum(np.maximum(prob, spur), blob), TRANSFORM, CRS_UTM)
    assert len(lines) == 1
    assert lines.length_m.iloc[0] == pytest.approx(20.0, rel=0.05)


def test_crossing_trenches_split_at_the_junction():
    cross = np.maximum(
        band((200, 200), LineString([(20, 100), (180, 100)]), 8),
        band((200, 200), LineString([(100, 20), (100, 180)]), 8),
    )
    lines = trench_lines(cross, TRANSFORM, CRS_UTM)
    assert len(lines) == 4
    assert lines.length_m.sum() == pytest.approx(16.0, rel=0.05)


# --- position polygons --------------------------------------------------------------------


def test_disc_with_hole_gives_one_filled_polygon_and_speck_dropped():
    rr, cc = np.mgrid[:200, :200]
    radius = np.hypot(rr - 100, cc - 90)
    prob = np.where((radius <= 40) & (radius > 10), 0.8, 0.1).astype(np.float32)
    prob[10:13, 10:13] = 0.9  # 3x3 px speck: 0.0225 m2
    polygons = position_polygons(prob, TRANSFORM, CRS_UTM)
    assert_valid(polygons)
    assert len(polygons) == 1
    poly = polygons.iloc[0]
    assert poly.geometry.geom_type == "Polygon"
    assert len(poly.geometry.interiors) == 0
    assert poly.area_m2 == pytest.approx(np.pi * (40 * GSD) ** 2, rel=0.05)
    assert poly.area_m2 == pytest.approx(poly.geometry.area)
    assert poly.confidence == pytest.approx(0.8, abs=0.1)
    centre = shapely.Point(map_xy(100, 90))
    assert poly.geometry.centroid.distance(centre) < 0.05


def test_mask_polygons_area_and_small_patches():
    mask = np.zeros((100, 100), bool)
    mask[10:50, 20:60] = True  # 2 m x 2 m = 4 m2
    mask[70:72, 70:72] = True  # 0.01 m2
    mask[30:31, 30:31] = False  # a one-pixel hole
    geom = mask_polygons(mask, TRANSFORM)
    assert geom.geom_type == "MultiPolygon" and geom.is_valid
    assert geom.area == pytest.approx(4.0 + 0.01 - GSD**2)
    cleaned = mask_polygons(mask, TRANSFORM, min_area_m2=0.5, simplify_m=0.1)
    assert len(cleaned.geoms) == 1 and cleaned.is_valid
    assert cleaned.area == pytest.approx(4.0)
    assert cleaned.geoms[0].equals(box(*map_xy(49.5, 19.5), *map_xy(9.5, 59.5)))
    assert mask_polygons(np.zeros((5, 5), bool), TRANSFORM).is_empty


# --- join across regions ----------------------------------------------------------------


def region_features(vectorize, canvas: np.ndarray, read: tuple[int, int, int, int], core):
    """Vectorize a region's read window (row0, row1, col0, col1) and clip to its core."""
    r0, r1, c0, c1 = read
    transform = TRANSFORM @ Affine.translation(c0, r0)
    return clip_to_core(vectorize(canvas[r0:r1, c0:c1], transform, CRS_UTM), core)


def core_box(row0: int, row1: int, col0: int, col1: int):
    x0, y0 = ORIGIN_X + col0 * GSD, ORIGIN_Y - row1 * GSD
    return box(x0, y0, ORIGIN_X + col1 * GSD, ORIGIN_Y - row0 * GSD)


def test_trench_split_at_region_borders_is_joined_into_one_line():
    prob = band((300, 300), L_CENTRE, width_px=10)
    # Three regions with a 40 px halo: left/top, right/top, bottom.
    regions = [
        ((0, 150, 0, 180), core_box(0, 110, 0, 140)),
        ((0, 150, 100, 300), core_box(0, 110, 140, 300)),
        ((70, 300, 0, 300), core_box(110, 300, 0, 300)),
    ]
    pieces = pd.concat(
        [region_features(trench_lines, prob, read, core) for read, core in regions],
        ignore_index=True,
    )
    assert len(pieces) == 3
    joined = join_lines(gpd.GeoDataFrame(pieces, crs=CRS_UTM))
    assert_valid(joined)
    assert len(joined) == 1
    assert joined.geometry.iloc[0].geom_type == "LineString"
    assert joined.length_m.iloc[0] == pytest.approx(20.0, rel=0.05)
    assert joined.width_m.iloc[0] == pytest.approx(0.5, rel=0.2)
    assert joined.confidence.iloc[0] == pytest.approx(0.9, abs=0.01)


def test_separate_lines_are_not_joined_and_order_is_deterministic():
    lines = gpd.GeoDataFrame(
        {"length_m": [1.0, 1.0], "width_m": [0.5, 0.7], "confidence": [0.6, 0.8]},
        geometry=[LineString([(5, 0), (6, 0)]), LineString([(0, 0), (1, 0)])],
        crs=CRS_UTM,
    )
    joined = join_lines(lines)
    assert len(joined) == 2
    assert joined.geometry.iloc[0].coords[0] == (0.0, 0.0)
    assert joined.equals(join_lines(lines.iloc[::-1]))


def test_position_split_at_region_border_is_merged():
    rr, cc = np.mgrid[:200, :200]
    prob = np.where(np.hypot(rr - 100, cc - 100) <= 40, 0.8, 0.1).astype(np.float32)
    regions = [
        ((0, 200, 0, 130), core_box(0, 200, 0, 90)),
        ((0, 200, 50, 200), core_box(0, 200, 90, 200)),
    ]
    pieces = pd.concat(
        [region_features(position_polygons, prob, read, core) for read, core in regions],
        ignore_index=True,
    )
    assert len(pieces) == 2
    merged = merge_polygons(gpd.GeoDataFrame(pieces, crs=CRS_UTM))
    assert_valid(merged)
    assert len(merged) == 1
    assert merged.geometry.iloc[0].geom_type == "Polygon"
    assert merged.area_m2.iloc[0] == pytest.approx(np.pi * (40 * GSD) ** 2, rel=0.05)


def test_point_found_on_both_sides_of_a_border_is_kept_once():
    points = gpd.GeoDataFrame(
        {"confidence": [0.8, 0.9, 0.7]},
        geometry=shapely.points([[10.0, 10.0], [10.04, 10.0], [20.0, 10.0]]),
        crs=CRS_UTM,
    )
    kept = suppress_points(points, radius_m=0.25)
    assert list(kept.confidence) == [0.9, 0.7]
    assert_valid(kept)


# --- validity on arbitrary maps -----------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), smooth=st.floats(1.0, 4.0))
def test_all_geometry_valid_on_random_maps(seed: int, smooth: float):
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.random((96, 96)), smooth)
    prob = ((field - field.min()) / np.ptp(field)).astype(np.float32)
    for frame in (
        submunition_points(prob, TRANSFORM, CRS_UTM),
        trench_lines(prob, TRANSFORM, CRS_UTM, min_length_m=0.2),
        position_polygons(prob, TRANSFORM, CRS_UTM, min_area_m2=0.05),
    ):
        assert_valid(frame)
    assert mask_polygons(prob > 0.5, TRANSFORM, simplify_m=0.1).is_valid


def test_three_pieces_meeting_at_a_point_stay_three_lines():
    star = [
        LineString([(0, 0), (5, 0)]),
        LineString([(0, 0), (0, 5)]),
        LineString([(0, 0), (-5, 0)]),
    ]
    lines = gpd.GeoDataFrame(
        {"length_m": [5.0] * 3, "width_m": [0.5] * 3, "confidence": [0.7] * 3},
        geometry=star,
        crs=CRS_UTM,
    )
    assert len(join_lines(lines)) == 3


def test_coarse_mask_outlines_of_neighbouring_regions_meet_without_overlap():
    mask = np.ones((101, 203), bool)  # not a multiple of the 2 px cell of simplify_m=0.1
    left = mask_polygons(mask[:, :101], TRANSFORM, simplify_m=0.1)
    right = mask_polygons(mask[:, 101:], TRANSFORM @ Affine.translation(101, 0), simplify_m=0.1)
    assert left.intersection(right).area == pytest.approx(0.0, abs=1e-9)
    assert left.union(right).area == pytest.approx(101 * 203 * GSD**2)


def _pieces(*coords: list[tuple[float, float]]) -> gpd.GeoDataFrame:
    lines = [LineString(c) for c in coords]
    return gpd.GeoDataFrame({"length_m": [g.length for g in lines], "width_m": 1.0, "confidence": 0.8},
                            geometry=lines, crs=CRS_UTM)


def test_a_zig_zag_broken_at_its_corners_is_one_trench():
    corners = [(0, 0), (6, 6), (12, 0), (18, 6), (24, 0)]
    # each leg a piece, the corners left out by up to 1.5 m as a thin mask leaves them
    legs = [[(x0 + 0.5, y0 + (0.5 if y1 > y0 else -0.5)), (x1 - 0.5, y1 - (0.5 if y1 > y0 else -0.5))]
            for (x0, y0), (x1, y1) in zip(corners[:-1], corners[1:], strict=True)]
    chained = chain_lines(_pieces(*legs), gap_m=10.0, max_turn_deg=60.0)
    assert len(chained) == 1
    assert chained["length_m"].iloc[0] == pytest.approx(chained.geometry.iloc[0].length)
    assert chained.geometry.iloc[0].length > 0.9 * LineString(corners).length


def test_an_aligned_gap_is_bridged_and_a_crossing_one_is_not():
    aligned = chain_lines(_pieces([(0, 0), (20, 0)], [(28, 0), (50, 0)]), gap_m=10.0, max_turn_deg=60.0)
    assert len(aligned) == 1 and aligned.geometry.iloc[0].length == pytest.approx(50.0)
    # the second trench runs across the first's end, 8 m away: two trenches
    crossing = chain_lines(_pieces([(0, 0), (20, 0)], [(28, -20), (28, 20)]), gap_m=10.0, max_turn_deg=60.0)
    assert len(crossing) == 2
    # too far: two trenches whatever the alignment
    assert len(chain_lines(_pieces([(0, 0), (20, 0)], [(32, 0), (50, 0)]), gap_m=10.0, max_turn_deg=60.0)) == 2


def test_at_a_junction_the_straight_pieces_chain_and_a_short_spur_is_dropped():
    pieces = _pieces([(0, 0), (20, 0)], [(20, 0), (40, 0)], [(20, 0), (22, 3)])
    chained = chain_lines(pieces, gap_m=10.0, max_turn_deg=60.0)
    assert len(chained) == 1 and chained.geometry.iloc[0].length == pytest.approx(40.0)
    # a long branch is a trench of its own
    branched = _pieces([(0, 0), (20, 0)], [(20, 0), (40, 0)], [(20, 0), (20, 15)])
    assert sorted(round(g.length) for g in chain_lines(branched, 10.0, 60.0).geometry) == [15, 40]


def test_chaining_is_order_independent_and_keeps_one_piece_whole():
    legs = _pieces([(0, 0), (10, 0)], [(12, 0.5), (25, 1)], [(27, 1), (40, 0)])
    forward = chain_lines(legs, 10.0, 60.0)
    backward = chain_lines(legs.iloc[::-1].reset_index(drop=True), 10.0, 60.0)
    assert len(forward) == len(backward) == 1
    assert forward.geometry.iloc[0].length == pytest.approx(backward.geometry.iloc[0].length)
    single = _pieces([(0, 0), (10, 0)])
    assert chain_lines(single, 10.0, 60.0).geometry.iloc[0].equals(single.geometry.iloc[0])
