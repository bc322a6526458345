"""Image chips of detections, so a reviewer can check each one by eye.

A submunition chip is a full-resolution square around the point; a position or trench chip
frames the feature's bounds with a margin, reduced to at most ``CHIP_MAX_PX``. Each chip carries its
detection as SVG markup in chip pixel coordinates, drawn over the image rather than into it
so the pixels a reviewer judges stay untouched.
"""

from __future__ import annotations

import heapq
import io
import math
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import geopandas as gpd
import numpy as np
from affine import Affine
from PIL import Image
from rasterio.windows import Window
from shapely import affinity
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

from rams.flight import Flight
from rams.flight_view import NODATA_GREY
from rams.parallel import default_workers
from rams.reading import RegionPixels

#: Side (px, full resolution) of a submunition chip.
SUBMUNITION_CHIP_PX = 96
#: Longest side (px) of a position chip; larger framings are reduced to it.
CHIP_MAX_PX = 192
#: Chips per layer in the report; the most confident detections are shown first.
CHIP_LIMIT = 500
#: Radius (m) of the ring around a submunition; kept between 6 and 30 chip px.
RING_RADIUS_M = 0.3


@dataclass(frozen=True)
class Chip:
    """One detection's image chip: PNG bytes, size (px) and SVG markup of the detection."""

    layer: str
    number: int  # 1-based row of the detection in its layer
    confidence: float | None
    x_m: float
    y_m: float
    png: bytes
    width: int
    height: int
    mark_svg: str


def ranked(frame: gpd.GeoDataFrame | None, limit: int = CHIP_LIMIT) -> list[int]:
    """Row positions of the ``limit`` most confident features (rows without confidence last)."""
    if frame is None or frame.empty:
        return []
    keep = frame.geometry.notna().to_numpy() & ~frame.geometry.is_empty.to_numpy()
    rows = np.flatnonzero(keep)
    if "confidence" in frame:
        conf = frame["confidence"].to_numpy(dtype=np.float64)[rows]
        rows = rows[np.argsort(np.where(np.isnan(conf), -np.inf, -conf), kind="stable")]
    return [int(r) for r in rows[:limit]]


def point_window(transform: Affine, point: BaseGeometry) -> tuple[Window, float, float]:
    """The chip window (px of the grid of ``transform``) centred on a point, and the point's
    position (px) inside it."""
    side = SUBMUNITION_CHIP_PX
    col_f, row_f = ~transform @ (point.x, point.y)
    window = Window(math.floor(col_f) - side // 2, math.floor(row_f) - side // 2, side, side)
    return window, col_f - window.col_off, row_f - window.row_off


def chip_key(point: BaseGeometry) -> tuple[float, float]:
    """A point's key among chips cut in the region pass: its coordinates to the millimetre."""
    return round(float(point.x), 3), round(float(point.y), 3)


def cut_point_chips(pixels: RegionPixels, transform: Affine, points: gpd.GeoDataFrame,
                    limit: int = CHIP_LIMIT) -> dict[tuple[float, float], tuple[float, bytes]]:
    """(confidence, PNG) chips of the ``limit`` most confident ``points`` (flight CRS) whose chip
    lies in a region's pixels, keyed by :func:`chip_key`: the region pass's by-product, so that
    the report decodes nothing again for them. Points nearer the read's edge than half a chip
    are left to :func:`submunition_chips`."""
    chips = {}
    for row in ranked(points, limit):
        point = _point(points.geometry.iloc[row])
        window, _, _ = point_window(transform, point)
        if window.intersection(pixels.window) != window:
            continue
        rgb, valid = pixels.view(window)
        chips[chip_key(point)] = (float(points["confidence"].iloc[row]), _png(_padded(rgb, valid)))
    return chips


class BestChips:
    """The chips of the ``limit`` most confident points among those regions return, kept as
    each region finishes, so that memory holds ``limit`` chips, not every region's."""

    def __init__(self, limit: int = CHIP_LIMIT) -> None:
        self.limit = limit
        self._heap: list[tuple[float, tuple[float, float]]] = []
        self.chips: dict[tuple[float, float], bytes] = {}

    def add(self, chips: dict[tuple[float, float], tuple[float, bytes]]) -> None:
        """Take a region's (confidence, PNG) chips by point; drop the least confident beyond the limit."""
        for key, (confidence, png) in chips.items():
            heapq.heappush(self._heap, (confidence, key))
            self.chips[key] = png
            if len(self._heap) > self.limit:
                self.chips.pop(heapq.heappop(self._heap)[1], None)


def submunition_chips(flight: Flight, frame: gpd.GeoDataFrame, rows: list[int],
                      cut: Mapping[tuple[float, float], bytes] | None = None) -> list[Chip]:
    """Full-resolution chips centred on the points at ``rows`` of ``frame`` (flight CRS): those
    ``cut`` in the region pass (:func:`cut_point_chips`), the others read now."""
    return _in_parallel(partial(submunition_chip, flight, frame, cut=cut), frame, rows)


def submunition_chip(flight: Flight, frame: gpd.GeoDataFrame, row: int,
                     cut: Mapping[tuple[float, float], bytes] | None = None) -> Chip:
    """The full-resolution chip centred on the point at ``row`` of ``frame`` (flight CRS), a
    ring of ``RING_RADIUS_M`` around it; taken from ``cut`` (by :func:`chip_key`) when there."""
    radius = min(30.0, max(6.0, RING_RADIUS_M / flight.gsd_m))
    point = _point(frame.geometry.iloc[row])
    window, cx, cy = point_window(flight.transform, point)
    png = (cut or {}).get(chip_key(point)) or _png(read_padded(flight, window))
    mark = f'<circle cx="{cx:.2f}" cy="{cy:.2f}" r="{radius:.1f}"/>'
    return _chip("submunitions", frame, row, point, png, SUBMUNITION_CHIP_PX, SUBMUNITION_CHIP_PX, mark)


def framed_chips(flight: Flight, frame: gpd.GeoDataFrame, rows: list[int], layer: str) -> list[Chip]:
    """Chips framing the features at ``rows`` of ``frame`` (see :func:`framed_chip`)."""
    return _in_parallel(partial(framed_chip, flight, frame, layer=layer), frame, rows)


def framed_chip(flight: Flight, frame: gpd.GeoDataFrame, row: int, layer: str) -> Chip:
    """The chip framing the feature at ``row`` of ``frame`` (a position's polygon, a trench's
    line; flight CRS) with a margin, reduced to at most ``CHIP_MAX_PX``, its outline marked."""
    geom = frame.geometry.iloc[row]
    left, top = ~flight.transform @ (geom.bounds[0], geom.bounds[3])
    right, bottom = ~flight.transform @ (geom.bounds[2], geom.bounds[1])
    extent = max(right - left, bottom - top)
    side = max(SUBMUNITION_CHIP_PX, math.ceil(extent * 1.5))
    col0 = math.floor((left + right) / 2 - side / 2)
    row0 = math.floor((top + bottom) / 2 - side / 2)
    image = read_padded(flight, Window(col0, row0, side, side))
    scale = min(1.0, CHIP_MAX_PX / side)
    if scale < 1.0:
        out = max(1, round(side * scale))
        image = image.resize((out, out), Image.Resampling.BOX)
    to_chip = Affine.scale(scale) @ Affine.translation(-col0, -row0) @ ~flight.transform
    outline = affinity.affine_transform(
        geom, [to_chip.a, to_chip.b, to_chip.d, to_chip.e, to_chip.c, to_chip.f]
    )
    mark = f'<path d="{svg_path(outline)}"/>'
    polygon = geom.geom_type.endswith("Polygon")
    anchor = geom.representative_point() if polygon else geom.interpolate(0.5, normalized=True)
    return _chip(layer, frame, row, anchor, _png(image), image.width, image.height, mark)


def _in_parallel(chip: Callable[[int], Chip], frame: gpd.GeoDataFrame, rows: list[int]) -> list[Chip]:
    """``chip(row)`` for every row, in threads (each reads through its own handle on the flight),
    started in raster order so that a block (a whole strip of a striped file) is decoded once
    while the block cache holds it, instead of once per chip; returned in the order of ``rows``."""
    with ThreadPoolExecutor(max_workers=default_workers()) as pool:
        done = dict(zip(_raster_order(frame, rows), pool.map(chip, _raster_order(frame, rows)), strict=True))
    return [done[row] for row in rows]


def _raster_order(frame: gpd.GeoDataFrame, rows: list[int]) -> list[int]:
    """``rows`` from the northernmost feature down (the flight grid is north-up)."""
    tops = frame.geometry.iloc[rows].bounds["maxy"].to_numpy()
    return [rows[i] for i in np.argsort(-tops, kind="stable")]


def _point(geom: BaseGeometry) -> BaseGeometry:
    return geom if geom.geom_type == "Point" else geom.centroid


def _chip(layer: str, frame: gpd.GeoDataFrame, row: int, anchor: BaseGeometry, png: bytes, width: int,
          height: int, mark_svg: str) -> Chip:
    conf = None
    if "confidence" in frame:
        value = float(frame["confidence"].iloc[row])
        conf = None if math.isnan(value) else value
    return Chip(layer, row + 1, conf, float(anchor.x), float(anchor.y), png, width, height, mark_svg)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _padded(rgb: np.ndarray, valid: np.ndarray) -> Image.Image:
    """An image of uint8 ``rgb`` (3, H, W), grey where not ``valid``."""
    part = np.moveaxis(rgb, 0, -1).copy()
    part[~valid] = NODATA_GREY
    return Image.fromarray(part)


def read_padded(flight: Flight, window: Window) -> Image.Image:
    """RGB of ``window``; the part outside the raster or without valid data is grey."""
    h, w = int(window.height), int(window.width)
    canvas = np.empty((h, w, 3), dtype=np.uint8)
    canvas[:] = NODATA_GREY
    c0, r0 = max(0, int(window.col_off)), max(0, int(window.row_off))
    c1 = min(flight.width, int(window.col_off) + w)
    r1 = min(flight.height, int(window.row_off) + h)
    if c1 > c0 and r1 > r0:
        rgb, valid = flight.read_rgb(Window(c0, r0, c1 - c0, r1 - r0))
        dc, dr = c0 - int(window.col_off), r0 - int(window.row_off)
        canvas[dr : dr + (r1 - r0), dc : dc + (c1 - c0)] = np.asarray(_padded(rgb, valid))
    return Image.fromarray(canvas)


def svg_path(geom: BaseGeometry) -> str:
    """SVG path data of a geometry's polygon rings (closed) and lines, in its own coordinates."""
    parts = []
    for part in getattr(geom, "geoms", [geom]):
        if isinstance(part, Polygon):
            for ring in (part.exterior, *part.interiors):
                xy = " L".join(f"{x:.1f},{y:.1f}" for x, y in ring.coords[:-1])
                parts.append(f"M{xy} Z")
        elif isinstance(part, LineString):
            parts.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in part.coords))
    return " ".join(parts)
