"""The nadir photographs a drone would take over a synthetic scene, tagged as its camera tags them.

One scene of the generator (:func:`rams.synthetic.flight.generate_scene`, EPSG:32638 at the
synthetic flights' origin) is rendered once, ``PhotoSurvey.render_ratio`` times finer than the
photographs' GSD, by the renderer of every synthetic flight. A lawnmower flight plan crosses it:
east-west flight lines, the top of each photograph facing the way the drone flies (east, grid
heading 90°, on the first line, west on the next, and so on), the short side of the image along
the line. Each photograph's pixels are cast to the ground (level, at 0 m) with the camera model
of :mod:`rams.photos.camera` at the photograph's TRUE pose and sampled from the render (see
:func:`render_photo`); pixels that fall outside the scene get one plain ground colour. Sensor
noise is added and the photograph saved as JPEG, quality ``JPEG_QUALITY``.

The camera is a DJI FC300S (Phantom 3: focal length 3.61 mm, 1/2.3-inch sensor, 4000 x 3000
px of 1.517 µm, see ``FC300S``). To keep the preset light its photographs are rendered at 2000 x
1500 px: the same focal length and sensor, so a pixel covers twice the ground of a full-size
photograph's (GSD = height x 2 x 4.55 / 3000 mm / 3.61 mm) and the field of view is the
camera's own (FocalLengthIn35mmFilm 20).

The recorded tags are what a DJI camera writes (EXIF: Make, Model, times, focal length, GPS
position and altitude; XMP: the ``drone-dji`` attributes). Recorded and true poses differ only
in the horizontal position: its error is Gaussian with a standard deviation of ``gps_noise_m``
per horizontal axis, half of its variance a slowly drifting offset (correlation
``GPS_DRIFT_CORRELATION`` from one photograph to the next, in the order they were taken), half
independent per photograph; ``gps_noise_m=0`` records the true positions (to 1e-4 arc-second,
the resolution of the tags). Heights and gimbal angles are recorded as they were (the true
values are drawn to 0.01 m and 0.01°, the resolution of the tags).

Attitude. The gimbal's pitch and roll are tilts of a camera that would otherwise look straight
down: pitch + 90° forward (toward where the top of the photograph faces), roll sideways
(toward its left), the yaw turning both, as :mod:`rams.photos.poses` reads them; the TRUE pose
is that rotation in the camera model's angles (:func:`rams.photos.poses.pose_angles`), so a
photograph's tags, read back with ``gps_noise_m=0``, give the pose it was rendered from.

Conventions: ``RelativeAltitude`` is the camera's height above the take-off point, which is on
the (level) ground, so it is the camera's height above the ground; ``AbsoluteAltitude`` and
``GPSAltitude`` add ``GROUND_ELEVATION_M``. Yaws in the tags are clockwise from TRUE north
(-180 to 180); the camera model's yaw is clockwise from GRID north. In EPSG:32638 true north
points ``c`` degrees anticlockwise of grid north (west of it) east of the central meridian,
``c`` being PROJ's meridian convergence (``pyproj.Proj(crs).get_factors(lon,
lat).meridian_convergence``, positive there), so ``yaw_true = yaw_grid + c``.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import dask
import numpy as np
import rasterio
from affine import Affine
from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational
from pyproj import Proj, Transformer
from scipy import sparse
from scipy.ndimage import map_coordinates

from rams.errors import RamsError
from rams.outputs import move_folder_into_place
from rams.parallel import default_workers
from rams.photos.camera import Camera, Pose, ground_sample_distance, to_ground
from rams.photos.poses import pose_angles, tilted_nadir_rotation
from rams.synthetic.campaign import _check_folder
from rams.synthetic.flight import _profile, _regions, _to_cog, generate_scene
from rams.synthetic.labels import label_frames, write_labels
from rams.synthetic.render import render_region
from rams.synthetic.scene import Scene

#: The camera of a DJI Phantom 3 Advanced, as its EXIF names it: 4000 x 3000 px, focal length
#: 3.61 mm, nominal sensor 6.17 x 4.55 mm. Its pixels are square: a 4:3 photograph spans the
#: sensor's height (pitch 4.55 / 3000 mm) and 6.07 mm of its width, as
#: :mod:`rams.photos.cameras` reads the camera from rams' table.
FC300S = Camera("DJI FC300S", 4000, 3000, 3.61, 4.55 * 4 / 3, 4.55)

#: The preset's seed: a scene with two strikes' items (47, 43 of them visible) and two trenches.
PHOTO_SEED = 20240921

CRS = "EPSG:32638"
GROUND_ELEVATION_M = 350.0  # of the take-off point (and the level ground) above the datum
GPS_DRIFT_CORRELATION = 0.9  # of the drifting half of the GPS error, photo to photo
FIRST_PHOTO = dt.datetime(2024, 9, 18, 9, 40, 0)
PHOTO_INTERVAL_S = 2  # along a flight line
TURN_S = 8  # from the last photograph of a line to the first of the next
PHOTO_NOISE_DN = 2.0  # sensor noise added to each photograph (standard deviation, 0-255)
JPEG_QUALITY = 92

# How far a true pose strays from the plan: height (m), yaw, pitch off nadir, roll (degrees).
_HEIGHT_JITTER_M, _YAW_JITTER, _PITCH_JITTER, _ROLL_JITTER = 0.05, 0.5, 0.3, 0.2

TRUTH_NAME = "truth.gpkg"
ORTHO_NAME = "ortho.tif"
ORTHO_LABELS_NAME = "ortho.labels.gpkg"
PLAN_NAME = "flight_plan.csv"
PHOTO_FOLDER = "photos"

#: The columns of ``flight_plan.csv``: the true pose (the camera model's angles), the tagged
#: gimbal angles, the meridian convergence and the recorded position.
PLAN_FIELDS = ("name", "taken", "easting", "northing", "height_m", "yaw_deg", "pitch_deg",
               "roll_deg", "gimbal_yaw_deg", "gimbal_pitch_deg", "gimbal_roll_deg",
               "convergence_deg", "recorded_easting", "recorded_northing", "latitude", "longitude")


@dataclass(frozen=True)
class PhotoSurvey:
    """What is flown: the photographs' size (px; the FC300S's sensor and lens, see the module's
    docstring), their GSD at nadir (m, sets the height), photographs per flight line, flight
    lines, forward and side overlap (shares of a photograph's ground), how much finer than the
    photographs the scene is rendered, and how far the outer photographs reach past the scene
    (m, so that attitude jitter leaves no ground at its edge unseen)."""

    image_px: tuple[int, int] = (2000, 1500)
    gsd_m: float = 0.015
    photos_per_line: int = 4
    lines: int = 3
    forward_overlap: float = 0.75
    side_overlap: float = 0.65
    render_ratio: float = 1.5
    overhang_m: float = 0.3

    @property
    def camera(self) -> Camera:
        """The FC300S at ``image_px``: same focal length and sensor (mm)."""
        return replace(FC300S, width_px=self.image_px[0], height_px=self.image_px[1])

    @property
    def render_gsd_m(self) -> float:
        return self.gsd_m / self.render_ratio


#: The preset: 12 photographs of 2000 x 1500 px at 1.5 cm from 17.85 m, 3 lines of 4, over a
#: scene of 38.8 x 50.4 m.
PHOTOS = PhotoSurvey()

#: A tiny variant for quick tests: 6 photographs of 400 x 300 px at 3 cm, 2 lines of 3.
TINY = PhotoSurvey(image_px=(400, 300), gsd_m=0.03, photos_per_line=3, lines=2)


@dataclass(frozen=True)
class PlannedPhoto:
    """One photograph: its file name, when it was taken (EXIF format), its TRUE pose (the camera
    model's angles, yaw from grid north; height above the ground), what its tags record (gimbal
    yaw from true north, pitch and roll; position with GPS error, latitude and longitude in
    degrees) and the drone's own attitude."""

    name: str
    taken: str
    pose: Pose
    gimbal_yaw_deg: float
    gimbal_pitch_deg: float
    gimbal_roll_deg: float
    convergence_deg: float
    recorded_easting: float
    recorded_northing: float
    latitude: float
    longitude: float
    flight_yaw_deg: float
    flight_pitch_deg: float
    flight_roll_deg: float


@dataclass(frozen=True)
class PhotoPlan:
    """The scene and the flight over it: the camera the photographs are rendered with, the
    nominal height (m above the ground) and GSD at nadir, the spacing of photographs along a
    line and of lines (m), the overlaps they give and the photographs in the order taken."""

    scene: Scene
    crs: str
    camera: Camera
    height_m: float
    gsd_m: float
    photo_spacing_m: float
    line_spacing_m: float
    forward_overlap: float
    side_overlap: float
    gps_noise_m: float
    photos: tuple[PlannedPhoto, ...]

    @property
    def megapixels(self) -> float:
        return len(self.photos) * self.camera.width_px * self.camera.height_px / 1e6


@dataclass(frozen=True)
class PhotoFiles:
    """What :func:`generate_photos` wrote: the photographs (``photos/DJI_0001.JPG`` ...), the
    scene's truth, the orthomosaic of the same scene at the photographs' GSD with its labels,
    the flight plan (true and recorded poses, CSV) and the plan itself."""

    folder: Path
    photos: tuple[Path, ...]
    truth: Path
    ortho: Path
    ortho_labels: Path
    flight_plan: Path
    plan: PhotoPlan


def _check_survey(survey: PhotoSurvey) -> None:
    where = "photo survey"
    if min(survey.image_px) < 16:
        raise RamsError(where, f"photographs of {survey.image_px} px are too small (minimum 16 px)")
    if not (0.005 <= survey.render_gsd_m and survey.gsd_m <= 0.2):
        raise RamsError(where, f"GSD {survey.gsd_m} m with render ratio {survey.render_ratio} is "
                        "outside 0.005-0.2 m")
    if not (0 <= survey.forward_overlap < 1 and 0 <= survey.side_overlap < 1):
        raise RamsError(where, "overlaps are shares of a photograph, from 0 to below 1")
    if survey.photos_per_line < 1 or survey.lines < 1:
        raise RamsError(where, "at least one photograph on at least one line")


def gps_errors(rng: np.random.Generator, n: int, sigma_m: float) -> np.ndarray:
    """GPS errors (n x 2, m, east and north) of ``n`` photographs in the order taken: Gaussian,
    ``sigma_m`` per axis; half of the variance drifts (AR(1), ``GPS_DRIFT_CORRELATION``), half
    is independent per photograph."""
    rho = GPS_DRIFT_CORRELATION
    z = rng.standard_normal((2, n, 2))
    drift = np.empty((n, 2))
    drift[0] = z[0, 0]
    for k in range(1, n):
        drift[k] = rho * drift[k - 1] + math.sqrt(1 - rho * rho) * z[0, k]
    return sigma_m * math.sqrt(0.5) * (drift + z[1])


def _dms(value: float) -> tuple[int, int, int]:
    """|value| degrees as (degrees, minutes, ten-thousandths of an arc-second)."""
    total = round(abs(value) * 3600 * 10_000)
    deg, rest = divmod(total, 3600 * 10_000)
    minutes, sec = divmod(rest, 60 * 10_000)
    return deg, minutes, sec


def _from_dms(value: float) -> float:
    deg, minutes, sec = _dms(value)
    return math.copysign(deg + minutes / 60 + sec / 10_000 / 3600, value)


def _wrap(deg: float) -> float:
    """An angle in degrees to (-180, 180]."""
    w = (deg + 180.0) % 360.0 - 180.0
    return 180.0 if w == -180.0 else w


def plan_photos(seed: int = PHOTO_SEED, gps_noise_m: float = 1.0,
                survey: PhotoSurvey = PHOTOS) -> PhotoPlan:
    """The scene and the flight over it (nothing rendered).

    The height gives the survey's GSD at nadir (to 0.01 m); photographs along a line are spaced
    for ``survey.forward_overlap``, lines for ``survey.side_overlap``; the scene is as large as
    the photographs' ground less ``survey.overhang_m`` all round, on whole pixels of the render
    and of the photographs' GSD. The same arguments give the same plan; the true poses do not
    depend on ``gps_noise_m``."""
    _check_survey(survey)
    if not gps_noise_m >= 0:
        raise RamsError("photo survey", f"gps_noise_m must be 0 or more, not {gps_noise_m}")
    cam = survey.camera
    fx, fy = cam.focal_px
    height = round(survey.gsd_m * (fx + fy) / 2, 2)
    along = cam.height_px * height / fy  # a photograph's ground along the line (image rows)
    across = cam.width_px * height / fx
    step = (1 - survey.forward_overlap) * along
    gap = (1 - survey.side_overlap) * across
    n_along, n_lines = survey.photos_per_line, survey.lines
    size_m = ((n_along - 1) * step + along - 2 * survey.overhang_m,
              (n_lines - 1) * gap + across - 2 * survey.overhang_m)
    width_px, height_px = (_whole_pixels(s, survey) for s in size_m)
    scene = generate_scene(width_px, height_px, survey.render_gsd_m, seed, CRS)
    xmin, ymin, xmax, ymax = scene.bounds
    x0 = (xmin + xmax) / 2 - (n_along - 1) * step / 2
    y0 = (ymin + ymax) / 2 + (n_lines - 1) * gap / 2

    proj = Proj(CRS)
    to_lonlat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    from_lonlat = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    rng = np.random.default_rng([seed, 0xD1C0])
    errors = gps_errors(np.random.default_rng([seed, 0x6795]), n_along * n_lines, gps_noise_m)
    photos: list[PlannedPhoto] = []
    for line in range(n_lines):
        heading = 90.0 if line % 2 == 0 else 270.0
        order = range(n_along) if line % 2 == 0 else range(n_along - 1, -1, -1)
        for i in order:
            k = len(photos)
            e, n = x0 + i * step, y0 - line * gap
            lon, lat = to_lonlat.transform(e, n)
            conv = float(proj.get_factors(lon, lat).meridian_convergence)
            jitter = rng.standard_normal(7)
            yaw_tn = round(_wrap(heading + conv + _YAW_JITTER * float(jitter[0])), 2)
            pitch = round(-90.0 + abs(float(_PITCH_JITTER * jitter[2])), 2)
            roll = round(float(_ROLL_JITTER * jitter[3]), 2) + 0.0
            yaw, pose_pitch, pose_roll = pose_angles(tilted_nadir_rotation(yaw_tn - conv, pitch + 90.0, roll))
            pose = Pose(float(e), float(n), round(float(height + _HEIGHT_JITTER_M * jitter[1]), 2),
                        yaw_deg=_wrap(yaw), pitch_deg=pose_pitch, roll_deg=pose_roll)
            rlon, rlat = to_lonlat.transform(e + errors[k, 0], n + errors[k, 1])
            rlon, rlat = _from_dms(rlon), _from_dms(rlat)
            re, rn = from_lonlat.transform(rlon, rlat)
            taken = FIRST_PHOTO + dt.timedelta(seconds=k * PHOTO_INTERVAL_S + line * TURN_S)
            photos.append(PlannedPhoto(
                name=f"DJI_{k + 1:04d}.JPG", taken=taken.strftime("%Y:%m:%d %H:%M:%S"),
                pose=pose, gimbal_yaw_deg=yaw_tn, gimbal_pitch_deg=pitch, gimbal_roll_deg=roll,
                convergence_deg=conv,
                recorded_easting=float(re), recorded_northing=float(rn),
                latitude=rlat, longitude=rlon,
                flight_yaw_deg=round(_wrap(yaw_tn + float(jitter[4])), 1),
                flight_pitch_deg=round(1.5 * float(jitter[5]), 1) + 0.0,
                flight_roll_deg=round(1.5 * float(jitter[6]), 1) + 0.0))
    return PhotoPlan(scene, CRS, cam, height, ground_sample_distance(cam, height), step, gap,
                     1 - step / along, 1 - gap / across, float(gps_noise_m), tuple(photos))


def _whole_pixels(size_m: float, survey: PhotoSurvey) -> int:
    """Render pixels nearest ``size_m`` that are also whole pixels at the photographs' GSD."""
    near = round(size_m / survey.gsd_m)
    for n in sorted(range(max(1, near - 8), near + 9), key=lambda n: (abs(n - near), n)):
        fine = n * survey.render_ratio
        if abs(fine - round(fine)) < 1e-9:
            return max(16, round(fine))
    raise RamsError("photo survey", f"render ratio {survey.render_ratio} puts no whole render "
                    "pixel on the photographs' pixels")


# --- the scene's render and its coarser levels ------------------------------------------------

@dataclass(frozen=True)
class _Render:
    """The scene rendered at its GSD (level 0, uint8 (3, h, w)) and levels of 2 x 2 means."""

    levels: tuple[np.ndarray, ...]
    bounds: tuple[float, float, float, float]
    gsd_m: float
    plain: np.ndarray  # the ground colour outside the scene, 0-255 (3,)


def _render_scene(scene: Scene, workers: int) -> np.ndarray:
    """The scene at its GSD: uint8 RGB (3, h, w), regions rendered on ``workers`` threads."""
    xmin, ymin, xmax, ymax = scene.bounds
    width, height = round((xmax - xmin) / scene.gsd_m), round((ymax - ymin) / scene.gsd_m)
    rgb = np.empty((3, height, width), np.uint8)
    windows = list(_regions(width, height))
    tasks = [dask.delayed(render_region)(scene, int(w.row_off), int(w.col_off), int(w.height),
                                         int(w.width)) for w in windows]
    for w, (part, _) in zip(windows, dask.compute(*tasks, scheduler="threads", num_workers=workers),
                            strict=True):
        rows, cols = w.toslices()
        rgb[:, rows, cols] = part
    return rgb


def _halve(a: np.ndarray) -> np.ndarray:
    """2 x 2 means of (3, h, w); an odd last row or column is repeated."""
    a = a.astype(np.float32)
    if a.shape[1] % 2:
        a = np.concatenate([a, a[:, -1:]], axis=1)
    if a.shape[2] % 2:
        a = np.concatenate([a, a[:, :, -1:]], axis=2)
    return 0.25 * (a[:, 0::2, 0::2] + a[:, 1::2, 0::2] + a[:, 0::2, 1::2] + a[:, 1::2, 1::2])


def _levels(rgb: np.ndarray, scene: Scene) -> _Render:
    levels = [rgb, _halve(rgb)]
    levels.append(_halve(levels[-1]))
    plain = np.median(levels[-1].reshape(3, -1), axis=1).astype(np.float32)
    return _Render(tuple(levels), scene.bounds, scene.gsd_m, plain)


# --- photographs ------------------------------------------------------------------------------

_CHUNK_ROWS = 128


def _sample(render: _Render, level: int, e: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Bilinear samples (3, N) of a level at ground points."""
    texel = render.gsd_m * 2 ** level
    xmin, _, _, ymax = render.bounds
    coords = np.stack([(ymax - n) / texel - 0.5, (e - xmin) / texel - 0.5])
    src = render.levels[level]
    return np.stack([map_coordinates(src[b], coords, order=1, mode="nearest", output=np.float32)
                     for b in range(3)])


def render_photo(render: _Render, camera: Camera, pose: Pose, ratio: float,
                 noise: np.random.Generator | None) -> np.ndarray:
    """The photograph (uint8 (H, W, 3)) a camera at ``pose`` takes of the rendered scene.

    Each pixel's centre is cast to the ground (level, 0 m) and the render is sampled there,
    bilinearly, from the level whose texels are about 1/``ratio`` of the pixel's ground (so a
    pixel far off nadir, covering more ground, averages more of it), blending the two nearest
    levels; ``noise`` adds sensor noise (``PHOTO_NOISE_DN``)."""
    w, h = camera.width_px, camera.height_px
    (fx, fy), (cx, cy) = camera.focal_px, camera.principal_point
    xmin, ymin, xmax, ymax = render.bounds
    top = len(render.levels) - 1
    out = np.empty((h, w, 3), np.uint8)
    cols = np.arange(w) + 0.5
    for r0 in range(0, h, _CHUNK_ROWS):
        rows = np.arange(r0, min(h, r0 + _CHUNK_ROWS)) + 0.5
        cc, rr = np.meshgrid(cols, rows)
        xyz = to_ground(camera, pose, np.column_stack([cc.ravel(), rr.ravel()]), 0.0)
        e, n = xyz[:, 0], xyz[:, 1]
        # a pixel's ground: t^3 cos^3(a) / (fx fy H) for a ray of length t, a off the axis
        x, y = camera.undistort((cc.ravel() - cx) / fx, (rr.ravel() - cy) / fy)
        t = np.linalg.norm(xyz - [pose.easting, pose.northing, pose.altitude_m], axis=1)
        cos_a = 1 / np.sqrt(1 + x * x + y * y)
        gsd = np.sqrt((t * cos_a) ** 3 / (fx * fy * pose.altitude_m))
        level = np.clip(np.log2(gsd / (ratio * render.gsd_m)), 0, top)
        lo = np.minimum(np.floor(level), top - 1).astype(np.intp)
        frac = (level - lo).astype(np.float32)
        value = np.empty((3, len(e)), np.float32)
        for k in np.unique(lo):
            at = lo == k
            a, b = _sample(render, k, e[at], n[at]), _sample(render, k + 1, e[at], n[at])
            value[:, at] = a + frac[at] * (b - a)
        outside = ~((e >= xmin) & (e <= xmax) & (n >= ymin) & (n <= ymax))
        value[:, outside] = render.plain[:, None]
        if noise is not None:
            value += PHOTO_NOISE_DN * noise.standard_normal(value.shape, dtype=np.float32)
        chunk = np.clip(value + 0.5, 0, 255).astype(np.uint8)
        out[r0:r0 + len(rows)] = chunk.T.reshape(len(rows), w, 3)
    return out


def _rational(value: float, denominator: int) -> IFDRational:
    return IFDRational(round(value * denominator), denominator)


def photo_exif(photo: PlannedPhoto, camera: Camera) -> bytes:
    """The EXIF block a DJI FC300S writes (IFD0, Exif and GPS IFDs), for ``photo``."""
    exif = Image.Exif()
    exif[0x010E] = f"DCIM\\100MEDIA\\{photo.name}"  # ImageDescription
    exif[0x010F] = "DJI"  # Make
    exif[0x0110] = "FC300S"  # Model
    exif[0x0112] = 1  # Orientation
    exif[0x011A] = IFDRational(72, 1)  # XResolution
    exif[0x011B] = IFDRational(72, 1)  # YResolution
    exif[0x0128] = 2  # ResolutionUnit: inch
    exif[0x0131] = "rams synthetic photographs"  # Software
    exif[0x0132] = photo.taken  # DateTime
    exif[0x0213] = 1  # YCbCrPositioning
    sub = exif.get_ifd(ExifTags.IFD.Exif)
    sub[0x829A] = IFDRational(1, 800)  # ExposureTime
    sub[0x829D] = IFDRational(28, 10)  # FNumber
    sub[0x8822] = 2  # ExposureProgram: normal
    sub[0x8827] = 100  # ISOSpeedRatings
    sub[0x9000] = b"0230"  # ExifVersion
    sub[0x9003] = photo.taken  # DateTimeOriginal
    sub[0x9004] = photo.taken  # DateTimeDigitized
    sub[0x9204] = IFDRational(0, 1)  # ExposureBiasValue
    sub[0x9207] = 2  # MeteringMode: centre-weighted
    sub[0x9209] = 32  # Flash: none
    sub[0x920A] = _rational(camera.focal_mm, 100)  # FocalLength
    sub[0xA001] = 1  # ColorSpace: sRGB
    sub[0xA002] = camera.width_px  # ExifImageWidth
    sub[0xA003] = camera.height_px  # ExifImageHeight
    sub[0xA402] = 0  # ExposureMode: auto
    sub[0xA403] = 0  # WhiteBalance: auto
    sub[0xA405] = 20  # FocalLengthIn35mmFilm
    sub[0xA406] = 0  # SceneCaptureType: standard
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[0x00] = b"\x02\x03\x00\x00"  # GPSVersionID
    gps[0x01] = "N" if photo.latitude >= 0 else "S"
    gps[0x02] = tuple(IFDRational(v, d) for v, d in zip(_dms(photo.latitude), (1, 1, 10_000), strict=True))
    gps[0x03] = "E" if photo.longitude >= 0 else "W"
    gps[0x04] = tuple(IFDRational(v, d) for v, d in zip(_dms(photo.longitude), (1, 1, 10_000), strict=True))
    gps[0x05] = b"\x00"  # GPSAltitudeRef: above sea level
    gps[0x06] = _rational(photo.pose.altitude_m + GROUND_ELEVATION_M, 1000)  # GPSAltitude
    return exif.tobytes()


def photo_xmp(photo: PlannedPhoto) -> bytes:
    """The XMP packet a DJI camera writes, with its ``drone-dji`` attributes, for ``photo``."""
    day = photo.taken[:10].replace(":", "-")
    dji = {
        "AbsoluteAltitude": photo.pose.altitude_m + GROUND_ELEVATION_M,
        "RelativeAltitude": photo.pose.altitude_m,
        "GimbalRollDegree": photo.gimbal_roll_deg,
        "GimbalYawDegree": photo.gimbal_yaw_deg,
        "GimbalPitchDegree": photo.gimbal_pitch_deg,
        "FlightRollDegree": photo.flight_roll_deg,
        "FlightYawDegree": photo.flight_yaw_deg,
        "FlightPitchDegree": photo.flight_pitch_deg,
    }
    attrs = "".join(f'   drone-dji:{k}="{v:+.2f}"\n' for k, v in dji.items())
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about="DJI Meta Data"\n'
        '    xmlns:tiff="http://ns.adobe.com/tiff/1.0/"\n'
        '    xmlns:exif="http://ns.adobe.com/exif/1.0/"\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        '    xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"\n'
        '    xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/"\n'
        f'   xmp:ModifyDate="{day}"\n'
        f'   xmp:CreateDate="{day}"\n'
        '   tiff:Make="DJI"\n'
        '   tiff:Model="FC300S"\n'
        '   dc:format="image/jpeg"\n'
        f"{attrs}"
        '   crs:Version="7.0"\n'
        '   crs:HasSettings="False"\n'
        '   crs:HasCrop="False"\n'
        '   crs:AlreadyApplied="False">\n'
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        + (" " * 100 + "\n") * 20
        + '<?xpacket end="w"?>\n'
    )
    return packet.encode("utf-8")


def _write_photo(render: _Render, plan: PhotoPlan, k: int, ratio: float, seed: int,
                 folder: Path) -> Path:
    photo = plan.photos[k]
    noise = np.random.default_rng([seed, 0x9407, k])
    rgb = render_photo(render, plan.camera, photo.pose, ratio, noise)
    path = folder / photo.name
    Image.fromarray(rgb).save(path, "JPEG", quality=JPEG_QUALITY, exif=photo_exif(photo, plan.camera),
                              xmp=photo_xmp(photo))
    return path


# --- the orthomosaic, the truth and the plan ---------------------------------------------------

def _area_weights(n_in: int, n_out: int) -> sparse.csr_matrix:
    """(n_out, n_in) weights averaging input pixels over each output pixel's span, by area."""
    ratio = n_in / n_out
    lo = np.arange(n_out) * ratio
    first = np.floor(lo).astype(np.int64)
    rows, cols, weights = [], [], []
    for k in range(math.ceil(ratio) + 1):
        i = first + k
        overlap = np.minimum(i + 1, lo + ratio) - np.maximum(i, lo)
        keep = (overlap > 1e-12) & (i < n_in)
        rows.append(np.flatnonzero(keep))
        cols.append(i[keep])
        weights.append(overlap[keep] / ratio)
    return sparse.csr_matrix((np.concatenate(weights).astype(np.float32),
                              (np.concatenate(rows), np.concatenate(cols))), shape=(n_out, n_in))


def _ortho_pixels(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """The render averaged by area onto a coarser grid of the same ground: uint8 (3, h, w)."""
    rows, cols = _area_weights(rgb.shape[1], height), _area_weights(rgb.shape[2], width)
    out = np.empty((3, height, width), np.uint8)
    for b in range(3):
        band = cols @ (rows @ rgb[b].astype(np.float32)).T
        out[b] = np.clip(band.T + 0.5, 0, 255).astype(np.uint8)
    return out


def _write_ortho(rgb: np.ndarray, plan: PhotoPlan, gsd_m: float, out: Path, workers: int) -> Path:
    """The scene at the photographs' GSD, a tiled cloud-optimised GeoTIFF dated by
    TIFFTAG_DATETIME (the first photograph's time)."""
    xmin, ymin, xmax, ymax = plan.scene.bounds
    width, height = round((xmax - xmin) / gsd_m), round((ymax - ymin) / gsd_m)
    pixels = _ortho_pixels(rgb, width, height)
    crs = rasterio.crs.CRS.from_user_input(plan.crs)
    raw = out.with_name(out.name + ".raw.tif")
    try:
        with rasterio.Env(GDAL_NUM_THREADS=str(workers)):
            profile = _profile(width, height, crs, Affine(gsd_m, 0.0, xmin, 0.0, -gsd_m, ymax), 3,
                               "uint8")
            with rasterio.open(raw, "w", **profile, photometric="RGB") as dst:
                dst.update_tags(TIFFTAG_DATETIME=plan.photos[0].taken)
                dst.write(pixels)
            _to_cog(raw, out, workers, "AVERAGE")
    finally:
        raw.unlink(missing_ok=True)
    return out


def _write_plan(plan: PhotoPlan, path: Path) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(PLAN_FIELDS)
        for p in plan.photos:
            q = p.pose
            writer.writerow([p.name, p.taken, f"{q.easting:.4f}", f"{q.northing:.4f}",
                             f"{q.altitude_m:.2f}", f"{q.yaw_deg:.6f}", f"{q.pitch_deg:.6f}",
                             f"{q.roll_deg:.6f}", f"{p.gimbal_yaw_deg:.2f}", f"{p.gimbal_pitch_deg:.2f}",
                             f"{p.gimbal_roll_deg:.2f}", f"{p.convergence_deg:.6f}",
                             f"{p.recorded_easting:.4f}", f"{p.recorded_northing:.4f}",
                             f"{p.latitude:.10f}", f"{p.longitude:.10f}"])
    return path


def read_flight_plan(path: str | os.PathLike) -> list[dict[str, str | float]]:
    """The rows of a ``flight_plan.csv``: ``name`` and ``taken`` as text, the rest as floats."""
    with open(path, newline="", encoding="utf-8") as f:
        return [{k: (v if k in ("name", "taken") else float(v)) for k, v in row.items()}
                for row in csv.DictReader(f)]


def generate_photos(outdir: str | os.PathLike, *, seed: int = PHOTO_SEED, gps_noise_m: float = 1.0,
                    overwrite: bool = False, workers: int | None = None,
                    survey: PhotoSurvey = PHOTOS) -> PhotoFiles:
    """Write into folder ``outdir`` the photographs a drone takes over a synthetic scene and the
    scene's truth (see the module's docstring for the camera, the flight and the tags):

    - ``photos/DJI_0001.JPG`` ...: JPEG (quality 92) with DJI's EXIF and XMP tags, in the
      order taken;
    - ``truth.gpkg``: the scene's labels, the layers of every synthetic flight
      (``submunitions`` with ``strike_id``, ``trenches``, ...), EPSG:32638;
    - ``ortho.tif`` and ``ortho.labels.gpkg``: the same scene as an orthomosaic at the
      photographs' GSD (the render averaged by area), a tiled cloud-optimised GeoTIFF dated by
      TIFFTAG_DATETIME, with the same labels: the survey the photographs are compared with;
    - ``flight_plan.csv``: per photograph its true pose (easting, northing, height above the
      ground; yaw from grid north, pitch and roll in the camera model's angles), its tagged
      gimbal yaw (from true north), pitch and roll, the meridian convergence, and its recorded
      position (easting, northing, latitude, longitude); :func:`read_flight_plan` reads it.

    The same arguments give byte-identical files. Everything is written into a temporary folder
    beside ``outdir`` and renamed into place when complete. An ``outdir`` holding anything is
    refused (`RamsError`) unless ``overwrite``, when it is replaced once the new one is done.
    ``workers``: threads (default: the cores this process may use); ``survey``: the flight
    (default ``PHOTOS``; ``TINY`` for a quick one)."""
    out = Path(outdir)
    _check_folder(out, overwrite)
    plan = plan_photos(seed, gps_noise_m, survey)
    workers = workers or default_workers()
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.parent / f".{out.name}.{uuid.uuid4().hex[:12]}.tmp"
    work.mkdir()
    try:
        rgb = _render_scene(plan.scene, workers)
        render = _levels(rgb, plan.scene)
        (work / PHOTO_FOLDER).mkdir()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            photos = list(pool.map(lambda k: _write_photo(render, plan, k, survey.render_ratio, seed,
                                                          work / PHOTO_FOLDER),
                                   range(len(plan.photos))))
        _write_ortho(rgb, plan, survey.gsd_m, work / ORTHO_NAME, workers)
        frames = label_frames(plan.scene, rasterio.crs.CRS.from_user_input(plan.crs).to_wkt())
        write_labels(frames, work / TRUTH_NAME)
        write_labels(frames, work / ORTHO_LABELS_NAME)
        _write_plan(plan, work / PLAN_NAME)
        move_folder_into_place(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return PhotoFiles(out, tuple(out / PHOTO_FOLDER / p.name for p in photos), out / TRUTH_NAME,
                      out / ORTHO_NAME, out / ORTHO_LABELS_NAME, out / PLAN_NAME, plan)


__all__ = ["FC300S", "PHOTOS", "PHOTO_SEED", "TINY", "PhotoFiles", "PhotoPlan", "PhotoSurvey",
           "PlannedPhoto", "generate_photos", "gps_errors", "photo_exif", "photo_xmp",
           "plan_photos", "read_flight_plan", "render_photo"]
