"""The vector description of a synthetic survey scene, in map coordinates (metres).

Everything a flight shows is generated here first, from the seed alone; the raster is
rendered from this description and the ground-truth labels are read straight off it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

# Munition type -> (length_m, diameter_m, carried per strike, dud fraction range, colours)
MUNITIONS: dict[str, tuple[float, float, int, tuple[float, float], tuple[str, ...]]] = {
    "9N235": (0.263, 0.065, 72, (0.15, 0.35), ("olive", "grey", "green")),
    "M77": (0.083, 0.039, 644, (0.04, 0.10), ("olive", "yellow")),
    "PTAB-1M": (0.26, 0.042, 268, (0.06, 0.15), ("grey", "olive", "green")),
    "AO-2.5RT": (0.15, 0.09, 108, (0.10, 0.25), ("grey", "rust", "olive")),
    "ShOAB-0.5": (0.06, 0.06, 565, (0.03, 0.08), ("olive", "rust", "yellow")),
}

# Linear RGB (0-1) base colours of painted and weathered metal.
PAINT: dict[str, tuple[float, float, float]] = {
    "olive": (0.30, 0.31, 0.19),
    "yellow": (0.60, 0.53, 0.26),
    "grey": (0.47, 0.48, 0.46),
    "green": (0.22, 0.28, 0.18),
    "rust": (0.45, 0.26, 0.14),
}

DISTRACTOR_KINDS = ("stone", "scrap", "can", "bottle", "tyre_track", "crater", "fence_post", "bush",
                    "clod", "cap", "pine_cone", "litter", "cartridge", "fragment")


@dataclass(frozen=True)
class Strike:
    """A cluster-munition strike: its dispersal ellipse and how many items it left on the ground."""

    strike_id: int
    munition_type: str
    x: float
    y: float
    major_m: float
    minor_m: float
    azimuth_deg: float  # of the major axis, clockwise from grid north
    n_items: int


@dataclass(frozen=True)
class Item:
    """One unexploded submunition lying on the surface."""

    x: float
    y: float
    munition_type: str
    length_m: float
    diameter_m: float
    angle_rad: float  # of the long axis, counter-clockwise from grid east
    colour: tuple[float, float, float]
    visible_fraction: float
    strike_id: int
    in_grass: bool

    @property
    def reach_m(self) -> float:
        """How far from (x, y) the painted item reaches, m."""
        return 0.5 * self.length_m

    @property
    def shadow_height_m(self) -> float:
        """The height that sets how far its shadow reaches, m."""
        return self.diameter_m


@dataclass(frozen=True)
class FieldItem(Item):
    """An item of the field catalogue (see :mod:`rams.synthetic.catalogue`): its own shape,
    paint wear, rust, dust cover, pose (tilt foreshortens it, a bend deforms it) and, for
    DPICM, a ribbon trailing from the nose. ``length_m`` and ``diameter_m`` are the body's."""

    shape: str = "finned"  # finned | tailed | ribbon | sphere | butterfly | box
    width_m: float = 0.0  # widest across the long axis (fins, tail, wing), m
    height_m: float = 0.0  # how high it stands lying flat, m
    tilt_rad: float = 0.0  # nose raised off the ground (resting on something)
    bend: float = 0.0  # sideways bow of the axis, share of the length
    wear: float = 0.0  # 0-1, paint worn off to bare metal / faded plastic
    rust: float = 0.0  # 0-1, rust patches
    dirt: float = 0.0  # 0-1, dust and soil cover (desaturated, ground-coloured)
    accent: tuple[float, float, float] = (0.86, 0.86, 0.83)  # ribbon or band colour
    ribbon_m: float = 0.0  # length of the ribbon trailing from the nose
    ribbon_curl: float = 0.0  # -1..1, which way and how much the ribbon curls

    @property
    def reach_m(self) -> float:
        return 0.5 * max(self.length_m, self.width_m) + self.ribbon_m + abs(self.bend) * self.length_m

    @property
    def shadow_height_m(self) -> float:
        return self.height_m + 0.5 * self.length_m * float(np.sin(self.tilt_rad))


@dataclass(frozen=True)
class Trench:
    """A dug trench along a zig-zag or sawtooth centre line (N, 2) in metres."""

    trench_id: int
    xy: np.ndarray
    width_m: float
    depth_m: float
    shape: str
    condition: str
    berm_side: int  # +1: spoil berm left of the line direction, -1: right
    berm_width_m: float
    berm_height_m: float
    berm_xy: np.ndarray  # crest line of the spoil berm (M, 2), offset to the berm side


@dataclass(frozen=True)
class Position:
    """A dug or built military position; ``length_m`` x ``width_m`` outer size incl. berm."""

    position_id: int
    kind: str
    x: float
    y: float
    length_m: float
    width_m: float
    angle_rad: float
    depth_m: float


@dataclass(frozen=True)
class Blob:
    """A roundish object with a wavy outline r(theta) = radius (1 + sum a_k cos(k theta + p_k))."""

    kind: str
    x: float
    y: float
    radius_m: float
    harmonics: tuple[tuple[float, float], ...]
    height_m: float
    colour: tuple[float, float, float]

    def radius_at(self, theta: np.ndarray) -> np.ndarray:
        r = np.ones_like(theta)
        for k, (a, p) in enumerate(self.harmonics, start=2):
            r = r + a * np.cos(k * theta + p)
        return self.radius_m * r


@dataclass(frozen=True)
class Thing:
    """A small rigid distractor (scrap, can, bottle, fence post) of a given footprint."""

    kind: str
    x: float
    y: float
    length_m: float
    width_m: float
    angle_rad: float
    height_m: float
    colour: tuple[float, float, float]


@dataclass(frozen=True)
class Path:
    """A line feature on the ground: dirt road or tyre track, centre line (N, 2) in metres."""

    kind: str  # "road" | "tyre_track"
    xy: np.ndarray
    width_m: float  # whole width (road) or gauge between rut centres (track)


@dataclass(frozen=True)
class Field:
    """A ploughed field: rotated rectangle with furrows along its length."""

    x: float
    y: float
    length_m: float
    width_m: float
    angle_rad: float
    row_spacing_m: float


@dataclass
class Scene:
    """Everything in a flight, in map metres; ``bounds`` (xmin, ymin, xmax, ymax) of the raster."""

    seed: int
    bounds: tuple[float, float, float, float]
    gsd_m: float
    sun_azimuth_deg: float
    sun_elevation_deg: float
    fields: list[Field] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    trenches: list[Trench] = field(default_factory=list)
    positions: list[Position] = field(default_factory=list)
    craters: list[Blob] = field(default_factory=list)
    strikes: list[Strike] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    scorches: list[Blob] = field(default_factory=list)
    stones: list[Blob] = field(default_factory=list)
    things: list[Thing] = field(default_factory=list)
    vegetation: list[Blob] = field(default_factory=list)  # tree clumps, scrub and bushes

    @property
    def sun_vector(self) -> np.ndarray:
        """Unit vector towards the sun (east, north, up)."""
        a, e = np.radians(self.sun_azimuth_deg), np.radians(self.sun_elevation_deg)
        return np.array([np.sin(a) * np.cos(e), np.cos(a) * np.cos(e), np.sin(e)])

    def shadow_offset(self, height_m: float) -> tuple[float, float]:
        """Where the shadow of a point ``height_m`` above ground falls, relative to it (m)."""
        s = self.sun_vector
        k = height_m / max(s[2], 1e-3)
        return (-s[0] * k, -s[1] * k)

    @cached_property
    def index(self) -> dict[str, np.ndarray]:
        """Per layer, (N, 4) bounding boxes (xmin, ymin, xmax, ymax) incl. shadows, for culling."""
        out: dict[str, np.ndarray] = {}

        def boxes(rows: list[tuple[float, float, float, float]]) -> np.ndarray:
            return np.asarray(rows, float).reshape(-1, 4)

        def around(x: float, y: float, r: float, h: float) -> tuple[float, float, float, float]:
            sx, sy = self.shadow_offset(h)
            return (x - r + min(sx, 0), y - r + min(sy, 0), x + r + max(sx, 0), y + r + max(sy, 0))

        def line(xy: np.ndarray, r: float) -> tuple[float, float, float, float]:
            lo, hi = xy.min(0) - r, xy.max(0) + r
            return (lo[0], lo[1], hi[0], hi[1])

        out["fields"] = boxes(
            [around(f.x, f.y, 0.5 * np.hypot(f.length_m, f.width_m) + 2, 0) for f in self.fields]
        )
        out["paths"] = boxes([line(p.xy, p.width_m + 1) for p in self.paths])
        out["trenches"] = boxes(
            [line(t.xy, t.width_m / 2 + t.berm_width_m + 1) for t in self.trenches]
        )
        out["positions"] = boxes(
            [around(p.x, p.y, 0.5 * np.hypot(p.length_m, p.width_m) + 1, 0) for p in self.positions]
        )
        for name in ("craters", "scorches", "stones", "vegetation"):
            blobs: list[Blob] = getattr(self, name)
            reach = [b.radius_m * (1 + sum(abs(a) for a, _ in b.harmonics)) for b in blobs]
            out[name] = boxes(
                [around(b.x, b.y, r * 1.6 + 0.05, b.height_m)
                 for b, r in zip(blobs, reach, strict=True)]
            )
        out["things"] = boxes(
            [around(t.x, t.y, 0.5 * t.length_m + 0.05, t.height_m) for t in self.things]
        )
        out["items"] = boxes(
            [around(i.x, i.y, i.reach_m + 0.05, i.shadow_height_m) for i in self.items]
        )
        return out

    def near(self, layer: str, box: tuple[float, float, float, float]) -> list[int]:
        """Indices of the objects of ``layer`` whose bounding box meets ``box``."""
        b = self.index[layer]
        hit = (b[:, 0] <= box[2]) & (b[:, 2] >= box[0]) & (b[:, 1] <= box[3]) & (b[:, 3] >= box[1])
        return [int(i) for i in np.flatnonzero(hit)]
