"""Relative registration of overlapping nadir photographs (`rams.photos.registration`): tie points
on a synthetic textured ground photographed by a tiny camera from known poses, then GPS-like
errors of 1-2 m that the registration must take out."""

import dataclasses

import numpy as np
import pytest
import shapely
from scipy import ndimage

from rams.photos import registration
from rams.photos.camera import Camera, Pose, footprint, to_ground
from rams.photos.registration import (
    PairShift,
    corrected,
    ground_image,
    neighbours,
    pair_shift,
    pair_shifts,
    photo_features,
    register,
    shifts_from_features,
    solve_offsets,
    tie_point_disagreement,
    turn_headings,
    turned_headings,
)

CELL = 0.02  # the texture's cell (m)
WEST, NORTH = 0.0, 26.0
# 800 x 600 px, 1500 px focal length: 2 cm a pixel from 30 m, footprints 16 x 12 m; a little barrel
CAMERA = Camera("tiny", 800, 600, focal_mm=12.0, sensor_width_mm=6.4, sensor_height_mm=4.8, k1=-0.02)
ALTITUDE = 30.0
# true centres (E, N) and yaws: four photographs in two rows, the second row flown the other way
TRUE = [Pose(12.0, 10.0, ALTITUDE, 0.0), Pose(18.0, 10.0, ALTITUDE, 8.0),
        Pose(18.0, 14.5, ALTITUDE, 184.0), Pose(12.0, 14.5, ALTITUDE, 176.0)]
# GPS errors (GPS minus true, m): the corrections registration should find are their negatives
ERRORS = np.array([[1.2, -0.8], [-1.5, 0.4], [0.6, 1.9], [-0.9, -1.6]])


def _texture(seed: int = 0) -> np.ndarray:
    """Ground brightness in [0.1, 0.9]: smooth noise at three scales plus squares and discs."""
    rng = np.random.default_rng(seed)
    h, w = int(NORTH / CELL), int(32.0 / CELL)
    t = ndimage.zoom(rng.standard_normal((h // 50 + 1, w // 50 + 1)), 50, order=3)[:h, :w]
    for sigma in (1.5, 5.0):
        n = ndimage.gaussian_filter(rng.standard_normal((h, w)), sigma)
        t = t + 0.7 * n / n.std()
    for _ in range(250):
        r, c, s, v = rng.integers(0, h), rng.integers(0, w), rng.integers(5, 30), rng.uniform(-2, 2)
        rows, cols = slice(max(0, r - s), min(h, r + s)), slice(max(0, c - s), min(w, c + s))
        if rng.random() < 0.5:
            t[rows, cols] += v
        else:
            yy, xx = np.ogrid[rows, cols]
            t[rows, cols] += v * ((yy - r) ** 2 + (xx - c) ** 2 < s * s)
    return (0.1 + 0.8 * (t - t.min()) / (t.max() - t.min())).astype(np.float32)


def _sample(texture: np.ndarray, east: np.ndarray, north: np.ndarray) -> np.ndarray:
    return ndimage.map_coordinates(texture, [(NORTH - north) / CELL - 0.5, (east - WEST) / CELL - 0.5],
                                   order=1, mode="nearest")


def _photograph(texture: np.ndarray, pose: Pose) -> np.ndarray:
    """What CAMERA sees from ``pose`` of the textured level ground at height 0 (H x W x 3 uint8)."""
    c, r = np.meshgrid(np.arange(CAMERA.width_px) + 0.5, np.arange(CAMERA.height_px) + 0.5)
    xyz = to_ground(CAMERA, pose, np.column_stack([c.ravel(), r.ravel()]))
    grey = _sample(texture, xyz[:, 0], xyz[:, 1]).reshape(c.shape)
    return np.repeat((grey * 255).round().astype(np.uint8)[..., None], 3, axis=2)


def _gps(pose: Pose, error) -> Pose:
    return dataclasses.replace(pose, easting=pose.easting + error[0], northing=pose.northing + error[1])


@pytest.fixture(scope="module")
def scene():
    texture = _texture()
    images = [_photograph(texture, pose) for pose in TRUE]
    photos = [(im, CAMERA, _gps(pose, e)) for im, pose, e in zip(images, TRUE, ERRORS, strict=True)]
    return texture, images, photos, pair_shifts(photos)


def _expected(i: int, j: int) -> np.ndarray:
    """o_j - o_i with o = -error: the shift pair (i, j) should measure."""
    return ERRORS[i] - ERRORS[j]


def test_ground_image_puts_the_photograph_on_its_ground(scene):
    texture, images, _, _ = scene
    bounds = footprint(CAMERA, TRUE[1]).buffer(1.0).bounds
    g = ground_image(images[1], CAMERA, TRUE[1], bounds, 0.04)
    east = bounds[0] + (np.arange(g.shape[1]) + 0.5) * 0.04
    north = bounds[3] - (np.arange(g.shape[0]) + 0.5) * 0.04
    e, n = np.meshgrid(east, north)
    truth = _sample(ndimage.uniform_filter(texture, 2), e.ravel(), n.ravel()).reshape(g.shape)
    seen = np.isfinite(g)
    inside = footprint(CAMERA, TRUE[1]).buffer(-0.2)
    within = shapely.contains_xy(inside, e, n)
    assert seen[within].all()  # the whole footprint is seen...
    assert not seen[~shapely.contains_xy(footprint(CAMERA, TRUE[1]).buffer(0.2), e, n)].any()  # ...nothing else
    assert np.abs(g[within] - truth[within]).mean() < 0.03  # and it is the ground there
    assert g.dtype == np.float32 and np.nanmax(g) <= 1.0


def test_pair_shift_measures_where_a_places_tie_points_minus_where_b_does(scene):
    _, images, _, shifts = scene
    assert {(s.i, s.j) for s in shifts} == {(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)}
    for s in shifts:
        assert np.linalg.norm(s.shift_m - _expected(s.i, s.j)) < 0.03, s
        assert s.inliers >= 50 and s.residual_m < 0.06
        assert s.phase_m is not None and np.linalg.norm(np.subtract(s.phase_m, s.shift_m)) < 0.2
    # the sign, plainly: b's GPS 1.5 m east of the truth, a's right: b places everything 1.5 m too
    # far east, so a's place minus b's is 1.5 m west, and b's correction is 1.5 m west
    a = (images[0], CAMERA, TRUE[0])
    b = (images[1], CAMERA, _gps(TRUE[1], (1.5, 0.0)))
    s = pair_shift(a, b, i=0, j=1)
    assert s is not None and abs(s.east_m + 1.5) < 0.03 and abs(s.north_m) < 0.03


def test_pair_shift_coarse_to_fine_keeps_the_accuracy(scene, monkeypatch):
    _, _, photos, _ = scene
    monkeypatch.setattr(registration, "COARSE_CELLS", 20_000)  # a first look at 8-12 cm, then 4 cm tiles
    coarse = pair_shift(photos[0], photos[1], refine=False)
    assert coarse.gsd_m >= 0.08 - 1e-9 and np.linalg.norm(coarse.shift_m - _expected(0, 1)) < 0.1
    fine = pair_shift(photos[0], photos[1])
    assert fine.gsd_m == pytest.approx(0.04) and np.linalg.norm(fine.shift_m - _expected(0, 1)) < 0.03


def test_pair_shift_is_none_without_overlap_or_ground_to_tie(scene):
    texture, images, photos, _ = scene
    far = (images[1], CAMERA, _gps(TRUE[1], (40.0, 0.0)))
    assert pair_shift(photos[0], far) is None
    flat = np.full_like(images[0], 128)
    assert pair_shift((flat, CAMERA, TRUE[0]), (flat, CAMERA, TRUE[1])) is None
    # featureless: a gentle gradient, no corner anywhere
    ramp = np.broadcast_to(np.linspace(90, 160, CAMERA.width_px).astype(np.uint8)[None, :, None],
                           images[0].shape).copy()
    assert pair_shift((ramp, CAMERA, TRUE[0]), (ramp, CAMERA, TRUE[1])) is None


def test_solve_offsets_signs_weights_and_the_block_mean():
    # photo 1 is 2 m east of where photo 0 says, photo 2 1 m north of photo 1; photo 3 unconnected
    shifts = [PairShift(0, 1, 2.0, 0.0, 20, 20, 0.0, 0.5, 0.04), PairShift(1, 2, 0.0, 1.0, 20, 20, 0.0, 0.5, 0.04)]
    o = solve_offsets(4, shifts, prior_sigma_m=100.0, tie_sigma_m=0.01)
    np.testing.assert_allclose(o[1] - o[0], [2.0, 0.0], atol=1e-4)
    np.testing.assert_allclose(o[2] - o[1], [0.0, 1.0], atol=1e-4)
    np.testing.assert_allclose(o[:3].mean(axis=0), 0.0, atol=1e-9)  # the block keeps its GPS mean
    np.testing.assert_array_equal(o[3], 0.0)
    # a tight prior against loose ties: the corrections shrink toward the GPS positions
    loose = solve_offsets(4, shifts, prior_sigma_m=0.1, tie_sigma_m=1.0)
    assert np.abs(loose).max() < 0.05
    np.testing.assert_array_equal(solve_offsets(3, [], 1.0), np.zeros((3, 2)))
    with pytest.raises(ValueError):
        solve_offsets(2, [PairShift(0, 5, 1.0, 0.0, 9, 9, 0.0, 0.5, 0.04)], 1.0)


def test_register_takes_the_gps_errors_out_keeping_the_block_where_gps_puts_it(scene):
    _, _, photos, shifts = scene
    poses = register(photos, 0.0, prior_sigma_m=3.0, shifts=shifts)
    got = np.array([[p.easting, p.northing] for p in poses])
    true = np.array([[p.easting, p.northing] for p in TRUE])
    gps = true + ERRORS
    np.testing.assert_allclose(got.mean(axis=0), gps.mean(axis=0), atol=1e-6)
    relative = (got - got.mean(axis=0)) - (true - true.mean(axis=0))
    assert np.linalg.norm(relative, axis=1).max() < 0.05
    assert [(p.yaw_deg, p.altitude_m) for p in poses] == [(p.yaw_deg, p.altitude_m) for p in TRUE]
    # measured afresh, the corrected photographs agree with one another
    after = tie_point_disagreement([(im, cam, p) for (im, cam, _), p in zip(photos, poses, strict=True)])
    assert after["pairs"] == 6 and after["median_m"] < 0.05


def test_tie_point_disagreement_reports_the_perturbation(scene):
    _, _, photos, shifts = scene
    report = tie_point_disagreement(photos, shifts=shifts)
    expected = [np.linalg.norm(_expected(s.i, s.j)) for s in shifts]
    assert report["pairs"] == report["candidate_pairs"] == 6
    assert abs(report["median_m"] - np.median(expected)) < 0.03
    assert abs(report["p90_m"] - np.percentile(expected, 90)) < 0.03
    assert report["inliers"] == sum(s.inliers for s in shifts)
    assert {(p["i"], p["j"]) for p in report["per_pair"]} == {(s.i, s.j) for s in shifts}


def test_neighbours_and_corrected():
    photos = [(None, CAMERA, p) for p in TRUE] + [(None, CAMERA, Pose(80.0, 80.0, ALTITUDE, 0.0))]
    pairs = neighbours(photos)
    assert [(i, j) for i, j, _ in pairs] == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    assert all(0.2 <= share <= 1.0 for _, _, share in pairs)
    moved = corrected(TRUE[:2], np.array([[1.0, -2.0], [0.0, 0.5]]))
    assert (moved[0].easting, moved[0].northing, moved[1].easting, moved[1].northing) == (13.0, 8.0, 18.0, 10.5)


def test_turned_headings_finds_photographs_facing_the_other_way(scene):
    _, _, photos, _ = scene
    # the second row's yaw tagged 180° off, as a drone flying a line backwards may tag it
    flags = [False, False, True, True]
    wrong = turn_headings(photos, flags)
    assert [p.yaw_deg for _, _, p in wrong][2:] == [4.0, 356.0]
    # turned about their centres, two photographs 6 m apart place everything 12 m apart
    assert pair_shift(wrong[2], wrong[3], max_shift_m=6.0) is None
    assert turned_headings(wrong, n_keypoints=600) == flags
    assert turned_headings(photos, n_keypoints=600) == [False] * 4


def test_features_found_once_give_the_per_pair_shifts(scene):
    _, _, photos, per_pair = scene
    options = {"gsd_m": 0.04, "n_keypoints": 600}
    features = photo_features(photos, **{**options, "n_keypoints": 1200})
    for f in features:  # keypoints in ground metres, on the photograph's footprint
        assert f.gsd_m == pytest.approx(0.04) and len(f.points_m) > 300
        assert shapely.contains_xy(f.footprint, f.points_m[:, 0], f.points_m[:, 1]).mean() > 0.95
    shared = shifts_from_features(features)
    assert {(s.i, s.j) for s in shared} == {(s.i, s.j) for s in per_pair}
    by_pair = {(s.i, s.j): s for s in per_pair}
    for s in shared:
        assert np.linalg.norm(s.shift_m - by_pair[s.i, s.j].shift_m) < 0.02, s
        assert np.linalg.norm(s.shift_m - _expected(s.i, s.j)) < 0.03, s
        assert s.inliers >= 30 and s.gsd_m == pytest.approx(0.04)
    # pair_shifts without refinement or check takes the same road
    quick = pair_shifts(photos, refine=False, check=False, **options)
    assert [(s.i, s.j, s.east_m, s.north_m) for s in quick] == [(s.i, s.j, s.east_m, s.north_m) for s in shared]
    # only the photographs asked for
    some = photo_features(photos, gsd_m=0.04, which=[1, 2])
    assert some[0] is None and some[3] is None and len(some[1].points_m) > 0
    # turning a photograph's heading turns its features' ground: the turned pair no longer ties
    assert turned_headings(photos, n_keypoints=600, features=features) == [False] * 4
