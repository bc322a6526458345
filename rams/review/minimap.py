"""The small map beside a chip: the survey's coverage, hazard areas and detections as SVG, so
that the reviewer sees where a detection lies. Pure: GeoDataFrames in, markup out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import shapely
from shapely import affinity

from rams.report.chips import svg_path

#: Side (px) of the map's longer edge.
MAP_PX = 260
#: Style of each layer drawn, bottom first: (fill, stroke, stroke width px).
_STYLE = {
    "coverage": ("none", "#1f78b4", 1.0),
    "hazard_areas": ("rgba(244,167,24,0.35)", "#f4a718", 1.2),
    "trenches": ("none", "#8b4513", 1.5),
    "positions": ("rgba(128,0,128,0.3)", "#800080", 1.0),
}


@dataclass(frozen=True)
class MiniMap:
    """SVG markup of the map and the mapping of flight CRS metres to its pixels:
    ``u = (x - left) * scale``, ``v = (top - y) * scale``."""

    svg: str
    left: float
    top: float
    scale: float
    width: int
    height: int

    def to_px(self, x_m: float, y_m: float) -> tuple[float, float]:
        return (x_m - self.left) * self.scale, (self.top - y_m) * self.scale


def minimap(layers: Mapping[str, gpd.GeoDataFrame]) -> MiniMap:
    """The map of ``layers`` (flight CRS, m): coverage outline, hazard areas, trenches,
    positions and submunition dots, fitted to the extent of all of them."""
    frames = {n: f for n, f in layers.items() if f is not None and not f.empty}
    bounds = [f.total_bounds for f in frames.values()]
    if not bounds:
        return MiniMap(f'<svg xmlns="http://www.w3.org/2000/svg" width="{MAP_PX}" height="{MAP_PX}"></svg>',
                       0.0, 0.0, 1.0, MAP_PX, MAP_PX)
    left, bottom = min(b[0] for b in bounds), min(b[1] for b in bounds)
    right, top = max(b[2] for b in bounds), max(b[3] for b in bounds)
    scale = MAP_PX / max(right - left, top - bottom, 1.0)
    width, height = max(1, round((right - left) * scale)), max(1, round((top - bottom) * scale))
    to_px = [scale, 0.0, 0.0, -scale, -left * scale, top * scale]
    parts = []
    for name, (fill, stroke, stroke_px) in _STYLE.items():
        frame = frames.get(name)
        if frame is None:
            continue
        geoms = shapely.simplify(frame.geometry.to_numpy(), 0.5 / scale)
        paths = " ".join(svg_path(affinity.affine_transform(g, to_px)) for g in geoms if g is not None)
        parts.append(f'<path class="{name}" d="{paths}" fill="{fill}" stroke="{stroke}" '
                     f'stroke-width="{stroke_px}" fill-rule="evenodd"/>')
    points = frames.get("submunitions")
    if points is not None:
        xy = shapely.get_coordinates(points.geometry.to_numpy())
        dots = "".join(f'<circle cx="{(x - left) * scale:.1f}" cy="{(top - y) * scale:.1f}" r="1.2"/>' for x, y in xy)
        parts.append(f'<g class="submunitions" fill="#dc143c">{dots}</g>')
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}">{"".join(parts)}</svg>')
    return MiniMap(svg, float(left), float(top), float(scale), width, height)
