"""Photographs' tags, the camera that took them, and their pose on the ground.

The committed photograph is a 512 x 288 crop of DJI_0020.JPG of the Brighton Beach flight (DJI
Phantom 3 Advanced, 4000 x 2250) with its EXIF and XMP kept; see data/photos/LICENSE-brighton.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import ExifTags, Image
from pyproj import CRS, Transformer

from rams.errors import RamsError
from rams.photos.camera import Pose, ground_sample_distance, project, to_ground
from rams.photos.cameras import FULL_FRAME_DIAGONAL_MM, camera_for, load_camera_table
from rams.photos.poses import (
    camera_attitude,
    meridian_convergence_deg,
    off_nadir_deg,
    photo_problem,
    pose_angles,
    pose_for,
    tilted_nadir_rotation,
    utm_crs_of,
)
from rams.photos.tags import MAX_XMP_BYTES, PhotoTags, read_tags

CROP = Path(__file__).parent / "data" / "photos" / "brighton_DJI_0020_crop.jpg"
LAT = 46 + 50 / 60 + 33.9993 / 3600  # 46° 50' 33.9993" N
LON = -(91 + 59 / 60 + 39.4778 / 3600)  # 91° 59' 39.4778" W
UTM_15N = CRS.from_epsg(32615)  # central meridian 93° W: Brighton lies 1° east of it


@pytest.fixture(scope="module")
def brighton() -> PhotoTags:
    return read_tags(CROP)


@pytest.fixture(scope="module")
def full_size(brighton) -> PhotoTags:
    """The tags of the whole photograph the crop was cut from."""
    return dataclasses.replace(brighton, width_px=4000, height_px=2250)


def _jpeg(tmp_path: Path, name: str = "p.jpg", *, exif: bytes | None = None, xmp: bytes | None = None,
          size: tuple[int, int] = (64, 36)) -> Path:
    path = tmp_path / name
    extra = {k: v for k, v in (("exif", exif), ("xmp", xmp)) if v is not None}
    Image.new("RGB", size, (90, 120, 60)).save(path, "JPEG", **extra)
    return path


def _xmp(body: str, namespaces: str = 'xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/"') -> bytes:
    return (f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
            f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description rdf:about="" {namespaces} {body}</rdf:Description>'
            f'</rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode()


# --- tags ----------------------------------------------------------------------------------------


def test_the_brighton_photo_tags(brighton):
    assert (brighton.path, brighton.width_px, brighton.height_px) == (str(CROP), 512, 288)
    assert (brighton.make, brighton.model) == ("DJI", "FC300S")  # NUL padding gone
    assert brighton.latitude == pytest.approx(LAT, abs=1e-9) and brighton.longitude == pytest.approx(LON, abs=1e-9)
    assert brighton.gps_altitude_m == pytest.approx(198.609)
    assert brighton.relative_altitude_m == pytest.approx(40.1) and brighton.absolute_altitude_m == pytest.approx(198.61)
    assert (brighton.gimbal_yaw_deg, brighton.gimbal_pitch_deg, brighton.gimbal_roll_deg) == (44.2, -89.9, 0.0)
    assert (brighton.flight_yaw_deg, brighton.flight_pitch_deg, brighton.flight_roll_deg) == (42.8, 0.9, 1.1)
    assert (brighton.focal_mm, brighton.focal_35mm) == (3.61, 20.0)
    assert brighton.taken == "2016-06-23T16:32:13"
    assert brighton.horizontal_accuracy_m is None and brighton.rtk is False


def test_the_committed_crop_stays_small():
    assert CROP.stat().st_size < 60_000
    assert (CROP.parent / "LICENSE-brighton").read_text().startswith("BSD 2-Clause License")


def test_xmp_as_child_elements_rtk_and_southern_eastern_gps(tmp_path):
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "DJI\x00\x00", "FC6310R\x00"
    exif[ExifTags.IFD.GPSInfo] = {1: "S", 2: (33.0, 51.0, 54.0), 3: "E", 4: (151.0, 12.0, 36.0), 5: b"\x01", 6: 12.5}
    exif[ExifTags.IFD.Exif] = {0x9003: "2024:03:01 09:08:07", 0x920A: 8.8, 0xA405: 24}
    xmp = _xmp('><drone-dji:RelativeAltitude>+60.25</drone-dji:RelativeAltitude>'
               '<drone-dji:GimbalPitchDegree>-90.0</drone-dji:GimbalPitchDegree>'
               '<drone-dji:GimbalYawDegree>-120.5</drone-dji:GimbalYawDegree>'
               '<drone-dji:RtkFlag>50</drone-dji:RtkFlag>'
               '<drone-dji:RtkStdLon>0.012</drone-dji:RtkStdLon><drone-dji:RtkStdLat>0.016</drone-dji:RtkStdLat>')
    tags = read_tags(_jpeg(tmp_path, exif=exif.tobytes(), xmp=xmp))
    assert (tags.make, tags.model, tags.width_px, tags.height_px) == ("DJI", "FC6310R", 64, 36)
    assert tags.latitude == pytest.approx(-(33 + 51 / 60 + 54 / 3600))
    assert tags.longitude == pytest.approx(151 + 12 / 60 + 36 / 3600)
    assert tags.gps_altitude_m == -12.5  # GPSAltitudeRef 1: below sea level
    assert (tags.relative_altitude_m, tags.gimbal_pitch_deg, tags.gimbal_yaw_deg) == (60.25, -90.0, -120.5)
    assert tags.rtk is True and tags.horizontal_accuracy_m == pytest.approx(0.02)
    assert tags.taken == "2024-03-01T09:08:07" and tags.focal_mm == 8.8


def test_pix4d_camera_tags_of_other_makers(tmp_path):
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Parrot", "Sequoia"
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (46.0, 30.0, 0.0), 3: "E", 4: (6.0, 40.0, 0.0), 31: 1.5}
    xmp = _xmp('Camera:Yaw="12.5" Camera:Pitch="3.0" Camera:Roll="-1.5" Camera:AboveGroundAltitude="1205/10" '
               'Camera:GPSXYAccuracy="2.5">', 'xmlns:Camera="http://pix4d.com/camera/1.0/"')
    tags = read_tags(_jpeg(tmp_path, exif=exif.tobytes(), xmp=xmp))
    assert tags.gimbal_pitch_deg == -87.0  # Pix4D's pitch 0 looks straight down
    assert (tags.gimbal_yaw_deg, tags.gimbal_roll_deg, tags.relative_altitude_m) == (12.5, -1.5, 120.5)
    assert tags.horizontal_accuracy_m == 1.5  # EXIF GPSHPositioningError first
    assert tags.absolute_altitude_m is None and tags.flight_yaw_deg is None and tags.rtk is False


def test_a_tiff_carries_its_xmp_in_tag_700(tmp_path):
    with Image.open(CROP) as im:
        exif = im.getexif()
        for ifd in (ExifTags.IFD.Exif, ExifTags.IFD.GPSInfo):
            exif.get_ifd(ifd)  # loaded, so written again
        exif[700] = im.info["xmp"]  # XMLPacket
        path = tmp_path / "p.tif"
        im.save(path, "TIFF", exif=exif)
    tags = read_tags(path)
    assert dataclasses.replace(tags, path=str(CROP)) == read_tags(CROP)


def test_an_untagged_photo_reads_as_nothing_known_and_is_refused(tmp_path):
    with Image.open(CROP) as im:
        path = tmp_path / "stripped.jpg"
        im.convert("RGB").save(path, "JPEG")  # pixels only: no EXIF, no XMP
    tags = read_tags(path)
    assert (tags.width_px, tags.height_px, tags.make, tags.model, tags.taken) == (512, 288, "", "", "")
    assert tags.latitude is None and tags.relative_altitude_m is None and tags.gimbal_pitch_deg is None
    assert photo_problem(tags) == "no GPS position"
    with pytest.raises(RamsError, match="give --camera") as err:
        camera_for(tags)
    assert str(err.value).startswith(f"{path}: ")
    with pytest.raises(RamsError, match="no GPS position"):
        pose_for(tags, UTM_15N)


@pytest.mark.parametrize("content, problem", [
    (b"not an image at all", "not an image rams can read"),
    (b"", "not an image rams can read"),
])
def test_files_that_are_not_photographs_are_refused(tmp_path, content, problem):
    path = tmp_path / "x.jpg"
    path.write_bytes(content)
    with pytest.raises(RamsError, match=problem) as err:
        read_tags(path)
    assert str(err.value).startswith(f"{path}: ")


def test_missing_png_and_truncated_files_are_refused(tmp_path):
    with pytest.raises(RamsError, match="no such file"):
        read_tags(tmp_path / "missing.jpg")
    png = tmp_path / "p.png"
    Image.new("RGB", (8, 8)).save(png)
    with pytest.raises(RamsError, match="a PNG image"):
        read_tags(png)
    truncated = tmp_path / "t.jpg"
    truncated.write_bytes(CROP.read_bytes()[:300])
    with pytest.raises(RamsError, match=str(truncated)):
        read_tags(truncated)


def test_oversized_entity_and_broken_xmp_packets_are_refused(tmp_path):
    big = _xmp(f'drone-dji:RelativeAltitude="40">{" " * (MAX_XMP_BYTES + 10)}')
    big_tiff = tmp_path / "big.tif"  # a JPEG segment holds at most 64 kB: an oversized packet needs a TIFF
    Image.new("RGB", (8, 8)).save(big_tiff, "TIFF", tiffinfo={700: big})
    with pytest.raises(RamsError, match=r"XMP packet of \d+ bytes \(more than 1000000\)"):
        read_tags(big_tiff)
    laughs = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    with pytest.raises(RamsError, match="DTD or entities"):
        read_tags(_jpeg(tmp_path, "dtd.jpg", xmp=laughs))
    with pytest.raises(RamsError, match="not well-formed XML"):
        read_tags(_jpeg(tmp_path, "broken.jpg", xmp=b"<x:xmpmeta><rdf:RDF></x:xmpmeta>"))


# --- cameras -------------------------------------------------------------------------------------


def test_the_fc300s_from_the_table_gives_1_71_cm_at_40_1_m(full_size):
    camera = camera_for(full_size)
    assert camera.name == "DJI Phantom 3 Advanced (FC300S)"
    assert (camera.width_px, camera.height_px, camera.focal_mm) == (4000, 2250, 3.61)
    # 16:9 from the 4:3 sensor: its full 6.17 mm width, the height at the same pixel pitch
    assert camera.sensor_width_mm == 6.17 and camera.sensor_height_mm == pytest.approx(6.17 / 4000 * 2250)
    assert camera.focal_px[0] == pytest.approx(camera.focal_px[1])  # square pixels
    assert ground_sample_distance(camera, full_size.relative_altitude_m) == pytest.approx(0.0171, abs=5e-5)


def test_the_crop_gets_the_same_pixel_pitch_as_the_whole_photo(brighton, full_size):
    crop, whole = camera_for(brighton), camera_for(full_size)
    assert crop.sensor_width_mm == pytest.approx(whole.sensor_width_mm)  # a crop keeps the 16:9 width
    assert ground_sample_distance(crop, 40.1) == pytest.approx(ground_sample_distance(whole, 40.1) * 4000 / 512)


def test_the_table_holds_the_survey_drone_cameras():
    table = load_camera_table()
    for make, model in [("DJI", "FC300S"), ("DJI", "FC300X"), ("DJI", "FC330"), ("DJI", "FC6310"),
                        ("DJI", "FC6310S"), ("dji", " fc220 "), ("Hasselblad", "L1D-20c"), ("DJI", "FC3170"),
                        ("DJI", "FC7303"), ("DJI", "M3E"), ("DJI", "ZenmuseP1"), ("DJI", "FC6520")]:
        entry = table.find(make, model)
        assert entry is not None, model
        assert entry.sensor_width_mm > entry.sensor_height_mm > 0
        assert entry.image_px[0] / entry.image_px[1] == pytest.approx(entry.sensor_width_mm / entry.sensor_height_mm,
                                                                       rel=0.02)
    assert table.find("DJI", "FC9999") is None and table.find("", "") is None
    generic = [name for name, entry in table.cameras.items() if not entry.models]
    assert "generic-1-inch" in generic and all(table.cameras[n].focal_mm is None for n in generic)


def test_the_four_thirds_crop_of_a_three_two_sensor(full_size):
    p4p = dataclasses.replace(full_size, model="FC6310S", width_px=4864, height_px=3648, focal_mm=8.8)
    camera = camera_for(p4p)
    assert camera.sensor_height_mm == 8.8 and camera.sensor_width_mm == pytest.approx(13.2 / 5472 * 4864)
    assert camera.focal_px[0] == pytest.approx(camera.focal_px[1])


def test_an_interchangeable_lens_needs_the_photos_focal_length(full_size):
    p1 = dataclasses.replace(full_size, model="ZenmuseP1", width_px=8192, height_px=5460, focal_mm=35.0)
    assert camera_for(p1).focal_mm == 35.0
    with pytest.raises(RamsError, match="focal_mm"):
        camera_for(dataclasses.replace(p1, focal_mm=None))


def test_a_camera_file_gives_the_intrinsics(tmp_path, full_size):
    path = tmp_path / "camera.yaml"
    path.write_text("name: calibrated P3\nfocal_mm: 3.57\nsensor_width_mm: 6.3\nsensor_height_mm: 4.725\n"
                    "cx_offset_px: 10.5\ncy_offset_px: -4\nk1: -0.012\nk2: 0.004\np1: 0.0002\n")
    camera = camera_for(full_size, path)
    assert (camera.name, camera.focal_mm, camera.width_px, camera.height_px) == ("calibrated P3", 3.57, 4000, 2250)
    assert camera.sensor_width_mm == 6.3 and camera.sensor_height_mm == pytest.approx(6.3 * 2250 / 4000)
    assert (camera.cx_offset_px, camera.cy_offset_px, camera.k1, camera.k2, camera.k3, camera.p1, camera.p2) == (
        10.5, -4.0, -0.012, 0.004, 0.0, 0.0002, 0.0)
    assert camera_for(full_size, "generic-1/2.3-inch").sensor_width_mm == 6.17  # a table entry by name


@pytest.mark.parametrize("text, problem", [
    ("name: x\nfocal_mm: 3.6\nsensor_width_mm: 6.2\n", "sensor_height_mm: missing"),
    ("name: x\nfocal_mm: 0\nsensor_width_mm: 6.2\nsensor_height_mm: 4.6\n", "focal_mm: must be > 0"),
    ("name: x\nfocal_mm: 3.6\nsensor_width_mm: 6.2\nsensor_height_mm: 4.6\nwidth_px: 4000\n", "unknown key 'width_px'"),
    ("name: x\nfocal_mm: [3.6\n", "not valid YAML"),
])
def test_a_wrong_camera_file_is_refused_naming_it(tmp_path, full_size, text, problem):
    path = tmp_path / "camera.yml"
    path.write_text(text)
    with pytest.raises(RamsError, match=problem) as err:
        camera_for(full_size, path)
    assert str(err.value).startswith(f"{path}: ")
    with pytest.raises(RamsError, match="neither a camera file"):
        camera_for(full_size, "no-such-camera")


def test_an_unlisted_camera_falls_back_on_its_35_mm_equivalent(full_size):
    tags = dataclasses.replace(full_size, make="Acme", model="Eye 1", focal_mm=4.0, focal_35mm=24.0)
    camera = camera_for(tags)
    diagonal = math.hypot(camera.sensor_width_mm, camera.sensor_height_mm)
    assert diagonal == pytest.approx(FULL_FRAME_DIAGONAL_MM * 4.0 / 24.0)
    assert camera.sensor_width_mm / camera.sensor_height_mm == pytest.approx(4000 / 2250)
    assert "35 mm" in camera.name and camera.focal_mm == 4.0
    with pytest.raises(RamsError, match=r"camera Acme Eye 1 is not in rams' table.*give --camera"):
        camera_for(dataclasses.replace(tags, focal_35mm=None))


# --- refusals and poses --------------------------------------------------------------------------


def test_the_brighton_photo_can_be_placed(brighton):
    assert photo_problem(brighton) is None
    assert off_nadir_deg(brighton) == pytest.approx(0.1)


@pytest.mark.parametrize("change, problem", [
    ({"gimbal_pitch_deg": -60.0}, "camera 30.0° off nadir (more than 15°)"),
    ({"gimbal_pitch_deg": -90.0, "gimbal_roll_deg": 20.0}, "camera 20.0° off nadir (more than 15°)"),
    ({"latitude": None}, "no GPS position"),
    ({"latitude": 0.0, "longitude": 0.0}, "GPS position 0, 0 (no fix)"),
    ({"relative_altitude_m": None}, "no height above ground (RelativeAltitude) — give --ground-elevation"),
    ({"relative_altitude_m": -0.2}, "camera -0.2 m above the ground (not above it)"),
    ({"gimbal_yaw_deg": None, "flight_yaw_deg": None}, "no camera heading (GimbalYawDegree)"),
    ({"gimbal_pitch_deg": None, "flight_pitch_deg": None}, "no camera pitch (GimbalPitchDegree): cannot tell it "
                                                           "looked straight down"),
])
def test_photos_that_cannot_be_placed_say_why(brighton, change, problem):
    tags = dataclasses.replace(brighton, **change)
    assert photo_problem(tags) == problem
    if "off nadir" in problem:
        assert photo_problem(tags, max_off_nadir_deg=35.0) is None
        pose_for(tags, UTM_15N)  # the limit is the caller's
    else:
        with pytest.raises(RamsError, match=problem.split(" (")[0]) as err:
            pose_for(tags, UTM_15N)
        assert str(err.value).startswith(f"{CROP}: ")


def test_the_ground_elevation_sets_the_absolute_altitude_against_it(brighton):
    tags = dataclasses.replace(brighton, relative_altitude_m=None)
    assert photo_problem(tags, ground_elevation_m=158.5) is None
    pose, height = pose_for(tags, UTM_15N, ground_elevation_m=158.5)
    assert pose.altitude_m == pytest.approx(198.61) and height == pytest.approx(198.61 - 158.5)
    no_xmp_altitude = dataclasses.replace(tags, absolute_altitude_m=None)  # EXIF GPSAltitude instead
    assert pose_for(no_xmp_altitude, UTM_15N, ground_elevation_m=158.5)[1] == pytest.approx(198.609 - 158.5)
    assert "not above it" in photo_problem(tags, ground_elevation_m=200.0)
    assert "no altitude" in photo_problem(dataclasses.replace(no_xmp_altitude, gps_altitude_m=None),
                                          ground_elevation_m=158.5)


def test_the_brighton_pose_in_utm_with_its_yaw_from_grid_north(brighton):
    crs = utm_crs_of([brighton])
    assert crs == UTM_15N
    pose, height = pose_for(brighton, crs)
    easting, northing = Transformer.from_crs(4326, crs, always_xy=True).transform(LON, LAT)
    assert (pose.easting, pose.northing) == (pytest.approx(easting, abs=1e-6), pytest.approx(northing, abs=1e-6))
    assert pose.altitude_m == 40.1 and height == 40.1
    convergence = meridian_convergence_deg(crs, LON, LAT)
    assert convergence == pytest.approx(math.degrees(math.radians(LON + 93.0) * math.sin(math.radians(LAT))), abs=0.01)
    assert pose.yaw_deg == pytest.approx(44.2 - convergence) and pose.pitch_deg == pytest.approx(-89.9)
    assert pose.roll_deg == pytest.approx(0.0, abs=1e-9) and pose.off_nadir_deg == pytest.approx(0.1)


@pytest.mark.parametrize("lon", [LON, -95.5])  # east and west of zone 15's central meridian (93° W)
def test_true_north_lies_where_the_convergence_says(lon):
    """A heading of 0 from true north points along the meridian: in grid terms its bearing is
    minus the convergence (west of grid north east of the central meridian, in the north)."""
    to_utm = Transformer.from_crs(4326, UTM_15N, always_xy=True)
    x0, y0 = to_utm.transform(lon, LAT)
    x1, y1 = to_utm.transform(lon, LAT + 0.001)
    bearing = math.degrees(math.atan2(x1 - x0, y1 - y0))
    convergence = meridian_convergence_deg(UTM_15N, lon, LAT)
    assert bearing == pytest.approx(-convergence, abs=1e-4)
    assert (convergence > 0) == (lon > -93.0)


def test_a_photo_ground_point_lands_where_the_true_north_heading_says(brighton):
    """Looking straight down with the image top facing true north, a point imaged straight up
    the image from the centre lies due north (true) of the camera."""
    tags = dataclasses.replace(brighton, gimbal_yaw_deg=0.0, gimbal_pitch_deg=-90.0, gimbal_roll_deg=0.0)
    camera = camera_for(dataclasses.replace(tags, width_px=4000, height_px=2250))
    pose, _ = pose_for(tags, UTM_15N)
    cx, cy = camera.principal_point
    ground = to_ground(camera, pose, np.array([[cx, cy - 1000.0]]))[0]
    lon, lat = Transformer.from_crs(UTM_15N, 4326, always_xy=True).transform(ground[0], ground[1])
    assert lon == pytest.approx(LON, abs=1e-8) and lat > LAT
    assert project(camera, pose, ground[None])[0] == pytest.approx([cx, cy - 1000.0], abs=1e-6)


def test_without_gimbal_angles_the_aircraft_attitude_tilts_a_fixed_camera(brighton):
    tags = dataclasses.replace(brighton, gimbal_yaw_deg=None, gimbal_pitch_deg=None, gimbal_roll_deg=None)
    assert camera_attitude(tags) == (42.8, 0.9, 1.1)
    expected = math.degrees(math.acos(math.cos(math.radians(0.9)) * math.cos(math.radians(1.1))))
    assert off_nadir_deg(tags) == pytest.approx(expected)
    pose, height = pose_for(tags, UTM_15N)
    assert pose.off_nadir_deg == pytest.approx(expected)

    level = dataclasses.replace(tags, flight_yaw_deg=0.0, flight_pitch_deg=0.0, flight_roll_deg=5.0)
    pose, height = pose_for(level, UTM_15N)  # right side down: the camera looks to the left (west)
    camera = camera_for(dataclasses.replace(level, width_px=4000, height_px=2250))
    centre = to_ground(camera, pose, np.array([camera.principal_point]))[0]
    ahead, west = _true_north_frame(pose, LON, LAT, centre)
    assert west == pytest.approx(height * math.tan(math.radians(5.0)), rel=1e-3) and ahead == pytest.approx(0, abs=1e-3)


def _true_north_frame(pose: Pose, lon: float, lat: float, point: np.ndarray) -> tuple[float, float]:
    """(metres true north, metres west) of ``point`` from the camera."""
    gamma = math.radians(meridian_convergence_deg(UTM_15N, lon, lat))
    de, dn = point[0] - pose.easting, point[1] - pose.northing
    north = dn * math.cos(gamma) - de * math.sin(gamma)  # true north is grid north turned by -gamma
    east = de * math.cos(gamma) + dn * math.sin(gamma)
    return north, -east


@pytest.mark.parametrize("yaw, forward, sideways", [(44.2, 0.1, 0.0), (300.0, -3.0, 0.0), (10.0, 4.0, -6.0),
                                                    (90.0, 0.0, 12.0), (0.0, 0.0, 0.0)])
def test_pose_angles_reproduce_the_tilted_camera(yaw, forward, sideways):
    rotation = tilted_nadir_rotation(yaw, forward, sideways)
    angles = pose_angles(rotation)
    assert np.abs(Pose(0.0, 0.0, 0.0, *angles).rotation() - rotation).max() < 1e-12
    if sideways == 0.0:  # a forward tilt alone: the same yaw, the pitch from nadir
        assert angles[0] == pytest.approx(yaw % 360.0) and angles[1] == pytest.approx(forward - 90.0)


def test_the_utm_zone_of_a_flight(brighton):
    east = dataclasses.replace(brighton, longitude=179.9, latitude=-17.0)
    west = dataclasses.replace(brighton, longitude=-179.95, latitude=-17.0)
    assert utm_crs_of([east, west, east]) == CRS.from_epsg(32760)  # not the mean -0.03° of the numbers
    assert utm_crs_of([brighton, dataclasses.replace(brighton, latitude=None)]) == UTM_15N
    with pytest.raises(RamsError, match="none of 1 photographs has a GPS position"):
        utm_crs_of([dataclasses.replace(brighton, longitude=None)])
