"""Cutting position outlines where two positions meet at a narrow neck.

A position mask traces every dug-out area as one blob, so a dugout beside a firing position, or
two pits a step apart, come out as one outline that matches neither. Each outline's distance
to its own edge (the radius of the widest disc that fits at each point) has one core per
position; two cores joined by a neck at least ``depth_m`` narrower (in that radius) than both
are cut apart along the neck, by a watershed of that distance. Shallow dents stay whole.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from rasterio import features
from scipy import ndimage
from skimage.morphology import local_maxima, reconstruction
from skimage.segmentation import watershed

from rams.geometry import polygon_parts
from rams.vectorize.geo import sort_features

_EIGHT = np.ones((3, 3), bool)


def neck_regions(mask: np.ndarray, depth_px: float) -> np.ndarray:
    """Labels (H, W) int32 of ``mask`` split at necks: 0 outside, 1..n one per core.

    A core is a peak of the distance to the mask's edge (pixels) that rises at least
    ``depth_px`` above the lowest pass to any higher peak; each pixel goes to the core it
    drains to along that distance (4-connected watershed), so the cuts follow the necks.
    """
    mask = np.asarray(mask, bool)
    if depth_px <= 0 or not mask.any():
        return ndimage.label(mask)[0].astype(np.int32)
    distance = ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    # Peaks less than depth_px above their pass merge into one flat top (h-maxima by
    # reconstruction); each flat top, 8-connected, is one core.
    lowered = reconstruction(np.maximum(distance - depth_px, 0), distance, method="dilation")
    cores, _ = ndimage.label(local_maxima(lowered, connectivity=2) & mask, structure=_EIGHT)
    return watershed(-distance, cores, mask=mask, connectivity=1).astype(np.int32)


def _cut(polygon: shapely.Polygon, depth_m: float, cell_m: float) -> list[shapely.Polygon]:
    """``polygon``'s parts after cutting it at necks traced on cells ``cell_m`` (m) wide."""
    minx, miny, maxx, maxy = polygon.bounds
    transform = Affine(cell_m, 0, minx - cell_m, 0, -cell_m, maxy + cell_m)
    shape = (math.ceil((maxy - miny) / cell_m) + 2, math.ceil((maxx - minx) / cell_m) + 2)
    mask = features.rasterize([(polygon, 1)], out_shape=shape, transform=transform).astype(bool)
    labels = neck_regions(mask, depth_m / cell_m)
    if labels.max() < 2:
        return [polygon]
    # Every cell of the grid goes to its nearest part, so the parts tile the whole grid and,
    # clipped to the exact outline, keep its edges and meet along the cuts.
    _, (rows, cols) = ndimage.distance_transform_edt(labels == 0, return_indices=True)
    labels = labels[rows, cols]
    cells: dict[int, list[shapely.Geometry]] = {}
    for s, value in features.shapes(labels, connectivity=4, transform=transform):
        cells.setdefault(int(value), []).append(shapely.geometry.shape(s))
    return [part for value in sorted(cells)
            for part in polygon_parts(shapely.intersection(shapely.union_all(cells[value]), polygon))]


def split_at_necks(polys: gpd.GeoDataFrame, depth_m: float, cell_m: float = 0.1,
                   min_area_m2: float = 0.0) -> gpd.GeoDataFrame:
    """Each polygon of ``polys`` (projected CRS, metres) cut at its necks (see the module).

    ``depth_m`` (m) is how much narrower, as a radius, a neck must be than the cores on both
    sides; 0 leaves every polygon whole. A polygon whose cut would leave a part under
    ``min_area_m2`` (m²) stays whole. The parts keep the polygon's other columns;
    ``area_m2`` is recomputed where present.
    """
    if depth_m <= 0 or polys.empty:
        return polys
    rows = []
    for _, row in polys.iterrows():
        parts = _cut(row.geometry, depth_m, cell_m)
        if min(p.area for p in parts) < min_area_m2:
            parts = [row.geometry]
        for part in parts:
            rows.append({**row.to_dict(), polys.geometry.name: part})
    out = gpd.GeoDataFrame(rows, columns=polys.columns, geometry=polys.geometry.name, crs=polys.crs)
    if "area_m2" in out.columns:
        out["area_m2"] = shapely.area(out.geometry.to_numpy())
    return sort_features(out)
