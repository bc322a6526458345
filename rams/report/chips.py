"""Image chips of detections, so a reviewer can check each one by eye.

A submunition chip is a full-resolution square around the point; a position or trench chip
frames the feature's bounds with a margin, reduced to at most ``CHIP_MAX_PX``
(:func:`ground_view`). Each chip carries its detection as SVG markup in chip pixel coordinates,
drawn over the image rather than into it so the pixels a reviewer judges stay untouched.
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

from rams.flight import Flight, resampled
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
    gsd_m: float  # ground size of a chip px: the flight's, or coarser for a large framing


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
    return _chip("submunitions", frame, row, point, png, SUBMUNITION_CHIP_PX, SUBMUNITION_CHIP_PX, mark,
                 flight.gsd_m)


def framed_chips(flight: Flight, frame: gpd.GeoDataFrame, rows: list[int], layer: str) -> list[Chip]:
    """Chips framing the features at ``rows`` of ``frame`` (see :func:`framed_chip`)."""
    return _in_parallel(partial(framed_chip, flight, frame, layer=layer), frame, rows)


def framed_chip(flight: Flight, frame: gpd.GeoDataFrame, row: int, layer: str) -> Chip:
    """The chip framing the feature at ``row`` of ``frame`` (a position's polygon, a trench's
    line; flight CRS) with a margin, its outline marked: at the flight's resolution up to
    ``CHIP_MAX_PX``, a larger framing reduced to it (see :func:`ground_view`)."""
    geom = frame.geometry.iloc[row]
    left, bottom, right, top = geom.bounds
    side_m = max(SUBMUNITION_CHIP_PX * flight.gsd_m, 1.5 * max(right - left, top - bottom))
    view = ground_view(flight, (left + right) / 2, (bottom + top) / 2, side_m, CHIP_MAX_PX)
    outline = affinity.affine_transform(geom, [view.to_px.a, view.to_px.b, view.to_px.d, view.to_px.e,
                                               view.to_px.c, view.to_px.f])
    mark = f'<path d="{svg_path(outline)}"/>'
    polygon = geom.geom_type.endswith("Polygon")
    anchor = geom.representative_point() if polygon else geom.interpolate(0.5, normalized=True)
    image = view.image
    return _chip(layer, frame, row, anchor, _png(image), image.width, image.height, mark, view.gsd_m)


@dataclass(frozen=True)
class GroundView:
    """A square image of the ground: the image, the affine from map coordinates (flight CRS,
    metres) to its px, and the ground size (m) of a px."""

    image: Image.Image
    to_px: Affine
    gsd_m: float


def ground_view(flight: Flight, x: float, y: float, side_m: float, max_px: int) -> GroundView:
    """``side_m`` metres of ground square, centred on (``x``, ``y``) (flight CRS), grey beyond
    the raster: at the flight's resolution when that fits in ``max_px`` px, else in ``max_px``
    px each the average of the flight px under it, read through the file's overviews when it has
    some (GDAL), else decoded at full resolution and averaged a band of rows at a time. Memory
    is a view's whatever ``side_m``; time without overviews grows with the ground's px."""
    gsd_m = max(flight.gsd_m, side_m / max_px)
    side = max(1, min(max_px, math.ceil(side_m / gsd_m - 1e-6)))
    if gsd_m <= flight.gsd_m * 1.001 or not flight.has_overviews():
        source = flight if gsd_m <= flight.gsd_m * 1.001 else resampled(flight, gsd_m)
        col, line = ~source.transform @ (x, y)
        col0, row0 = math.floor(col - side / 2), math.floor(line - side / 2)
        image = read_padded(source, Window(col0, row0, side, side))
        return GroundView(image, Affine.translation(-col0, -row0) @ ~source.transform, source.gsd_m)
    ratio = gsd_m / flight.gsd_m  # flight px per view px
    col, line = ~flight.transform @ (x, y)
    col0, row0 = col - side * ratio / 2, line - side * ratio / 2
    canvas = np.empty((side, side, 3), dtype=np.uint8)
    canvas[:] = NODATA_GREY
    c0, r0 = max(0.0, col0), max(0.0, row0)
    c1, r1 = min(float(flight.width), col0 + side * ratio), min(float(flight.height), row0 + side * ratio)
    o_c0, o_r0 = round((c0 - col0) / ratio), round((r0 - row0) / ratio)
    o_c1, o_r1 = round((c1 - col0) / ratio), round((r1 - row0) / ratio)
    if o_c1 > o_c0 and o_r1 > o_r0:
        rgb, valid = flight.read_rgb_overview(Window(c0, r0, c1 - c0, r1 - r0), (o_r1 - o_r0, o_c1 - o_c0))
        _fill(canvas[o_r0:o_r1, o_c0:o_c1], rgb, valid)
    to_px = Affine.scale(1 / ratio) @ Affine.translation(-col0, -row0) @ ~flight.transform
    return GroundView(Image.fromarray(canvas), to_px, gsd_m)


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
          height: int, mark_svg: str, gsd_m: float) -> Chip:
    conf = None
    if "confidence" in frame:
        value = float(frame["confidence"].iloc[row])
        conf = None if math.isnan(value) else value
    return Chip(layer, row + 1, conf, float(anchor.x), float(anchor.y), png, width, height, mark_svg, gsd_m)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _padded(rgb: np.ndarray, valid: np.ndarray) -> Image.Image:
    """An image of uint8 ``rgb`` (3, H, W), grey where not ``valid``."""
    part = np.empty((*valid.shape, 3), dtype=np.uint8)
    _fill(part, rgb, valid)
    return Image.fromarray(part)


def _fill(part: np.ndarray, rgb: np.ndarray, valid: np.ndarray) -> None:
    """Write uint8 ``rgb`` (3, H, W) into the pixel-interleaved ``part`` (H, W, 3), grey
    where not ``valid`` (H, W)."""
    part[:] = np.moveaxis(rgb, 0, -1)
    if not valid.all():
        part[~valid] = NODATA_GREY


def read_padded(flight: Flight, window: Window) -> Image.Image:
    """RGB of ``window``; the part outside the raster or without valid data is grey."""
    h, w = int(window.height), int(window.width)
    c0, r0 = max(0, int(window.col_off)), max(0, int(window.row_off))
    c1 = min(flight.width, int(window.col_off) + w)
    r1 = min(flight.height, int(window.row_off) + h)
    inside = (c0, r0, c1, r1) == (int(window.col_off), int(window.row_off), int(window.col_off) + w,
                                  int(window.row_off) + h)
    canvas = np.empty((h, w, 3), dtype=np.uint8)
    if not inside:
        canvas[:] = NODATA_GREY
    if c1 > c0 and r1 > r0:
        rgb, valid = flight.read_rgb(Window(c0, r0, c1 - c0, r1 - r0))
        dc, dr = c0 - int(window.col_off), r0 - int(window.row_off)
        _fill(canvas[dr : dr + (r1 - r0), dc : dc + (c1 - c0)], rgb, valid)
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
