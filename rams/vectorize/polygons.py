"""Raster masks to polygons: fighting positions, and generic masks (coverage, not assessable)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from rasterio import features
from rasterio.transform import array_bounds
from scipy import ndimage
from shapely import MultiPolygon
from skimage.morphology import remove_small_holes, remove_small_objects

from rams.geometry import polygon_parts
from rams.vectorize.geo import cell_factor, coarsen, feature_frame, gsd_of

POSITION_COLUMNS = ("area_m2", "confidence")


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` with every background patch not 4-connected to the array edge set True."""
    background, count = ndimage.label(~mask)
    edge = np.concatenate([background[0], background[-1], background[:, 0], background[:, -1]])
    hole = np.ones(count + 1, dtype=bool)
    hole[edge] = False
    hole[0] = False
    return mask | hole[background]


def position_polygons(
    prob: np.ndarray,
    transform: Affine,
    crs: object,
    *,
    threshold: float = 0.5,
    min_area_m2: float = 2.0,
    simplify_m: float = 0.1,
) -> gpd.GeoDataFrame:
    """One polygon per 4-connected blob of ``prob >= threshold``, holes filled.

    Blobs under ``min_area_m2`` (before or after simplifying to ``simplify_m``, m) are dropped.
    ``confidence`` is the blob's mean probability, ``area_m2`` the final polygon's area.
    The map is averaged over cells no wider than ``simplify_m`` first (as in ``trench_lines``).
    """
    empty = feature_frame({c: [] for c in POSITION_COLUMNS}, [], crs)
    if not (np.asarray(prob) >= threshold).any():
        return empty
    prob, transform = coarsen(np.asarray(prob), cell_factor(transform, simplify_m), transform)
    gsd = gsd_of(transform)
    mask = prob >= threshold
    labels, count = ndimage.label(fill_holes(mask))
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    keep_label = sizes * gsd**2 >= min_area_m2
    keep_label[0] = False
    if not keep_label.any():
        return empty
    inside = labels[mask]
    hits = np.bincount(inside, minlength=count + 1)
    sums = np.bincount(inside, weights=prob[mask], minlength=count + 1)
    confidence = sums / np.maximum(hits, 1)
    labels = np.where(keep_label[labels], labels, 0).astype(np.int32)
    geoms, confs = [], []
    for shape, value in features.shapes(
        labels, mask=labels > 0, connectivity=4, transform=transform
    ):
        polygon = shapely.geometry.shape(shape)
        if simplify_m > 0:
            polygon = shapely.simplify(polygon, simplify_m, preserve_topology=True)
        for part in polygon_parts(polygon):
            geoms.append(part)
            confs.append(confidence[int(value)])
    geoms_arr = np.asarray(geoms, dtype=object)
    areas = shapely.area(geoms_arr)
    keep = areas >= min_area_m2
    return feature_frame(
        {"area_m2": areas[keep], "confidence": np.asarray(confs)[keep]}, geoms_arr[keep], crs
    )


def mask_polygons(
    mask: np.ndarray,
    transform: Affine,
    *,
    min_area_m2: float = 0.0,
    simplify_m: float = 0.0,
) -> MultiPolygon:
    """The True pixels of ``mask`` as one valid MultiPolygon (possibly empty) in map units.

    Patches and holes under ``min_area_m2`` (m²) are removed in the raster first; edges are
    simplified to ``simplify_m`` (m) keeping topology. With ``simplify_m`` > 0 the mask is
    first reduced to majority cells no wider than ``simplify_m``.
    """
    h, w = np.shape(mask)
    extent = shapely.box(*array_bounds(h, w, transform))
    factor = cell_factor(transform, simplify_m)
    if factor > 1:
        fraction, transform = coarsen(np.asarray(mask), factor, transform)
        mask = fraction >= 0.5
    mask = np.asarray(mask, dtype=bool)
    min_px = int(min_area_m2 / gsd_of(transform) ** 2)
    if min_px > 0:
        # max_size removes patches of at most that many pixels; keep exactly min_px.
        mask = remove_small_objects(mask, max_size=min_px - 1)
        mask = remove_small_holes(mask, max_size=min_px - 1)
    if not mask.any():
        return MultiPolygon()
    polygons = [
        shapely.geometry.shape(shape)
        for shape, _ in features.shapes(
            mask.view(np.uint8), mask=mask, connectivity=4, transform=transform
        )
    ]
    # 4-connected patches never share an edge, so they form a valid multipolygon as they are.
    geom: shapely.Geometry = MultiPolygon(polygons)
    if simplify_m > 0:
        geom = shapely.simplify(geom, simplify_m, preserve_topology=True)
    # Edge cells of the coarse grid overhang the array when its size is not a multiple of
    # the cell; neighbouring regions' outlines must meet on the border, not overlap.
    geom = shapely.intersection(shapely.make_valid(geom), extent)
    return MultiPolygon(polygon_parts(geom))
