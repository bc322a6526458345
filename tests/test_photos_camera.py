"""The photo camera model: pixels to ground and back, headings, footprints, tilt."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rams.photos.camera import Camera, Pose, footprint, ground_sample_distance, project, rays, to_ground

# DJI Phantom 3 (FC300S) in 16:9: 4000 x 2250 px over the full 6.17 mm width of its sensor
FC300S = Camera("FC300S", 4000, 2250, 3.61, 6.17, 6.17 * 2250 / 4000)
DISTORTED = Camera("distorted", 4000, 2250, 3.61, 6.17, 6.17 * 2250 / 4000, cx_offset_px=12.5,
                   cy_offset_px=-7.0, k1=-0.12, k2=0.05, k3=-0.01, p1=0.0008, p2=-0.0005)


@pytest.mark.parametrize("yaw", [0.0, 44.2, 90.0, 181.0, 300.0])
@pytest.mark.parametrize("pitch, roll", [(-90.0, 0.0), (-85.0, 2.0), (-78.0, -4.0)])
def test_ground_to_photo_and_back_with_distortion(yaw, pitch, roll):
    pose = Pose(576_682.7, 5_188_183.8, 40.1, yaw, pitch, roll)
    colrow = np.array([[c, r] for c in (0.5, 700.0, 2000.0, 3500.0, 3999.5) for r in (0.5, 1125.0, 2249.5)])
    ground = to_ground(DISTORTED, pose, colrow)
    assert np.isfinite(ground).all() and np.allclose(ground[:, 2], 0.0)
    back = project(DISTORTED, pose, ground)
    assert np.abs(back - colrow).max() < 1e-3  # pixels

    pts = ground + np.array([0.3, -0.2, 0.0])  # and from the ground first
    again = to_ground(DISTORTED, pose, project(DISTORTED, pose, pts))
    assert np.abs(again - pts).max() < 1e-4  # metres


def test_distortion_moves_pixels_and_undistort_inverts_it():
    x = np.linspace(-0.8, 0.8, 9)
    xd, yd = DISTORTED.distort(x, x[::-1])
    assert np.abs(xd - x).max() > 1e-3
    ux, uy = DISTORTED.undistort(xd, yd)
    fx = DISTORTED.focal_px[0]  # to pixels: far below one at the corners
    assert np.abs(ux - x).max() * fx < 1e-3 and np.abs(uy - x[::-1]).max() * fx < 1e-3


@pytest.mark.parametrize("yaw", [0.0, 44.2, 90.0, 200.0, 315.0])
def test_nadir_top_of_the_image_faces_the_yaw_heading(yaw):
    pose = Pose(1000.0, 2000.0, 40.0, yaw)
    heading = math.radians(yaw)
    ahead = np.array([[1000.0 + 5 * math.sin(heading), 2000.0 + 5 * math.cos(heading), 0.0]])
    right = np.array([[1000.0 + 5 * math.cos(heading), 2000.0 - 5 * math.sin(heading), 0.0]])
    (cx, cy) = FC300S.principal_point
    col, row = project(FC300S, pose, ahead)[0]
    assert col == pytest.approx(cx, abs=1e-6) and row < cy - 100  # straight up the image
    col, row = project(FC300S, pose, right)[0]
    assert row == pytest.approx(cy, abs=1e-6) and col > cx + 100  # to the right of the image
    down = rays(FC300S, pose, np.array([[cx, cy]]))[0]
    assert down == pytest.approx([0.0, 0.0, -1.0], abs=1e-12)


def test_footprint_at_40_m_is_the_image_times_the_gsd():
    gsd = ground_sample_distance(FC300S, 40.0)
    assert gsd == pytest.approx(40.0 * 6.17 / 4000 / 3.61)  # 1.71 cm
    area = footprint(FC300S, Pose(0.0, 0.0, 40.0, 30.0)).area
    assert area == pytest.approx((4000 * gsd) * (2250 * gsd), rel=1e-9)
    assert footprint(FC300S, Pose(0.0, 0.0, 40.0, 30.0, -80.0)).area > area  # tilted: larger


def test_off_nadir_is_the_tilt_of_the_optical_axis():
    assert Pose(0, 0, 40, 0.0).off_nadir_deg == pytest.approx(0.0, abs=1e-6)
    assert Pose(0, 0, 40, 123.0, -60.0).off_nadir_deg == pytest.approx(30.0)
    assert Pose(0, 0, 40, 10.0, -75.0, 5.0).off_nadir_deg == pytest.approx(15.0)  # roll turns about the axis
    assert Pose(0, 0, 40, 0.0, 0.0).off_nadir_deg == pytest.approx(90.0)


def test_a_tilted_camera_sees_ahead_of_itself():
    pose = Pose(0.0, 0.0, 40.0, 90.0, -60.0)  # looking east, 30° off nadir
    centre = to_ground(FC300S, pose, np.array([FC300S.principal_point]))[0]
    assert centre[0] == pytest.approx(40.0 * math.tan(math.radians(30.0))) and centre[1] == pytest.approx(0.0)
    assert np.isnan(to_ground(FC300S, Pose(0.0, 0.0, 40.0, 0.0, 10.0), np.array([[2000.0, 1125.0]]))).all()
