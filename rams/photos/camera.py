"""The camera model that places a photograph's pixels on the ground, and the ground in a photograph.

A pinhole camera with Brown-Conrady lens distortion (radial k1, k2, k3; tangential p1, p2, in
normalised image coordinates), posed by its position and its gimbal's yaw, pitch and roll as
drones record them: yaw clockwise from grid north (the heading the top of a nadir photograph
faces), pitch from the horizon (-90° looks straight down), roll about the optical axis.

World coordinates are a projected CRS (easting, northing in metres) with heights in metres;
image coordinates are pixels with (0, 0) at the top-left corner of the top-left pixel, so a
pixel's centre is at (col + 0.5, row + 0.5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely


@dataclass(frozen=True)
class Camera:
    """A camera's intrinsics: image size (px), focal length and sensor size (mm), principal point
    offset from the image centre (px) and lens distortion (Brown-Conrady, normalised units)."""

    name: str
    width_px: int
    height_px: int
    focal_mm: float
    sensor_width_mm: float
    sensor_height_mm: float
    cx_offset_px: float = 0.0
    cy_offset_px: float = 0.0
    k1: float = 0.0
    k2: float = 0.0
    k3: float = 0.0
    p1: float = 0.0
    p2: float = 0.0

    @property
    def focal_px(self) -> tuple[float, float]:
        """Focal length in pixels along the image's columns and rows."""
        return (self.focal_mm / self.sensor_width_mm * self.width_px,
                self.focal_mm / self.sensor_height_mm * self.height_px)

    @property
    def principal_point(self) -> tuple[float, float]:
        """(col, row) in pixels of the optical axis."""
        return self.width_px / 2 + self.cx_offset_px, self.height_px / 2 + self.cy_offset_px

    @property
    def distorted(self) -> bool:
        return any((self.k1, self.k2, self.k3, self.p1, self.p2))

    def distort(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normalised ideal image coordinates to where the lens puts them."""
        r2 = x * x + y * y
        radial = 1 + r2 * (self.k1 + r2 * (self.k2 + r2 * self.k3))
        xd = x * radial + 2 * self.p1 * x * y + self.p2 * (r2 + 2 * x * x)
        yd = y * radial + self.p1 * (r2 + 2 * y * y) + 2 * self.p2 * x * y
        return xd, yd

    def undistort(self, xd: np.ndarray, yd: np.ndarray, iterations: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """The inverse of :meth:`distort`, by fixed-point iteration (exact to far below a pixel for
        survey lenses)."""
        x, y = xd.copy(), yd.copy()
        if not self.distorted:
            return x, y
        for _ in range(iterations):
            r2 = x * x + y * y
            radial = 1 + r2 * (self.k1 + r2 * (self.k2 + r2 * self.k3))
            dx = 2 * self.p1 * x * y + self.p2 * (r2 + 2 * x * x)
            dy = self.p1 * (r2 + 2 * y * y) + 2 * self.p2 * x * y
            x, y = (xd - dx) / radial, (yd - dy) / radial
        return x, y


@dataclass(frozen=True)
class Pose:
    """Where a camera was and where it looked: its centre (``easting``, ``northing``, ``altitude_m``
    in the projected CRS and the heights' datum, metres) and its gimbal's ``yaw_deg`` (clockwise
    from grid north), ``pitch_deg`` (-90: nadir) and ``roll_deg``."""

    easting: float
    northing: float
    altitude_m: float
    yaw_deg: float
    pitch_deg: float = -90.0
    roll_deg: float = 0.0

    @property
    def off_nadir_deg(self) -> float:
        """How far the optical axis is from straight down (degrees)."""
        return math.degrees(math.acos(min(1.0, max(-1.0, -self.rotation()[2, 2]))))

    def rotation(self) -> np.ndarray:
        """3 × 3 matrix taking camera axes (x right, y down, z along the optical axis) to world
        axes (east, north, up)."""
        yaw, pitch, roll = (math.radians(v) for v in (self.yaw_deg, self.pitch_deg, self.roll_deg))
        level = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # looking north, level
        c, s = math.cos(roll), math.sin(roll)
        about_axis = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])  # roll about north (the axis)
        c, s = math.cos(pitch), math.sin(pitch)
        tilt = np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])  # pitch about east
        c, s = math.cos(-yaw), math.sin(-yaw)
        heading = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])  # clockwise from north
        return heading @ tilt @ about_axis @ level


def project(camera: Camera, pose: Pose, xyz: np.ndarray) -> np.ndarray:
    """Ground points (N × 3: easting, northing, height; metres) to pixel coordinates (N × 2: col,
    row) in the photograph; points behind the camera come out as NaN."""
    xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
    centre = np.array([pose.easting, pose.northing, pose.altitude_m])
    cam = (xyz - centre) @ pose.rotation()  # rows: R^T (P - C)
    with np.errstate(divide="ignore", invalid="ignore"):
        x, y = cam[:, 0] / cam[:, 2], cam[:, 1] / cam[:, 2]
    x[cam[:, 2] <= 0] = np.nan
    y[cam[:, 2] <= 0] = np.nan
    xd, yd = camera.distort(x, y)
    (fx, fy), (cx, cy) = camera.focal_px, camera.principal_point
    return np.column_stack([fx * xd + cx, fy * yd + cy])


def rays(camera: Camera, pose: Pose, colrow: np.ndarray) -> np.ndarray:
    """Unit directions (N × 3, world axes) of the rays through pixel coordinates (N × 2)."""
    colrow = np.asarray(colrow, dtype=np.float64).reshape(-1, 2)
    (fx, fy), (cx, cy) = camera.focal_px, camera.principal_point
    x, y = camera.undistort((colrow[:, 0] - cx) / fx, (colrow[:, 1] - cy) / fy)
    d = np.column_stack([x, y, np.ones_like(x)]) @ pose.rotation().T
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def to_ground(camera: Camera, pose: Pose, colrow: np.ndarray, ground_m: float | np.ndarray = 0.0,
              surface=None, iterations: int = 4) -> np.ndarray:
    """Pixel coordinates (N × 2) to ground points (N × 3: easting, northing, height).

    The ground is the level plane at ``ground_m`` (one height, or one per point), or with
    ``surface`` (a function of eastings and northings giving heights in metres, a DSM sampler)
    the surface, reached by re-intersecting the ray with the height found under its previous
    intersection (``iterations`` times; NaN heights fall back to ``ground_m``). Rays that never
    reach the ground (at or above the horizon) give NaN.
    """
    d = rays(camera, pose, colrow)
    centre = np.array([pose.easting, pose.northing, pose.altitude_m])
    height = np.broadcast_to(np.asarray(ground_m, dtype=np.float64), (len(d),)).copy()
    for step in range(iterations + 1 if surface is not None else 1):
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (height - centre[2]) / d[:, 2]
        t[t <= 0] = np.nan
        xyz = centre + t[:, None] * d
        if surface is None or step == iterations:
            break
        found = np.asarray(surface(xyz[:, 0], xyz[:, 1]), dtype=np.float64)
        height = np.where(np.isfinite(found), found, height)
    return xyz


def ground_sample_distance(camera: Camera, height_above_ground_m: float) -> float:
    """Metres per pixel at the image centre of a nadir photograph taken ``height_above_ground_m``
    above the ground."""
    return height_above_ground_m / float(np.mean(camera.focal_px))


def footprint(camera: Camera, pose: Pose, ground_m: float = 0.0, surface=None,
              per_side: int = 16) -> shapely.Polygon:
    """The ground a photograph shows (Polygon in the pose's projected CRS): its border, ``per_side``
    points along each edge, cast onto the ground (see :func:`to_ground`)."""
    w, h = camera.width_px, camera.height_px
    s = np.linspace(0.0, 1.0, per_side, endpoint=False)
    border = np.concatenate([
        np.column_stack([s * w, np.zeros_like(s)]), np.column_stack([np.full_like(s, w), s * h]),
        np.column_stack([w - s * w, np.full_like(s, h)]), np.column_stack([np.zeros_like(s), h - s * h]),
    ])
    xyz = to_ground(camera, pose, border, ground_m, surface)
    if not np.isfinite(xyz).all():
        return shapely.Polygon()
    return shapely.make_valid(shapely.Polygon(xyz[:, :2]))
