"""The report's map: a downsampled view of the flight with every survey layer drawn over it.

Layers are drawn in map coordinates (the flight's CRS, metres) mapped to image pixels, on a
supersampled canvas that is reduced at the end so that edges come out anti-aliased.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import geopandas as gpd
import numpy as np
from affine import Affine
from PIL import Image, ImageDraw, ImageFont
from shapely import affinity, ops
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

from rams.export.styles import SHA_ORANGE
from rams.flight_view import FlightView

#: Drawing happens at this multiple of the map size, then is reduced: cheap anti-aliasing.
_SS = 2

RGB = tuple[int, int, int]
# The same colours as the QGIS styles shipped in the GeoPackage, so map and GIS agree.
COVERAGE_BLUE: RGB = (31, 120, 180)
UNASSESSABLE_GREY: RGB = (96, 96, 96)
FOOTPRINT_RED: RGB = (178, 34, 34)
POSITION_PURPLE: RGB = (128, 0, 128)
TRENCH_BROWN: RGB = (139, 69, 19)
SUBMUNITION_RED: RGB = (220, 20, 60)
HAZARD_ORANGE: RGB = SHA_ORANGE
#: Hatch spacing (map px) of hatched fills.
HATCH_PX = 7


#: Ground beyond the imagery that the map shows because a hazard area reaches it.
UNIMAGED_WHITE: RGB = (250, 250, 247)


def extended(view: FlightView, bounds: tuple[float, float, float, float]) -> FlightView:
    """``view`` padded with ``UNIMAGED_WHITE`` to cover ``bounds`` (left, bottom, right, top in the
    flight CRS) too: hazard areas keep their fade-out past the flight's edge, and the map shows
    all of them."""
    t = view.transform
    width, height = view.size
    to_px = ~t
    (c0, r0), (c1, r1) = to_px @ (bounds[0], bounds[3]), to_px @ (bounds[2], bounds[1])
    left, top = max(0, math.ceil(-min(c0, c1))), max(0, math.ceil(-min(r0, r1)))
    right, bottom = max(0, math.ceil(max(c0, c1) - width)), max(0, math.ceil(max(r0, r1) - height))
    if not (left or top or right or bottom):
        return view
    rgb = np.empty((height + top + bottom, width + left + right, 3), np.uint8)
    rgb[:] = UNIMAGED_WHITE
    rgb[top:top + height, left:left + width] = view.rgb
    return FlightView(rgb, t @ Affine.translation(-left, -top))


def render_map(view: FlightView, layers: dict[str, gpd.GeoDataFrame],
               labels: Sequence[tuple[float, float, str]] = ()) -> Image.Image:
    """The view with ``layers`` (flight CRS) drawn over it, ``labels`` (x, y in the flight CRS,
    text: the numbers of the report's tables and chips) beside what they name, a scale bar and a
    north mark."""
    width, height = view.size
    big = Image.fromarray(view.rgb).resize((width * _SS, height * _SS), Image.Resampling.NEAREST)
    canvas = _Canvas(big, ~(view.transform @ Affine.scale(1 / _SS)))

    def geoms(name: str, **where: str) -> list[BaseGeometry]:
        frame = layers.get(name)
        if frame is None or frame.empty:
            return []
        for column, value in where.items():
            frame = frame[frame[column] == value] if column in frame else frame.iloc[:0]
        return [g for g in frame.geometry if g is not None and not g.is_empty]

    canvas.outline(geoms("coverage"), COVERAGE_BLUE, 2)
    both = geoms("hazard_areas", hazard_type="CMR+FORTIFICATION")
    cmr = geoms("hazard_areas", hazard_type="CMR") + both
    fortification = geoms("hazard_areas", hazard_type="FORTIFICATION")
    canvas.fill(cmr, HAZARD_ORANGE, 0.35)
    canvas.fill(fortification, HAZARD_ORANGE, 0.12)
    canvas.fill(fortification + both, HAZARD_ORANGE, 0.75, hatch=1)
    canvas.outline(cmr + fortification, HAZARD_ORANGE, 2.5, casing=True)
    canvas.outline(geoms("strike_footprints"), FOOTPRINT_RED, 2, dash=(8, 5))
    # drawn over hazard areas: ground nobody could assess must never look like plain hazard
    unassessable = geoms("not_assessable")
    canvas.fill(unassessable, UNASSESSABLE_GREY, 0.3)
    canvas.fill(unassessable, UNASSESSABLE_GREY, 0.85, hatch=-1)
    canvas.outline(unassessable, UNASSESSABLE_GREY, 1)
    positions = geoms("positions")
    canvas.fill(positions, POSITION_PURPLE, 0.25)
    canvas.outline(positions, POSITION_PURPLE, 2, casing=True)
    canvas.lines(geoms("trenches"), TRENCH_BROWN, 3)
    canvas.points(geoms("submunitions"), SUBMUNITION_RED, 5)
    for x, y, text in labels:
        canvas.label(x, y, text)
    canvas.scale_bar(abs(view.transform.a) / _SS)
    return canvas.image.reduce(_SS)


class _Canvas:
    """Drawing in map coordinates on a supersampled RGB image; sizes are given in map px."""

    def __init__(self, image: Image.Image, to_px: Affine) -> None:
        self.image = image
        self.draw = ImageDraw.Draw(image, "RGBA")
        self._to_px = [to_px.a, to_px.b, to_px.d, to_px.e, to_px.c, to_px.f]

    def _px(self, geom: BaseGeometry) -> BaseGeometry:
        return affinity.affine_transform(geom, self._to_px)

    def fill(
        self, geoms: list[BaseGeometry], rgb: RGB, alpha: float, hatch: int = 0
    ) -> None:
        """Fill polygons; ``hatch`` +1 / -1 draws diagonal hatching (/ or \\) instead of a wash."""
        if not geoms:
            return
        mask = Image.new("L", self.image.size, 0)
        pen = ImageDraw.Draw(mask)
        for polygon in _polygons(geoms):
            polygon = self._px(polygon)
            pen.polygon(list(polygon.exterior.coords), fill=255)
            for ring in polygon.interiors:
                pen.polygon(list(ring.coords), fill=0)
        box = mask.getbbox()
        if box is None:
            return
        # hatch and blend only the bounding box of the shapes: the map may be mostly empty
        weight = (np.arange(256) * alpha).astype(np.uint8)[np.asarray(mask.crop(box))]
        if hatch:
            rows = np.arange(box[1], box[3], dtype=np.int32)[:, None]
            cols = np.arange(box[0], box[2], dtype=np.int32)[None, :]
            weight[(cols + hatch * rows) % (HATCH_PX * _SS) >= 1.2 * _SS] = 0
        paint = Image.new("RGB", weight.shape[::-1], rgb)
        self.image.paste(paint, box, mask=Image.fromarray(weight))

    def outline(
        self,
        geoms: list[BaseGeometry],
        rgb: RGB,
        width: float,
        dash: tuple[float, float] | None = None,
        casing: bool = False,
    ) -> None:
        """Polygon boundaries (and lines) as solid or dashed (on, off map px) strokes."""
        self.lines([ring for p in _polygons(geoms) for ring in (p.exterior, *p.interiors)],
                   rgb, width, dash, casing)

    def lines(
        self,
        geoms: list[BaseGeometry],
        rgb: RGB,
        width: float,
        dash: tuple[float, float] | None = None,
        casing: bool = True,
    ) -> None:
        """Lines; a pale casing keeps dark strokes readable on dark ground."""
        strokes = [self._px(line) for line in _lines(geoms)]
        if dash:
            strokes = [part for line in strokes for part in _dashes(line, dash)]
        coords = [list(line.coords) for line in strokes]
        px = round(width * _SS)
        if casing:
            for xy in coords:
                self.draw.line(xy, fill=(255, 255, 255, 150), width=px + 2 * _SS, joint="curve")
        for xy in coords:
            self.draw.line(xy, fill=rgb, width=px, joint="curve")

    def points(self, geoms: list[BaseGeometry], rgb: RGB, radius: float) -> None:
        """Hollow circles of ``radius`` map px around points, with a white halo."""
        r = radius * _SS
        for geom in geoms:
            for point in getattr(geom, "geoms", [geom]):
                x, y = self._px(point).coords[0]
                box = [x - r, y - r, x + r, y + r]
                self.draw.ellipse(box, fill=(*rgb, 60), outline=(255, 255, 255, 200),
                                  width=4 * _SS)
                self.draw.ellipse(box, outline=rgb, width=2 * _SS)

    def label(self, x: float, y: float, text: str) -> None:
        """``text`` just above and right of map point (x, y), dark on a white halo."""
        px, py = self._to_px[0] * x + self._to_px[1] * y + self._to_px[4], \
            self._to_px[2] * x + self._to_px[3] * y + self._to_px[5]
        u = max(1.0, self.image.size[0] / _SS / 800) * _SS
        font = ImageFont.load_default(size=round(11 * u))
        self.draw.text((px + 5 * u, py - 5 * u), text, font=font, fill=(20, 20, 20), anchor="ls",
                       stroke_width=round(2 * u), stroke_fill=(255, 255, 255))

    def scale_bar(self, metres_per_px: float) -> None:
        """A scale bar bottom left and a north mark top right (the flight grid is north-up)."""
        width, height = self.image.size
        u = max(1.0, width / _SS / 800) * _SS  # symbol unit: the map is shown ~800 px wide
        length_m = _nice_length(0.2 * width * metres_per_px)
        bar = length_m / metres_per_px
        font = ImageFont.load_default(size=round(12 * u))
        ink = (30, 30, 30)
        label = f"{length_m:g} m" if length_m < 1000 else f"{length_m / 1000:g} km"
        x0, y0 = 14 * u, height - 12 * u
        text_w = self.draw.textlength(label, font=font)
        self.draw.rounded_rectangle(
            [x0 - 7 * u, y0 - 24 * u, x0 + bar + text_w + 14 * u, y0 + 6 * u],
            radius=3 * u, fill=(255, 255, 255, 215),
        )
        for i in range(4):
            seg = [x0 + i * bar / 4, y0 - 6 * u, x0 + (i + 1) * bar / 4, y0]
            self.draw.rectangle(seg, fill=ink if i % 2 == 0 else (255, 255, 255),
                                outline=ink, width=max(1, round(u / 2)))
        self.draw.text((x0, y0 - 9 * u), "0", font=font, fill=ink, anchor="ls")
        self.draw.text((x0 + bar, y0 - 9 * u), label, font=font, fill=ink, anchor="ms")
        cx, cy = width - 22 * u, 10 * u
        self.draw.rounded_rectangle([cx - 11 * u, cy - 4 * u, cx + 11 * u, cy + 34 * u],
                                    radius=3 * u, fill=(255, 255, 255, 215))
        self.draw.polygon([(cx, cy), (cx - 6 * u, cy + 15 * u), (cx, cy + 12 * u),
                           (cx + 6 * u, cy + 15 * u)], fill=ink)
        self.draw.text((cx, cy + 30 * u), "N", font=font, fill=ink, anchor="ms")


def _nice_length(target_m: float) -> float:
    """The largest 1, 2 or 5 × 10^k metres not above ``target_m`` (> 0)."""
    exponent = 10.0 ** math.floor(math.log10(target_m))
    return next(step * exponent for step in (5, 2, 1) if step * exponent <= target_m)


def _polygons(geoms: list[BaseGeometry]) -> Iterator[Polygon]:
    for geom in geoms:
        if isinstance(geom, Polygon):
            yield geom
        elif hasattr(geom, "geoms"):
            yield from _polygons(list(geom.geoms))


def _lines(geoms: list[BaseGeometry]) -> Iterator[LineString]:
    for geom in geoms:
        if isinstance(geom, LineString):  # LinearRing too
            yield geom
        elif isinstance(geom, Polygon):
            yield from (geom.exterior, *geom.interiors)
        elif hasattr(geom, "geoms"):
            yield from _lines(list(geom.geoms))


def _dashes(line: LineString, dash: tuple[float, float]) -> Iterator[LineString]:
    on, off = dash[0] * _SS, dash[1] * _SS
    start = 0.0
    while start < line.length:
        part = ops.substring(line, start, min(start + on, line.length))
        if isinstance(part, LineString) and len(part.coords) > 1:
            yield part
        start += on + off
