"""Where a photograph was taken and where it looked: a :class:`~rams.photos.camera.Pose` in a
projected CRS from its tags, and the reasons a photograph cannot be placed.

Heights. Without a ground elevation the ground is the level plane of the take-off point (height
0) and the camera is at its height above it, DJI's RelativeAltitude: right where the ground is
about as high as where the drone took off. With ``ground_elevation_m`` the camera is at its
altitude (DJI's AbsoluteAltitude, else EXIF GPSAltitude) and the ground at that elevation, both
in the photograph's height datum (DJI: usually metres above mean sea level, but check a known
point: the drone's barometer drifts).

Attitude. The gimbal's pitch and roll are read as tilts of a camera that would otherwise look
straight down: pitch + 90° forward (toward where the top of the photograph faces), roll sideways
(positive: toward the left of the photograph), the yaw turning both (the reading of Pix4D's
yaw / pitch / roll, which photogrammetry tools also apply to DJI's gimbal angles). Off nadir is
then ``acos(cos(pitch + 90°) cos(roll))``. Where the gimbal's pitch is missing, the aircraft's
attitude (FlightYaw/Pitch/RollDegree) stands for it, as for a camera fixed to the airframe
looking down. The pose carries the same rotation in :class:`Pose`'s angles.

Yaw. Drones record headings from true north; a Pose's yaw is from grid north of its CRS, so the
meridian convergence at the photograph (the angle from true north to grid north, clockwise,
PROJ's ``meridian_convergence``) is subtracted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache

import numpy as np
from pyproj import CRS, Proj, Transformer

from rams.errors import RamsError
from rams.flight import utm_crs_for
from rams.photos.camera import Pose
from rams.photos.tags import PhotoTags

#: Largest angle between the optical axis and straight down accepted by default (degrees).
MAX_OFF_NADIR_DEG = 15.0

#: Below this (degrees) a camera looks straight down and its heading is that of the top of the
#: photograph.
_NADIR_EPS_DEG = 1e-9


def camera_attitude(tags: PhotoTags) -> tuple[float, float, float] | None:
    """(yaw from true north, forward tilt, sideways tilt) in degrees of a camera that looks
    straight down at (yaw, 0, 0): from the gimbal (tilt = pitch + 90, roll), else from the
    aircraft (pitch, roll); None without a pitch or a heading."""
    yaw = tags.gimbal_yaw_deg if tags.gimbal_yaw_deg is not None else tags.flight_yaw_deg
    tilts = _tilts(tags)
    return None if yaw is None or tilts is None else (yaw, *tilts)


def off_nadir_deg(tags: PhotoTags) -> float | None:
    """How far the camera looked from straight down (degrees); None without its pitch."""
    tilts = _tilts(tags)
    if tilts is None:
        return None
    forward, sideways = tilts
    cos = math.cos(math.radians(forward)) * math.cos(math.radians(sideways))
    return math.degrees(math.acos(min(1.0, max(-1.0, cos))))


def _tilts(tags: PhotoTags) -> tuple[float, float] | None:
    """(forward, sideways) tilt from straight down, degrees: the gimbal's, else the aircraft's."""
    if tags.gimbal_pitch_deg is not None:
        return tags.gimbal_pitch_deg + 90.0, tags.gimbal_roll_deg or 0.0
    if tags.flight_pitch_deg is not None:
        return tags.flight_pitch_deg, tags.flight_roll_deg or 0.0
    return None


def photo_problem(tags: PhotoTags, max_off_nadir_deg: float = MAX_OFF_NADIR_DEG, *,
                  ground_elevation_m: float | None = None) -> str | None:
    """Why the photograph cannot be placed (one short phrase), or None when it can: no
    position, no height above the ground (with ``ground_elevation_m``: no altitude, or not
    above that ground), no heading or pitch, or a camera more than ``max_off_nadir_deg`` off
    nadir."""
    if tags.latitude is None or tags.longitude is None:
        return "no GPS position"
    if tags.latitude == 0.0 and tags.longitude == 0.0:
        return "GPS position 0, 0 (no fix)"
    if ground_elevation_m is None and tags.relative_altitude_m is None:
        return "no height above ground (RelativeAltitude) — give --ground-elevation"
    height = _height(tags, ground_elevation_m)
    if height is None:
        return "no altitude (AbsoluteAltitude or GPSAltitude) to set against --ground-elevation"
    if height <= 0:
        return f"camera {height:.1f} m above the ground (not above it)"
    if tags.gimbal_yaw_deg is None and tags.flight_yaw_deg is None:
        return "no camera heading (GimbalYawDegree)"
    off = off_nadir_deg(tags)
    if off is None:
        return "no camera pitch (GimbalPitchDegree): cannot tell it looked straight down"
    if off > max_off_nadir_deg:
        return f"camera {off:.1f}° off nadir (more than {max_off_nadir_deg:g}°)"
    return None


def pose_for(tags: PhotoTags, crs: CRS | str | int, ground_elevation_m: float | None = None) -> tuple[Pose, float]:
    """The photograph's pose in projected ``crs`` and the camera's height above the ground used
    (metres). Without ``ground_elevation_m`` the pose's altitude is the height above the take-off
    point and the ground is at 0; with it, the pose's altitude is the camera's altitude and the
    ground is at ``ground_elevation_m``. Refuses (:class:`RamsError` naming the photograph) what
    :func:`photo_problem` reports, except the off-nadir limit, which is the caller's."""
    crs = CRS.from_user_input(crs)
    if not crs.is_projected:
        raise ValueError(f"a pose needs a projected CRS, got {crs.name}")
    problem = photo_problem(tags, max_off_nadir_deg=180.0, ground_elevation_m=ground_elevation_m)
    if problem is not None:
        raise RamsError(tags.path, problem)
    lon, lat = float(tags.longitude), float(tags.latitude)
    easting, northing = _to_crs(crs.to_wkt())(lon, lat)
    yaw, forward, sideways = camera_attitude(tags)
    grid_yaw = yaw - meridian_convergence_deg(crs, lon, lat)
    height = _height(tags, ground_elevation_m)
    altitude = tags.relative_altitude_m if ground_elevation_m is None else ground_elevation_m + height
    yaw_deg, pitch_deg, roll_deg = pose_angles(tilted_nadir_rotation(grid_yaw, forward, sideways))
    pose = Pose(easting=float(easting), northing=float(northing), altitude_m=float(altitude),
                yaw_deg=yaw_deg, pitch_deg=pitch_deg, roll_deg=roll_deg)
    return pose, float(height)


def meridian_convergence_deg(crs: CRS | str | int, lon: float, lat: float) -> float:
    """The angle from true north to grid north of projected ``crs`` at (lon, lat), degrees
    clockwise (positive east of a UTM zone's central meridian in the northern hemisphere): a
    heading from true north minus this is the heading from grid north."""
    crs = CRS.from_user_input(crs)
    return float(_proj(crs.to_wkt()).get_factors(lon, lat).meridian_convergence)


def utm_crs_of(tags_list: Iterable[PhotoTags]) -> CRS:
    """The WGS 84 / UTM zone of the photographs' mean position (longitudes averaged on the circle,
    so a flight across the antimeridian stays whole)."""
    tags_list = list(tags_list)
    placed = [t for t in tags_list if t.latitude is not None and t.longitude is not None]
    if not placed:
        where = tags_list[0].path if tags_list else "photographs"
        raise RamsError(where, f"none of {len(tags_list)} photographs has a GPS position")
    lon = np.radians([t.longitude for t in placed])
    mean_lon = math.degrees(math.atan2(float(np.mean(np.sin(lon))), float(np.mean(np.cos(lon)))))
    mean_lat = float(np.mean([t.latitude for t in placed]))
    return utm_crs_for(mean_lon, mean_lat)


# --- attitude ------------------------------------------------------------------------------------


def tilted_nadir_rotation(yaw_deg: float, forward_deg: float, sideways_deg: float) -> np.ndarray:
    """Camera axes to world axes (as :meth:`Pose.rotation`) of a camera looking straight down with
    the top of its image toward ``yaw_deg`` (clockwise from north), then tilted ``forward_deg``
    toward that heading and ``sideways_deg`` toward the image's left (an aircraft's pitch and roll
    with the camera fixed looking down)."""
    yaw, forward, sideways = (math.radians(v) for v in (yaw_deg, forward_deg, sideways_deg))
    c, s = math.cos(-yaw), math.sin(-yaw)
    heading = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])  # clockwise from north
    c, s = math.cos(forward), math.sin(forward)
    pitch = np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])  # nose up: the belly faces forward
    c, s = math.cos(sideways), math.sin(sideways)
    roll = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])  # right side down: looks left
    return heading @ pitch @ roll @ Pose(0.0, 0.0, 0.0, yaw_deg=0.0, pitch_deg=-90.0).rotation()


def pose_angles(rotation: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of a :class:`Pose` whose rotation is ``rotation`` (camera axes
    to world axes). Of the two that fit (the yaw toward where the optical axis leans, or away from
    it with the pitch past nadir) the one whose yaw is nearer the heading of the top of the image;
    looking straight down, the yaw is that heading."""
    r = np.asarray(rotation, dtype=np.float64)
    axis, top = r[:, 2], -r[:, 1]  # image rows run down
    top_yaw = math.degrees(math.atan2(top[0], top[1]))
    pitch = math.degrees(math.asin(min(1.0, max(-1.0, float(axis[2])))))
    if math.hypot(axis[0], axis[1]) <= math.sin(math.radians(_NADIR_EPS_DEG)):
        candidates = [(top_yaw, pitch)]
    else:
        lean = math.degrees(math.atan2(axis[0], axis[1]))
        candidates = [(lean, pitch), (lean + 180.0, math.copysign(180.0, pitch) - pitch)]
    yaw, pitch = min(candidates, key=lambda c: abs((c[0] - top_yaw + 180.0) % 360.0 - 180.0))
    about_axis = Pose(0.0, 0.0, 0.0, yaw_deg=yaw, pitch_deg=pitch).rotation().T @ r
    roll = math.degrees(math.atan2(about_axis[1, 0], about_axis[0, 0]))
    return yaw % 360.0, pitch, roll


# --- helpers -------------------------------------------------------------------------------------


def _height(tags: PhotoTags, ground_elevation_m: float | None) -> float | None:
    """The camera's height above the ground reference used (None: the tags do not give it)."""
    if ground_elevation_m is None:
        return tags.relative_altitude_m
    altitude = tags.absolute_altitude_m if tags.absolute_altitude_m is not None else tags.gps_altitude_m
    return None if altitude is None else altitude - ground_elevation_m


@lru_cache(maxsize=16)
def _to_crs(wkt: str):
    """lon, lat (WGS 84 degrees) -> x, y in the CRS of ``wkt``."""
    transformer = Transformer.from_crs(CRS.from_epsg(4326), CRS.from_wkt(wkt), always_xy=True)
    return transformer.transform


@lru_cache(maxsize=16)
def _proj(wkt: str) -> Proj:
    return Proj(CRS.from_wkt(wkt))
