"""Small geometry helpers shared by the vectorizer and the hazard stage."""

from __future__ import annotations

import shapely
from shapely.geometry import GeometryCollection, MultiPolygon, Polygon


def polygon_parts(geom: shapely.Geometry) -> list[Polygon]:
    """The non-empty polygons of ``geom``, repaired first if invalid."""
    if not shapely.is_valid(geom):
        geom = shapely.make_valid(geom)
    parts: list[Polygon] = []
    for part in shapely.get_parts(geom):
        if isinstance(part, Polygon) and not part.is_empty:
            parts.append(part)
        elif isinstance(part, MultiPolygon | GeometryCollection):
            parts.extend(polygon_parts(part))
    return parts
