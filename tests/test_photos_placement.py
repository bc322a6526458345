"""A photograph's features placed on the ground, and the views of one item made one point."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from pyproj import CRS
from shapely.geometry import LineString, Point

from rams.photos.camera import Camera, Pose, footprint, project
from rams.photos.placement import central_ground, frame_to_ground, photo_vrt, placed
from rams.photos.views import merge_views

CRS_ = CRS.from_epsg(32630)
CAMERA = Camera("test", 800, 600, 3.61, 6.17, 6.17 * 600 / 800, k1=-0.02, k2=0.01)
UNREVIEWED = {"review_status": "unreviewed", "reviewer": "", "reviewed_at": ""}


def _pose(e: float = 500_000.0, n: float = 4_000_000.0, yaw: float = 30.0) -> Pose:
    return Pose(e, n, 20.0, yaw, -89.0, 0.5)


def test_the_vrt_reads_the_photograph_on_its_pixel_frame(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 255, (60, 80, 3), dtype=np.uint8)
    photo = tmp_path / "p.tif"
    with rasterio.open(photo, "w", driver="GTiff", width=80, height=60, count=3, dtype="uint8") as dst:
        dst.write(np.moveaxis(rgb, -1, 0))
    vrt = tmp_path / "p.vrt"
    vrt.write_text(photo_vrt(photo, 80, 60, 0.01, CRS_))
    with rasterio.open(vrt) as src:
        assert src.crs == CRS_ and src.transform.a == 0.01 and src.transform.e == -0.01
        assert (src.transform.c, src.transform.f) == (0.0, 0.0)
        assert (np.moveaxis(src.read(), 0, -1) == rgb).all()


def test_a_feature_in_the_pixel_frame_lands_where_the_camera_sees_it():
    pose, gsd = _pose(), 0.015
    cast = frame_to_ground(CAMERA, pose, gsd)
    ground = np.array([[500_001.0, 4_000_002.0, 0.0], [499_997.0, 3_999_998.5, 0.0]])
    colrow = project(CAMERA, pose, ground)
    frame_xy = np.column_stack([colrow[:, 0] * gsd, -colrow[:, 1] * gsd])
    assert np.abs(cast(frame_xy) - ground[:, :2]).max() < 1e-6
    layers = {"trenches": gpd.GeoDataFrame({"length_m": [0.0]}, geometry=[LineString(frame_xy)], crs=CRS_)}
    on_ground = placed(layers, cast, CRS_)["trenches"]
    assert on_ground["length_m"].iloc[0] == pytest.approx(np.hypot(4.0, 3.5), rel=1e-6)


def test_central_ground_is_planar_and_covers_every_footprint():
    poses = [_pose(500_000 + dx, 4_000_000 + dy) for dx, dy in ((0, 0), (6, 0), (0, 5), (6, 5))]
    prints = [footprint(CAMERA, p) for p in poses]
    shares = central_ground(prints, np.array([[p.easting, p.northing] for p in poses]))
    union = shapely.union_all(prints)
    assert sum(s.area for s in shares) == pytest.approx(union.area, rel=1e-6)
    assert shapely.union_all(shares).area == pytest.approx(union.area, rel=1e-6)
    for share, pose in zip(shares, poses, strict=True):  # each owns its own nadir point
        assert share.contains(Point(pose.easting, pose.northing))


def _views(name: str, xy: list[tuple[float, float]], confidence: float = 0.8) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        [{"confidence": confidence, "flight_id": name, "chip": "", "munition_class": "submunition",
          "evidence": "indirect", **UNREVIEWED} for _ in xy],
        geometry=[Point(x, y) for x, y in xy], crs=CRS_)


def test_views_of_one_item_are_one_point_at_their_mean():
    everywhere = shapely.box(-50, -50, 50, 50)
    views = [_views("a", [(0.0, 0.0), (0.6, 0.0)]), _views("b", [(0.1, 0.0), (0.65, 0.05)]),
             _views("c", [(0.05, 0.1)])]
    merged = merge_views(views, ["a", "b", "c"], [everywhere] * 3, [1.0, 1.0, 1.0], CRS_)
    assert len(merged) == 2  # two items 0.6 m apart stay two
    first = merged.loc[merged.distance(Point(0.05, 0.03)).idxmin()]
    assert first["n_views"] == 3 and first["photos"] == "a,b,c" and first["n_visible"] == 3
    assert first.geometry.distance(Point(0.05, 0.033)) < 0.01
    assert first["position_error_m"] == pytest.approx(np.hypot(1.0, first["view_spread_m"]))
    second = merged.loc[merged.distance(Point(0.6, 0.0)).idxmin()]
    assert second["n_views"] == 2 and second["n_visible"] == 3
    assert second["confidence"] == pytest.approx(0.8 * 2 / 3)  # one photograph showing it missed it


def test_no_views_give_an_empty_layer_with_the_view_fields():
    merged = merge_views([_views("a", [])], ["a"], [shapely.box(0, 0, 1, 1)], [1.0], CRS_)
    assert merged.empty and {"n_views", "photos", "position_error_m"} <= set(merged.columns)
