"""Trench centre lines from the trench probability map."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from scipy import ndimage
from skimage.morphology import remove_small_holes, skeletonize

from rams.vectorize.geo import cell_factor, coarsen, feature_frame, gsd_of, pixel_geometry_to_map
from rams.vectorize.skeleton import prune_spurs, skeleton_edges

TRENCH_COLUMNS = ("length_m", "width_m", "confidence")


def trench_lines(
    prob: np.ndarray,
    transform: Affine,
    crs: object,
    *,
    threshold: float = 0.5,
    min_length_m: float = 2.0,
    prune_spur_m: float = 1.0,
    simplify_m: float = 0.1,
) -> gpd.GeoDataFrame:
    """Centre lines of the mask ``prob >= threshold``, one LineString per junction-free chain.

    Skeleton spurs shorter than ``prune_spur_m`` are removed, lines simplified to
    ``simplify_m`` and those shorter than ``min_length_m`` dropped (all m). ``width_m`` is the
    mean mask width across the skeleton (from the distance transform), ``confidence`` the
    mean probability along it, ``length_m`` the simplified line's length. Lines in ``crs``.

    The map is first averaged over cells no wider than ``simplify_m``: detail the
    simplification would erase anyway, and a several-fold speed-up of skeleton and distance
    transform (the costly steps).
    """
    empty = feature_frame({c: [] for c in TRENCH_COLUMNS}, [], crs)
    if not (np.asarray(prob) >= threshold).any():
        return empty
    prob, transform = coarsen(np.asarray(prob), cell_factor(transform, simplify_m), transform)
    gsd = gsd_of(transform)
    mask = prob >= threshold
    if not mask.any():
        return empty
    # Work on the mask's bounding box, padded so the distance transform sees the edge.
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    r0, r1 = max(rows[0] - 1, 0), rows[-1] + 2
    c0, c1 = max(cols[0] - 1, 0), cols[-1] + 2
    mask = np.pad(mask[r0:r1, c0:c1], 1)
    sub_prob = np.pad(prob[r0:r1, c0:c1], 1)
    # Holes smaller than a spur are noise; left in, each would become a loop of the skeleton.
    hole_px = int((prune_spur_m / gsd) ** 2)
    if hole_px > 0:
        mask = remove_small_holes(mask, max_size=hole_px)
    # The distance transform reaches the centre of the first pixel outside: half a pixel past
    # the edge on each side, hence the -1 px in the width.
    width_px = 2.0 * ndimage.distance_transform_edt(mask) - 1.0

    lines = prune_spurs(skeleton_edges(skeletonize(mask)), prune_spur_m / gsd)
    if not lines:
        return empty
    widths, confidences = [], []
    for line in lines:
        xy = np.rint(shapely.get_coordinates(line)).astype(np.int64)
        widths.append(float(np.mean(width_px[xy[:, 1], xy[:, 0]])) * gsd)
        confidences.append(float(np.mean(sub_prob[xy[:, 1], xy[:, 0]])))
    offset = transform @ Affine.translation(c0 - 1, r0 - 1)
    geoms = pixel_geometry_to_map(np.asarray(lines, dtype=object), offset)
    if simplify_m > 0:
        geoms = shapely.simplify(geoms, simplify_m, preserve_topology=True)
    lengths = shapely.length(geoms)
    keep = lengths >= min_length_m
    return feature_frame(
        {
            "length_m": lengths[keep],
            "width_m": np.asarray(widths)[keep],
            "confidence": np.asarray(confidences)[keep],
        },
        geoms[keep],
        crs,
    )
