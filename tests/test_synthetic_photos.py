"""The photos preset: a drone's tagged nadir photographs of one synthetic scene, with its truth."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from PIL import ExifTags, Image
from pyproj import Geod, Transformer
from scipy.ndimage import map_coordinates
from shapely.geometry import box

from rams.cli.main import main
from rams.errors import RamsError
from rams.flight import acquisition_date
from rams.photos.camera import Pose, footprint, project, to_ground
from rams.synthetic import photos
from rams.synthetic.photos import (
    FC300S,
    PHOTOS,
    TINY,
    generate_photos,
    gps_errors,
    plan_photos,
    read_flight_plan,
)

LAYERS = {"submunitions", "strike_footprints", "trenches", "trench_polygons", "positions",
          "vegetation", "distractors"}
TINY_SEED = 28  # a tiny scene with ten visible items
DJI_NUMBER = re.compile(r"^[+-]\d+\.\d\d$")


@pytest.fixture(scope="module")
def plan() -> photos.PhotoPlan:
    return plan_photos()


def _lines(plan: photos.PhotoPlan) -> list[list[photos.PlannedPhoto]]:
    """The photographs line by line, west to east."""
    n = PHOTOS.photos_per_line
    lines = [list(plan.photos[k:k + n]) for k in range(0, len(plan.photos), n)]
    return [sorted(line, key=lambda p: p.pose.easting) for line in lines]


def test_the_flight_plan_gives_the_gsd_and_the_overlaps(plan) -> None:
    cam = plan.camera
    assert (cam.width_px, cam.height_px, cam.focal_mm) == (2000, 1500, 3.61)
    assert cam.focal_px[0] == pytest.approx(cam.focal_px[1])  # square pixels
    # the full-size camera's pixel pitch, doubled: a reduced rendering of the same sensor
    assert cam.sensor_height_mm / cam.height_px == pytest.approx(2 * 4.55 / 3000)
    assert plan.height_m == pytest.approx(0.015 * cam.focal_px[0], abs=0.01)
    assert plan.gsd_m == pytest.approx(0.015, abs=1e-4)
    assert len(plan.photos) == 12 and plan.megapixels <= 60
    xmin, ymin, xmax, ymax = plan.scene.bounds
    assert 38 <= xmax - xmin <= 60 and 38 <= ymax - ymin <= 60
    scene = box(*plan.scene.bounds)
    prints = [footprint(cam, p.pose) for p in plan.photos]
    for p, fp in zip(plan.photos, prints, strict=True):
        assert fp.intersection(scene).area / fp.area > 0.95, p.name  # (nearly) inside the scene
        assert 0 <= 90 + p.gimbal_pitch_deg < 1.5 and abs(p.gimbal_roll_deg) < 1.0
        assert p.pose.off_nadir_deg < 1.5
    assert shapely.union_all(prints).intersection(scene).area / scene.area > 0.995
    lines = _lines(plan)
    ground = {p.name: fp for p, fp in zip(plan.photos, prints, strict=True)}

    def overlap(a: photos.PlannedPhoto, b: photos.PlannedPhoto) -> float:
        return ground[a.name].intersection(ground[b.name]).area / ground[a.name].area

    forward = [overlap(a, b) for line in lines for a, b in zip(line[:-1], line[1:], strict=True)]
    side = [overlap(a, b) for la, lb in zip(lines[:-1], lines[1:], strict=True)
            for a, b in zip(la, lb, strict=True)]
    assert len(forward) == 9 and len(side) == 8
    assert np.mean(forward) == pytest.approx(0.75, abs=0.01) and min(forward) > 0.72
    assert np.mean(side) == pytest.approx(0.65, abs=0.01) and min(side) > 0.62
    assert (plan.forward_overlap, plan.side_overlap) == pytest.approx((0.75, 0.65))
    # flight lines alternate east and west, the photographs' tops facing the way flown
    for k, line in enumerate(lines):
        heading = 90.0 if k % 2 == 0 else -90.0
        assert all(abs(p.gimbal_yaw_deg - p.convergence_deg - heading) < 2 for p in line)
    taken = [p.taken for p in plan.photos]
    assert taken == sorted(taken) and len(set(taken)) == len(taken)


def test_every_item_is_seen_in_several_photographs(plan) -> None:
    xyz = np.array([(i.x, i.y, 0.0) for i in plan.scene.items])
    seen = np.zeros(len(xyz), int)
    w, h = plan.camera.width_px, plan.camera.height_px
    for p in plan.photos:
        cr = project(plan.camera, p.pose, xyz)
        seen += (cr[:, 0] >= 0) & (cr[:, 0] < w) & (cr[:, 1] >= 0) & (cr[:, 1] < h)
    assert len(xyz) >= 40 and seen.min() >= 1 and seen.mean() >= 4


def test_gps_errors_have_the_stated_spread_and_drift() -> None:
    e = gps_errors(np.random.default_rng(5), 40_000, 1.5)
    assert e.shape == (40_000, 2)
    assert e.std(axis=0) == pytest.approx([1.5, 1.5], rel=0.05)
    lag1 = np.mean([np.corrcoef(e[:-1, a], e[1:, a])[0, 1] for a in (0, 1)])
    assert lag1 == pytest.approx(0.5 * photos.GPS_DRIFT_CORRELATION, abs=0.03)
    assert not gps_errors(np.random.default_rng(5), 10, 0.0).any()


def test_recorded_positions_carry_the_gps_noise_only(plan) -> None:
    exact = plan_photos(gps_noise_m=0.0)
    noisy = plan_photos(gps_noise_m=3.0)
    assert [p.pose for p in exact.photos] == [p.pose for p in plan.photos] == [p.pose for p in noisy.photos]
    for p in exact.photos:  # exact to the tags' 1e-4 arc-second
        assert math.hypot(p.recorded_easting - p.pose.easting, p.recorded_northing - p.pose.northing) < 0.005
    err = [math.hypot(p.recorded_easting - p.pose.easting, p.recorded_northing - p.pose.northing)
           for p in noisy.photos]
    assert 0.3 < np.mean(err) < 15 and len(set(np.round(err, 3))) == len(err)
    to_lonlat = Transformer.from_crs("EPSG:32638", "EPSG:4326", always_xy=True)
    for p in noisy.photos:
        lon, lat = to_lonlat.transform(p.recorded_easting, p.recorded_northing)
        assert (lon, lat) == pytest.approx((p.longitude, p.latitude), abs=1e-9)


def test_tagged_yaw_is_from_true_north(plan) -> None:
    """The top of a photograph faces the tagged yaw, measured from true north: a point ahead of
    the camera along that geodesic bearing lies straight above the point below the camera."""
    geod = Geod(ellps="WGS84")
    to_lonlat = Transformer.from_crs("EPSG:32638", "EPSG:4326", always_xy=True)
    from_lonlat = Transformer.from_crs("EPSG:4326", "EPSG:32638", always_xy=True)
    cx, cy = plan.camera.principal_point
    for p in plan.photos:
        assert p.convergence_deg > 1  # east of zone 38's central meridian: true north is west of grid north
        top = -p.pose.rotation()[:, 1]  # the top of the image, on the ground: its grid bearing
        top_yaw = math.degrees(math.atan2(top[0], top[1]))
        assert (top_yaw + p.convergence_deg - p.gimbal_yaw_deg + 180) % 360 - 180 == pytest.approx(0, abs=0.01)
        lon, lat = to_lonlat.transform(p.pose.easting, p.pose.northing)
        lon2, lat2, _ = geod.fwd(lon, lat, p.gimbal_yaw_deg, 5.0)
        (col, row), (col0, row0) = project(plan.camera, p.pose, [
            [*from_lonlat.transform(lon2, lat2), 0.0], [p.pose.easting, p.pose.northing, 0.0]])
        assert abs(col0 - cx) < 10 and abs(row0 - cy) < 30  # below the camera: near the centre
        assert row < row0 - 200 and abs(col - col0) < 1, p.name


def test_the_plan_refuses_what_cannot_be_flown() -> None:
    with pytest.raises(RamsError, match="overlaps"):
        plan_photos(survey=photos.PhotoSurvey(forward_overlap=1.0))
    with pytest.raises(RamsError, match="gps_noise_m"):
        plan_photos(gps_noise_m=-1.0)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> photos.PhotoFiles:
    out = tmp_path_factory.mktemp("photos") / "tiny"
    return generate_photos(out, seed=TINY_SEED, survey=TINY, workers=1)


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_the_tiny_variant_writes_photographs_truth_ortho_and_plan(tiny) -> None:
    names = [f"DJI_{k:04d}.JPG" for k in range(1, 7)]
    assert _files(tiny.folder) == sorted(["flight_plan.csv", "ortho.labels.gpkg", "ortho.tif",
                                          "truth.gpkg", *(f"photos/{n}" for n in names)])
    assert [p.name for p in tiny.photos] == names
    for path in tiny.photos:
        with Image.open(path) as im:
            assert (im.format, im.size, im.mode) == ("JPEG", (400, 300), "RGB")
    assert set(pyogrio.list_layers(tiny.truth)[:, 0]) == LAYERS
    items = gpd.read_file(tiny.truth, layer="submunitions")
    assert items.crs.to_epsg() == 32638 and len(items) == len(tiny.plan.scene.items)
    assert "strike_id" in items and "trench_id" in gpd.read_file(tiny.truth, layer="trenches")
    assert tiny.ortho_labels.read_bytes() == tiny.truth.read_bytes()
    with rasterio.open(tiny.ortho) as ds:
        assert ds.crs.to_epsg() == 32638 and (ds.count, ds.dtypes[0]) == (3, "uint8")
        assert ds.res == pytest.approx((0.03, 0.03)) and ds.block_shapes[0] == (512, 512)
        assert tuple(ds.bounds) == pytest.approx(tiny.plan.scene.bounds, abs=1e-6)
        assert acquisition_date(ds) == "2024-09-18"
    rows = read_flight_plan(tiny.flight_plan)
    assert [r["name"] for r in rows] == names
    for r, p in zip(rows, tiny.plan.photos, strict=True):
        assert (r["easting"], r["northing"], r["height_m"]) == pytest.approx(
            (p.pose.easting, p.pose.northing, p.pose.altitude_m), abs=1e-4)
        assert (r["yaw_deg"], r["pitch_deg"], r["roll_deg"]) == pytest.approx(
            (p.pose.yaw_deg, p.pose.pitch_deg, p.pose.roll_deg), abs=1e-6)
        assert (r["gimbal_yaw_deg"], r["gimbal_pitch_deg"], r["gimbal_roll_deg"]) == (
            p.gimbal_yaw_deg, p.gimbal_pitch_deg, p.gimbal_roll_deg)
        assert (r["recorded_easting"], r["recorded_northing"]) == pytest.approx(
            (p.recorded_easting, p.recorded_northing), abs=1e-4)


def _dms(values) -> float:
    d, m, s = (float(v) for v in values)
    return d + m / 60 + s / 3600


def test_tags_are_written_as_a_dji_camera_writes_them(tiny) -> None:
    rows = read_flight_plan(tiny.flight_plan)
    for path, r, p in zip(tiny.photos, rows, tiny.plan.photos, strict=True):
        with Image.open(path) as im:
            exif, xmp = im.getexif(), im.info["xmp"].decode()
        sub, gps = exif.get_ifd(ExifTags.IFD.Exif), exif.get_ifd(ExifTags.IFD.GPSInfo)
        assert (exif[0x010F], exif[0x0110]) == ("DJI", "FC300S")
        assert sub[0x9003] == r["taken"] and float(sub[0x920A]) == 3.61 and sub[0xA405] == 20
        assert (sub[0xA002], sub[0xA003]) == (400, 300)
        assert (gps[1], gps[3]) == ("N", "E")
        assert _dms(gps[2]) == pytest.approx(r["latitude"], abs=1e-9)
        assert _dms(gps[4]) == pytest.approx(r["longitude"], abs=1e-9)
        assert float(gps[6]) == pytest.approx(r["height_m"] + photos.GROUND_ELEVATION_M, abs=1e-3)
        dji = dict(re.findall(r'drone-dji:(\w+)="([^"]*)"', xmp))
        assert set(dji) == {"AbsoluteAltitude", "RelativeAltitude", "GimbalRollDegree",
                            "GimbalYawDegree", "GimbalPitchDegree", "FlightRollDegree",
                            "FlightYawDegree", "FlightPitchDegree"}
        assert all(DJI_NUMBER.match(v) for v in dji.values()), dji
        assert float(dji["RelativeAltitude"]) == r["height_m"]
        assert float(dji["AbsoluteAltitude"]) == pytest.approx(r["height_m"] + photos.GROUND_ELEVATION_M)
        assert float(dji["GimbalYawDegree"]) == r["gimbal_yaw_deg"] == p.gimbal_yaw_deg
        assert float(dji["GimbalPitchDegree"]) == r["gimbal_pitch_deg"] == p.gimbal_pitch_deg
        assert float(dji["GimbalRollDegree"]) == r["gimbal_roll_deg"] == p.gimbal_roll_deg
        assert 'xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/"' in xmp


def test_the_survey_s_tag_reader_reads_them_back(tiny) -> None:
    tags = pytest.importorskip("rams.photos.tags")
    for path, r in zip(tiny.photos, read_flight_plan(tiny.flight_plan), strict=True):
        t = tags.read_tags(path)
        assert (t.make, t.model, t.width_px, t.height_px) == ("DJI", "FC300S", 400, 300)
        assert (t.latitude, t.longitude) == pytest.approx((r["latitude"], r["longitude"]), abs=1e-6)
        assert t.relative_altitude_m == pytest.approx(r["height_m"])
        assert t.gimbal_yaw_deg == pytest.approx(r["gimbal_yaw_deg"])
        assert t.gimbal_pitch_deg == pytest.approx(r["gimbal_pitch_deg"])
        assert t.gimbal_roll_deg == pytest.approx(r["gimbal_roll_deg"])
        assert (t.focal_mm, t.focal_35mm) == (3.61, 20)
        assert t.taken.replace("T", " ").replace("-", ":") == r["taken"]
        try:
            from rams.photos.cameras import camera_for
        except ImportError:
            continue
        cam = camera_for(t)  # the survey's camera is the one the photograph was rendered with
        assert cam.focal_px == pytest.approx(TINY.camera.focal_px, rel=1e-9)


def test_the_survey_reads_the_true_pose_from_the_tags(tiny) -> None:
    """Read back as a photo survey reads them, the tags give the pose each photograph was
    rendered from, bar the GPS error (the position is the recorded one)."""
    from rams.photos.poses import pose_for
    from rams.photos.tags import read_tags

    for path, p in zip(tiny.photos, tiny.plan.photos, strict=True):
        pose, height = pose_for(read_tags(path), "EPSG:32638")
        assert (pose.easting, pose.northing) == pytest.approx((p.recorded_easting, p.recorded_northing), abs=0.005)
        assert height == pose.altitude_m == p.pose.altitude_m
        assert np.abs(pose.rotation() - p.pose.rotation()).max() < 1e-5


def _ortho_at(ortho: np.ndarray, transform, xy: np.ndarray) -> np.ndarray:
    col = (xy[:, 0] - transform.c) / transform.a - 0.5
    row = (xy[:, 1] - transform.f) / transform.e - 0.5
    return map_coordinates(ortho, [row, col], order=1, mode="nearest")


def _agreement(files: photos.PhotoFiles, half: int) -> tuple[list[float], list[float]]:
    """Per truth item seen in a photograph: correlation of the photograph's patch around where
    the item projects (true pose) with the orthomosaic cast into the photograph through the true
    pose, and through the pose shifted by 1 m."""
    cam = files.plan.camera
    with rasterio.open(files.ortho) as ds:
        ortho, transform = ds.read().astype(np.float32).mean(0), ds.transform
    xmin, ymin, xmax, ymax = files.plan.scene.bounds
    items = [i for i in files.plan.scene.items if i.visible_fraction > 0.5]
    xyz = np.array([(i.x, i.y, 0.0) for i in items])
    true_r, shifted_r = [], []
    for path, p in zip(files.photos, files.plan.photos, strict=True):
        with Image.open(path) as im:
            image = np.asarray(im).astype(np.float32).mean(2)
        for col, row in project(cam, p.pose, xyz):
            c, r = int(col), int(row)
            if not (half <= c < cam.width_px - half and half <= r < cam.height_px - half):
                continue
            cc, rr = np.meshgrid(np.arange(c - half, c + half + 1) + 0.5, np.arange(r - half, r + half + 1) + 0.5)
            patch = image[r - half:r + half + 1, c - half:c + half + 1].ravel()
            for pose, out in ((p.pose, true_r), (Pose(p.pose.easting + 1.0, p.pose.northing,
                                                      p.pose.altitude_m, p.pose.yaw_deg,
                                                      p.pose.pitch_deg, p.pose.roll_deg), shifted_r)):
                ground = to_ground(cam, pose, np.column_stack([cc.ravel(), rr.ravel()]))
                inside = ((ground[:, 0] > xmin) & (ground[:, 0] < xmax) & (ground[:, 1] > ymin)
                          & (ground[:, 1] < ymax))
                if inside.all():
                    out.append(float(np.corrcoef(patch, _ortho_at(ortho, transform, ground))[0, 1]))
    return true_r, shifted_r


def test_an_item_is_drawn_where_the_camera_model_puts_it(tiny) -> None:
    true_r, shifted_r = _agreement(tiny, half=6)
    assert len(true_r) >= 10
    assert np.median(true_r) > 0.9 and np.median(shifted_r) < 0.5


def test_the_same_arguments_give_the_same_bytes_and_a_full_folder_is_refused(tiny, tmp_path) -> None:
    again = generate_photos(tmp_path / "again", seed=TINY_SEED, survey=TINY, workers=2)
    assert _files(again.folder) == _files(tiny.folder)
    for name in _files(tiny.folder):
        assert (again.folder / name).read_bytes() == (tiny.folder / name).read_bytes(), name
    with pytest.raises(RamsError, match="exists"):
        generate_photos(again.folder, seed=TINY_SEED, survey=TINY)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(RamsError, match="exists"):
        generate_photos(tmp_path / "mine", survey=TINY)
    assert _files(tmp_path / "mine") == ["notes.txt"]
    other = generate_photos(tmp_path / "mine", seed=TINY_SEED + 1, survey=TINY, gps_noise_m=0.0,
                            overwrite=True, workers=1)
    assert "notes.txt" not in _files(other.folder) and len(other.photos) == 6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again", "mine"]  # nothing left beside


def test_a_failed_run_leaves_nothing(tmp_path, monkeypatch) -> None:
    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(photos, "_write_ortho", fail)
    with pytest.raises(OSError, match="disk full"):
        generate_photos(tmp_path / "photos", survey=TINY, workers=1)
    assert list(tmp_path.iterdir()) == []


def _one_line(stderr: str, *words: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rams synth: error: "), stderr
    assert all(word in lines[0] for word in words), lines[0]


def test_the_cli_refuses_an_occupied_folder_and_fixed_options(tmp_path, capsys) -> None:
    out = tmp_path / "photos"
    out.mkdir()
    (out / "DJI_0001.JPG").write_bytes(b"last week's photograph")
    assert main(["synth", "--preset", "photos", str(out)]) == 2
    _one_line(capsys.readouterr().err, f"{out}: exists (use --overwrite")
    assert (out / "DJI_0001.JPG").read_bytes() == b"last week's photograph"
    assert main(["synth", "--preset", "photos", str(tmp_path / "new"), "--gsd", "0.02"]) == 2
    _one_line(capsys.readouterr().err, "--preset photos fixes", "drop --gsd")
    assert main(["synth", "--preset", "photos"]) == 2
    _one_line(capsys.readouterr().err, "missing OUT")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photos"]


def test_the_library_passes_seed_and_threads_on(tmp_path, monkeypatch) -> None:
    from rams import synth

    seen = {}

    def fake(out, **kwargs):
        seen.update(kwargs, out=out)
        return generate_photos(out, survey=TINY, **kwargs)

    monkeypatch.setattr("rams.pipelines.synth.generate_photos", fake)
    files = synth(tmp_path / "p", preset="photos", seed=TINY_SEED, threads=1)
    assert seen == {"out": tmp_path / "p", "seed": TINY_SEED, "workers": 1, "overwrite": False}
    assert isinstance(files, photos.PhotoFiles) and len(files.photos) == 6


@pytest.fixture(scope="module")
def preset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    out = tmp_path_factory.mktemp("preset") / "photos"
    start = time.perf_counter()
    assert main(["synth", "--preset", "photos", str(out), "--threads", "2", "-q"]) == 0
    return out, time.perf_counter() - start


@pytest.mark.slow
def test_the_preset_writes_its_photographs_and_truth(preset, plan) -> None:
    out, secs = preset
    names = [p.name for p in plan.photos]
    assert _files(out) == sorted(["flight_plan.csv", "ortho.labels.gpkg", "ortho.tif", "truth.gpkg",
                                  *(f"photos/{n}" for n in names)])
    for name in names:
        with Image.open(out / "photos" / name) as im:
            assert im.size == (2000, 1500) and im.getexif()[0x0110] == "FC300S"
    with rasterio.open(out / "ortho.tif") as ds:
        assert ds.res == pytest.approx((0.015, 0.015)) and ds.overviews(1)
        assert tuple(ds.bounds) == pytest.approx(plan.scene.bounds, abs=1e-6)
    items = gpd.read_file(out / "truth.gpkg", layer="submunitions")
    assert len(items) == len(plan.scene.items) and items.strike_id.nunique() >= 2
    rows = read_flight_plan(out / "flight_plan.csv")
    err = [math.hypot(r["recorded_easting"] - r["easting"], r["recorded_northing"] - r["northing"])
           for r in rows]
    assert 0.2 < np.mean(err) < 4  # gps_noise_m 1 m per axis
    assert secs < 300  # about 40 s on two idle cores


@pytest.mark.slow
def test_the_preset_s_items_are_drawn_where_the_camera_model_puts_them(preset, plan) -> None:
    out, _ = preset
    files = photos.PhotoFiles(out, tuple(out / "photos" / p.name for p in plan.photos),
                              out / "truth.gpkg", out / "ortho.tif", out / "ortho.labels.gpkg",
                              out / "flight_plan.csv", plan)
    true_r, shifted_r = _agreement(files, half=12)
    assert len(true_r) >= 150
    assert np.median(true_r) > 0.95 and np.percentile(true_r, 5) > 0.85
    assert np.median(shifted_r) < 0.3


def test_fc300s_is_the_phantom_3_camera() -> None:
    assert (FC300S.width_px, FC300S.height_px, FC300S.focal_mm) == (4000, 3000, 3.61)
    assert FC300S.sensor_height_mm == 4.55 and FC300S.sensor_width_mm < 6.17
    # the 35 mm equivalent focal length it tags: 20 mm
    diagonal = math.hypot(FC300S.sensor_width_mm, FC300S.sensor_height_mm)
    assert 3.61 * 43.27 / diagonal == pytest.approx(20, abs=0.6)
