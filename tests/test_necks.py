"""Position outlines cut at necks: hand-built shapes with known answers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from rasterio.crs import CRS
from shapely.geometry import box

from rams.vectorize import merge_polygons, position_polygons, split_at_necks
from rams.vectorize.necks import neck_regions

CRS_UTM = CRS.from_epsg(32636)
GSD = 0.1
TRANSFORM = Affine(GSD, 0, 500_000.0, 0, -GSD, 5_500_000.0)


def dumbbell(shape=(120, 200), bridge_px=6) -> np.ndarray:
    """Two discs of radius 25 px, centres 80 px apart, joined by a bar ``bridge_px`` wide."""
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    mask = (np.hypot(rr - 60, cc - 60) <= 25) | (np.hypot(rr - 60, cc - 140) <= 25)
    mask |= (np.abs(rr - 60) <= bridge_px / 2) & (cc > 60) & (cc < 140)
    return mask


def test_two_discs_joined_by_a_narrow_bridge_are_cut_at_the_bridge():
    labels = neck_regions(dumbbell(), depth_px=3)
    assert labels.max() == 2
    left, right = labels[60, 60], labels[60, 140]
    assert {left, right} == {1, 2}
    # The cut crosses the bridge near its middle, and every mask pixel has a part.
    assert (labels[60, 70:95] == left).all() and (labels[60, 106:130] == right).all()
    assert ((labels > 0) == dumbbell()).all()


def test_depth_decides_whether_a_neck_is_cut():
    mask = dumbbell(bridge_px=30)  # the bridge's radius, 15 px, is 10 px below the discs' 25
    assert neck_regions(mask, depth_px=8).max() == 2
    assert neck_regions(mask, depth_px=12).max() == 1
    assert neck_regions(mask, depth_px=0).max() == 1


@pytest.mark.parametrize("angle", [0, 17, 30, 45])
def test_bars_and_horseshoes_stay_whole(angle):
    rr, cc = np.mgrid[:200, :200].astype(float)
    a = np.radians(angle)
    u, v = (cc - 100) * np.cos(a) + (rr - 100) * np.sin(a), -(cc - 100) * np.sin(a) + (rr - 100) * np.cos(a)
    bar = (np.abs(u) <= 70) & (np.abs(v) <= 12)  # its ridge of equal distances runs diagonally
    radius = np.hypot(u, v)
    horseshoe = (radius >= 30) & (radius <= 50) & ~((v > 0) & (np.abs(u) < 20))
    for mask in (bar, horseshoe):
        assert neck_regions(mask, depth_px=3).max() == 1


def frame(geoms, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=list(geoms), crs=CRS_UTM)


def two_squares(bridge_m: float = 0.4) -> shapely.Polygon:
    """Two 4 m squares 2 m apart, joined by a bar ``bridge_m`` wide (metres)."""
    bar = box(4.0, 2.0 - bridge_m / 2, 6.0, 2.0 + bridge_m / 2)
    return shapely.union_all([box(0, 0, 4, 4), bar, box(6, 0, 10, 4)])


def test_polygon_cut_into_parts_that_tile_it_and_keep_its_columns():
    polygon = two_squares()
    polys = frame([polygon, box(20, 0, 24, 4)], area_m2=[polygon.area, 16.0], confidence=[0.8, 0.6])
    out = split_at_necks(polys, depth_m=0.5)
    assert len(out) == 3
    assert shapely.is_valid(out.geometry.to_numpy()).all()
    assert out.crs == CRS_UTM
    parts = out[out.confidence == 0.8]
    assert len(parts) == 2
    assert parts.area_m2.sum() == pytest.approx(polygon.area)
    assert np.allclose(parts.area_m2, parts.geometry.area)
    assert shapely.union_all(parts.geometry.to_numpy()).symmetric_difference(polygon).area < 1e-6
    # each square lies whole in one part
    for square in (box(0, 0, 4, 4), box(6, 0, 10, 4)):
        assert max(shapely.intersection(p, square).area for p in parts.geometry) == pytest.approx(16.0, rel=0.01)


def test_no_cut_at_depth_zero_or_when_a_part_would_be_too_small():
    polys = frame([two_squares()], area_m2=[two_squares().area], confidence=[0.8])
    assert split_at_necks(polys, depth_m=0.0).equals(polys)
    assert len(split_at_necks(polys, depth_m=0.5, min_area_m2=17.0)) == 1
    assert len(split_at_necks(polys, depth_m=0.5, min_area_m2=15.0)) == 2


def test_blob_split_by_a_region_border_is_merged_then_cut_at_its_neck():
    prob = np.where(dumbbell(shape=(120, 200)), 0.9, 0.05).astype(np.float32)
    pieces = []
    for c0, c1, core in ((0, 130, (0, 100)), (70, 200, (100, 200))):
        window = TRANSFORM @ Affine.translation(c0, 0)
        polys = position_polygons(prob[:, c0:c1], window, CRS_UTM, min_area_m2=0.0)
        x0, _ = TRANSFORM @ (core[0], 0)
        x1, _ = TRANSFORM @ (core[1], 0)
        clip = box(x0, 5_499_000.0, x1, 5_500_000.0)
        polys["geometry"] = shapely.intersection(polys.geometry.to_numpy(), clip)
        pieces.append(polys[~polys.geometry.is_empty])
    merged = merge_polygons(gpd.GeoDataFrame(pd.concat(pieces, ignore_index=True), crs=CRS_UTM))
    assert len(merged) == 1
    cut = split_at_necks(merged, depth_m=0.3)
    assert len(cut) == 2
    disc = np.pi * (25 * GSD) ** 2
    assert sorted(cut.area_m2) == pytest.approx([disc + 0.2, disc + 0.2], rel=0.1)
