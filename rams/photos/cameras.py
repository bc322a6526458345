"""Which camera took a photograph: its intrinsics (:class:`~rams.photos.camera.Camera`) from a
camera file the user gives, from rams' table of survey-drone cameras, or from the photograph's
35 mm equivalent focal length.

:func:`camera_for` tries, in order:

1. ``camera_file`` (``--camera``): a YAML file (``.yaml`` / ``.yml``) with the keys of
   :class:`CameraFile`, or the name of an entry of the table (``--camera generic-1-inch``);
2. the table ``configs/cameras.yaml`` (:class:`CameraTable`), by the photograph's EXIF Make and
   Model;
3. EXIF FocalLength and FocalLengthIn35mmFilm: the sensor's diagonal is
   ``43.27 mm * focal / focal_35mm`` (43.27 mm: the diagonal of a 36 x 24 mm frame), with the
   photograph's own aspect ratio; approximate, as cameras round the 35 mm equivalent;

and otherwise refuses, naming the photograph and asking for ``--camera``.

The image size is always the photograph's. The camera model assumes square pixels: when the
photograph's aspect ratio differs from the sensor's, the photograph covers the largest centred
part of the sensor with its own aspect ratio (a 16:9 photo from a 4:3 sensor spans the sensor's
width, so its pixel pitch is ``sensor_width_mm / width_px`` and the height it uses is
``pitch * height_px``).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import ClassVar

from rams.config import REQUIRED, Invalid, Upgrade, bounded, load_config, version_field
from rams.errors import RamsError
from rams.photos.camera import Camera
from rams.photos.tags import PhotoTags
from rams.resources import configs_dir

#: The table of cameras shipped in the configurations (``configs/cameras.yaml``).
CAMERAS_TABLE = "cameras.yaml"

#: Diagonal of the 36 x 24 mm frame that 35 mm equivalent focal lengths refer to (mm).
FULL_FRAME_DIAGONAL_MM = 43.27

_POSITIVE = {"low": 0.0, "low_open": True}


def _mm(doc: str, default=REQUIRED):
    return bounded(default, **_POSITIVE, doc=doc)


def _coefficient(doc: str):
    return bounded(0.0, -10.0, 10.0, doc=doc)


@dataclass(frozen=True)
class CameraFile:
    """A camera file (``--camera CAMERA.yaml``): the intrinsics of the camera that took the
    photographs, in the units of :class:`~rams.photos.camera.Camera`; the image size is the
    photograph's."""

    name: str
    focal_mm: float = _mm("lens focal length (mm)")
    sensor_width_mm: float = _mm("sensor width (mm)")
    sensor_height_mm: float = _mm("sensor height (mm)")
    cx_offset_px: float = bounded(0.0, doc="principal point right of the image centre (px)")
    cy_offset_px: float = bounded(0.0, doc="principal point below the image centre (px)")
    k1: float = _coefficient("radial distortion, r^2 term")
    k2: float = _coefficient("radial distortion, r^4 term")
    k3: float = _coefficient("radial distortion, r^6 term")
    p1: float = _coefficient("tangential distortion")
    p2: float = _coefficient("tangential distortion")


@dataclass(frozen=True)
class TableCamera:
    """One camera of the table: matched by EXIF ``make`` and any of ``models`` (an entry without
    them is only given by name)."""

    name: str
    sensor_width_mm: float = _mm("sensor active area width (mm)")
    sensor_height_mm: float = _mm("sensor active area height (mm)")
    make: str = ""
    models: tuple[str, ...] = ()
    focal_mm: float | None = _mm("focal length written in EXIF (mm); null: the photo must say", None)
    image_px: tuple[int, int] | None = None
    k1: float = _coefficient("radial distortion, r^2 term")
    k2: float = _coefficient("radial distortion, r^4 term")
    k3: float = _coefficient("radial distortion, r^6 term")
    p1: float = _coefficient("tangential distortion")
    p2: float = _coefficient("tangential distortion")

    def checked(self) -> TableCamera:
        if bool(self.make.strip()) != bool(self.models):
            raise Invalid("models", "make and models go together (neither: an entry given by name only)")
        return self


@dataclass(frozen=True)
class CameraTable:
    """``configs/cameras.yaml``: cameras by name."""

    UPGRADES: ClassVar[Mapping[int, Upgrade]] = {}

    schema_version: int = version_field(1)
    cameras: dict[str, TableCamera] = dataclasses.field(default_factory=dict)

    def find(self, make: str, model: str) -> TableCamera | None:
        """The entry for an EXIF make and model (case and surrounding blanks ignored)."""
        make, model = make.strip().casefold(), model.strip().casefold()
        if not make or not model:
            return None
        for entry in self.cameras.values():
            if entry.make.strip().casefold() == make and model in (m.strip().casefold() for m in entry.models):
                return entry
        return None


def cameras_table_path() -> Path:
    """The shipped table of cameras."""
    return configs_dir() / CAMERAS_TABLE


@lru_cache(maxsize=4)
def load_camera_table(path: str | os.PathLike[str] | None = None) -> CameraTable:
    """The table of cameras (the shipped one when ``path`` is None)."""
    return load_config(CameraTable, Path(path) if path is not None else cameras_table_path())


def camera_for(tags: PhotoTags, camera_file: str | os.PathLike[str] | None = None) -> Camera:
    """The camera that took the photograph ``tags`` describes (see the module's docstring for
    the order tried); refuses with :class:`RamsError` naming the photograph when none applies."""
    if camera_file is not None:
        return _from_camera_file(tags, camera_file)
    entry = load_camera_table().find(tags.make, tags.model)
    if entry is not None:
        return _from_entry(tags, entry)
    if tags.focal_mm is not None and tags.focal_35mm is not None:
        diagonal = FULL_FRAME_DIAGONAL_MM * tags.focal_mm / tags.focal_35mm
        scale = diagonal / math.hypot(tags.width_px, tags.height_px)
        label = f"{tags.make} {tags.model}".strip() or "unknown camera"
        return Camera(name=f"{label} (from its 35 mm equivalent focal length)",
                      width_px=tags.width_px, height_px=tags.height_px, focal_mm=tags.focal_mm,
                      sensor_width_mm=scale * tags.width_px, sensor_height_mm=scale * tags.height_px)
    label = f"camera {tags.make} {tags.model}".strip() if (tags.make or tags.model) else "an unnamed camera"
    raise RamsError(tags.path, f"{label} is not in rams' table of cameras and the photo has no focal length "
                               "and 35 mm equivalent: give --camera CAMERA.yaml (see docs/photos.md)")


def _from_camera_file(tags: PhotoTags, camera_file: str | os.PathLike[str]) -> Camera:
    path = Path(camera_file)
    if path.suffix.lower() not in (".yaml", ".yml"):
        table = load_camera_table()
        entry = table.cameras.get(str(camera_file))
        if entry is None:
            names = ", ".join(sorted(table.cameras))
            raise RamsError(camera_file, f"neither a camera file (.yaml) nor a camera of rams' table ({names})")
        return _from_entry(tags, entry)
    spec = load_config(CameraFile, path)
    width_mm, height_mm = _used_sensor(tags, spec.sensor_width_mm, spec.sensor_height_mm)
    return Camera(name=spec.name, width_px=tags.width_px, height_px=tags.height_px, focal_mm=spec.focal_mm,
                  sensor_width_mm=width_mm, sensor_height_mm=height_mm,
                  cx_offset_px=spec.cx_offset_px, cy_offset_px=spec.cy_offset_px,
                  k1=spec.k1, k2=spec.k2, k3=spec.k3, p1=spec.p1, p2=spec.p2)


def _from_entry(tags: PhotoTags, entry: TableCamera) -> Camera:
    focal = tags.focal_mm if tags.focal_mm is not None else entry.focal_mm
    if focal is None:
        raise RamsError(tags.path, f"no focal length in the photo's EXIF, and {entry.name} takes several lenses: "
                                   "give --camera CAMERA.yaml with focal_mm")
    width_mm, height_mm = _used_sensor(tags, entry.sensor_width_mm, entry.sensor_height_mm)
    return Camera(name=entry.name, width_px=tags.width_px, height_px=tags.height_px, focal_mm=focal,
                  sensor_width_mm=width_mm, sensor_height_mm=height_mm,
                  k1=entry.k1, k2=entry.k2, k3=entry.k3, p1=entry.p1, p2=entry.p2)


def _used_sensor(tags: PhotoTags, width_mm: float, height_mm: float) -> tuple[float, float]:
    """The part of a ``width_mm`` x ``height_mm`` sensor the photograph covers: the largest
    centred one with the photograph's aspect ratio (square pixels); a portrait photograph from
    a landscape sensor is taken as turned."""
    w, h = tags.width_px, tags.height_px
    if w <= 0 or h <= 0:
        raise RamsError(tags.path, f"image of {w} x {h} pixels")
    if (w < h) != (width_mm < height_mm) and w != h and width_mm != height_mm:
        width_mm, height_mm = height_mm, width_mm
    if w / h >= width_mm / height_mm:  # as wide as the sensor, or wider: spans its width
        return width_mm, width_mm * h / w
    return height_mm * w / h, height_mm
