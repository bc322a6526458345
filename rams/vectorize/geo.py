"""Pixel grid to map coordinates, and the deterministic GeoDataFrame every vectorizer returns."""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from numpy.typing import ArrayLike


def gsd_of(transform: Affine) -> float:
    """Ground sample distance (m/px) of a north-up transform: ``|transform.a|``."""
    return abs(float(transform.a))


def cell_factor(transform: Affine, tolerance_m: float) -> int:
    """Pixels per side of the largest square cell no wider than ``tolerance_m`` (m), at least 1."""
    return max(1, int(tolerance_m / gsd_of(transform) + 1e-9))


def coarsen(values: np.ndarray, factor: int, transform: Affine) -> tuple[np.ndarray, Affine]:
    """Means over ``factor`` x ``factor`` px cells (float32; edge cells may be smaller), and the
    transform of the cell grid. NaN pixels make their cell NaN."""
    if factor == 1:
        return np.asarray(values, dtype=np.float32), transform
    h, w = values.shape
    padded = np.zeros((-(-h // factor) * factor, -(-w // factor) * factor), dtype=np.float32)
    padded[:h, :w] = values
    # Strided slice sums: several times faster than reduceat or a 4-d reshape sum here.
    rows = sum(padded[k::factor] for k in range(1, factor)) + padded[0::factor]
    sums = sum(rows[:, k::factor] for k in range(1, factor)) + rows[:, 0::factor]
    cell_rows = np.minimum(h - np.arange(0, h, factor), factor)
    cell_cols = np.minimum(w - np.arange(0, w, factor), factor)
    counts = np.outer(cell_rows, cell_cols).astype(np.float32)
    return sums / counts, transform @ Affine.scale(factor)


def pixel_to_map(
    transform: Affine, rows: ArrayLike, cols: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Map x, y (CRS units, m) of fractional pixel indices; index (r, c) is that pixel's centre."""
    c = np.asarray(cols, dtype=np.float64) + 0.5
    r = np.asarray(rows, dtype=np.float64) + 0.5
    x = transform.a * c + transform.b * r + transform.c
    y = transform.d * c + transform.e * r + transform.f
    return x, y


def pixel_geometry_to_map(geoms: ArrayLike, transform: Affine) -> np.ndarray:
    """Geometries drawn in pixel-index space (x = col, y = row) moved to map coordinates."""

    def to_map(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(pixel_to_map(transform, xy[:, 1], xy[:, 0]))

    return np.asarray(shapely.transform(geoms, to_map))


def sort_features(features: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Features ordered by geometry bounds, then WKB, with a fresh index (deterministic output)."""
    if len(features) == 0:
        return features.reset_index(drop=True)
    geoms = np.asarray(features.geometry.values)
    bounds = shapely.bounds(geoms)
    keys = pd.DataFrame(
        {
            "minx": bounds[:, 0],
            "miny": bounds[:, 1],
            "maxx": bounds[:, 2],
            "maxy": bounds[:, 3],
            "wkb": shapely.to_wkb(geoms),
        }
    )
    order = keys.sort_values(list(keys.columns), kind="mergesort").index.to_numpy()
    return features.iloc[order].reset_index(drop=True)


def feature_frame(
    columns: Mapping[str, ArrayLike], geometry: ArrayLike, crs: object
) -> gpd.GeoDataFrame:
    """A sorted GeoDataFrame of float columns and ``geometry`` in ``crs``."""
    data = {name: np.asarray(values, dtype=np.float64) for name, values in columns.items()}
    frame = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(np.asarray(geometry), crs=crs))
    return sort_features(frame)
