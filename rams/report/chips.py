"""Image chips of detections, so a reviewer can check each one by eye.

A submunition chip is a full-resolution square around the point; a position chip frames the
polygon's bounds with a margin, reduced to at most ``CHIP_MAX_PX``. Each chip carries its
detection as SVG markup in chip pixel coordinates, drawn over the image rather than into it
so the pixels a reviewer judges stay untouched.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
from affine import Affine
from PIL import Image
from rasterio.windows import Window
from shapely import affinity
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from rams.flight import Flight
from rams.flight_view import NODATA_GREY

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


def submunition_chips(flight: Flight, frame: gpd.GeoDataFrame, rows: list[int]) -> list[Chip]:
    """Full-resolution chips centred on the points at ``rows`` of ``frame`` (flight CRS)."""
    side = SUBMUNITION_CHIP_PX
    radius = min(30.0, max(6.0, RING_RADIUS_M / flight.gsd_m))
    chips = {}
    for row in _raster_order(frame, rows):
        point = frame.geometry.iloc[row]
        point = point if point.geom_type == "Point" else point.centroid
        col_f, row_f = ~flight.transform @ (point.x, point.y)
        window = Window(math.floor(col_f) - side // 2, math.floor(row_f) - side // 2, side, side)
        image = _read_padded(flight, window)
        cx, cy = col_f - window.col_off, row_f - window.row_off
        mark = f'<circle cx="{cx:.2f}" cy="{cy:.2f}" r="{radius:.1f}"/>'
        chips[row] = _chip("submunitions", frame, row, point, image, mark)
    return [chips[row] for row in rows]


def position_chips(flight: Flight, frame: gpd.GeoDataFrame, rows: list[int]) -> list[Chip]:
    """Chips framing the polygons at ``rows`` of ``frame`` with a margin, outlines marked."""
    chips = {}
    for row in _raster_order(frame, rows):
        geom = frame.geometry.iloc[row]
        left, top = ~flight.transform @ (geom.bounds[0], geom.bounds[3])
        right, bottom = ~flight.transform @ (geom.bounds[2], geom.bounds[1])
        extent = max(right - left, bottom - top)
        side = max(SUBMUNITION_CHIP_PX, math.ceil(extent * 1.5))
        col0 = math.floor((left + right) / 2 - side / 2)
        row0 = math.floor((top + bottom) / 2 - side / 2)
        image = _read_padded(flight, Window(col0, row0, side, side))
        scale = min(1.0, CHIP_MAX_PX / side)
        if scale < 1.0:
            out = max(1, round(side * scale))
            image = image.resize((out, out), Image.Resampling.BOX)
        to_chip = Affine.scale(scale) @ Affine.translation(-col0, -row0) @ ~flight.transform
        outline = affinity.affine_transform(
            geom, [to_chip.a, to_chip.b, to_chip.d, to_chip.e, to_chip.c, to_chip.f]
        )
        mark = f'<path d="{_svg_path(outline)}"/>'
        chips[row] = _chip("positions", frame, row, geom.representative_point(), image, mark)
    return [chips[row] for row in rows]


def _raster_order(frame: gpd.GeoDataFrame, rows: list[int]) -> list[int]:
    """``rows`` from the northernmost feature down (the flight grid is north-up): chips read in
    this order decode a block (a whole strip of a striped file) once while the block cache holds
    it, instead of once per chip."""
    tops = frame.geometry.iloc[rows].bounds["maxy"].to_numpy()
    return [rows[i] for i in np.argsort(-tops, kind="stable")]


def _chip(
    layer: str, frame: gpd.GeoDataFrame, row: int, anchor: BaseGeometry, image: Image.Image,
    mark_svg: str,
) -> Chip:
    conf = None
    if "confidence" in frame:
        value = float(frame["confidence"].iloc[row])
        conf = None if math.isnan(value) else value
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return Chip(layer, row + 1, conf, float(anchor.x), float(anchor.y), buffer.getvalue(),
                image.width, image.height, mark_svg)


def _read_padded(flight: Flight, window: Window) -> Image.Image:
    """RGB of ``window``; the part outside the raster or without valid data is grey."""
    h, w = int(window.height), int(window.width)
    canvas = np.empty((h, w, 3), dtype=np.uint8)
    canvas[:] = NODATA_GREY
    c0, r0 = max(0, int(window.col_off)), max(0, int(window.row_off))
    c1 = min(flight.width, int(window.col_off) + w)
    r1 = min(flight.height, int(window.row_off) + h)
    if c1 > c0 and r1 > r0:
        rgb, valid = flight.read_rgb(Window(c0, r0, c1 - c0, r1 - r0))
        part = np.moveaxis(rgb, 0, -1).copy()
        part[~valid] = NODATA_GREY
        dc, dr = c0 - int(window.col_off), r0 - int(window.row_off)
        canvas[dr : dr + (r1 - r0), dc : dc + (c1 - c0)] = part
    return Image.fromarray(canvas)


def _svg_path(geom: BaseGeometry) -> str:
    """SVG path data of a (multi)polygon's rings, in the geometry's own coordinates."""
    polygons = [geom] if isinstance(geom, Polygon) else list(getattr(geom, "geoms", []))
    parts = []
    for polygon in polygons:
        if not isinstance(polygon, Polygon):
            continue
        for ring in (polygon.exterior, *polygon.interiors):
            xy = " L".join(f"{x:.1f},{y:.1f}" for x, y in ring.coords[:-1])
            parts.append(f"M{xy} Z")
    return " ".join(parts)
