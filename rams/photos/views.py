"""One item, one point: the views of an item in overlapping photographs combined.

At the overlaps drones fly (75 % forward, 65 % side), a place on the ground is in 5 to 10
photographs, and an item there is detected in most of them. Detections of different
photographs closer than ``VIEW_RADIUS_M`` are views of one item (nearest first, one view per
photograph); the item is placed at the confidence-weighted mean of its views.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from rams.campaigns.merge import one_view_per_source
from rams.export import empty_layer

#: Detections of two photographs closer than this (m, after registration) are one item.
VIEW_RADIUS_M = 0.75
#: Horizontal accuracy (m) of a photograph whose tags state none: a consumer GNSS receiver
#: without RTK, as drones carry (about 1-3 m); the tags' own figure (RTK) replaces it.
DEFAULT_GPS_ACCURACY_M = 2.0
#: A place counts as shown by a photograph when it lies this far (m) inside its footprint.
EDGE_M = 0.25

#: Fields a photograph survey adds to its submunitions, after the contract's.
VIEW_FIELDS = (("n_views", "int64"), ("n_visible", "int64"), ("photos", "str"), ("view_spread_m", "float64"),
               ("position_error_m", "float64"))


def merge_views(points: Sequence[gpd.GeoDataFrame], names: Sequence[str], footprints: Sequence[shapely.Geometry],
                accuracy_m: Sequence[float], crs, radius_m: float = VIEW_RADIUS_M) -> gpd.GeoDataFrame:
    """The submunitions of photographs ``names`` (each frame of Points on the ground, ``crs``,
    with the contract's fields) as one point per item.

    Each item: the confidence-weighted mean of its views' positions; ``n_views`` (photographs
    that detected it), ``n_visible`` (photographs whose ``footprints`` show its place, at least
    ``n_views``), ``photos`` (their names, comma-separated), ``view_spread_m`` (RMS distance of
    the views from the item, m), ``position_error_m`` (m: the views' spread combined with the
    photographs' stated horizontal accuracy ``accuracy_m``, their median), and ``confidence``:
    the views' mean confidence times the share of the photographs showing the place that
    detected it (an item one photograph in eight saw is less sure than one all eight saw).
    The other fields are those of its most confident view.
    """
    frames = []
    for k, frame in enumerate(points):
        if len(frame):
            frame = frame.copy()
            frame["_photo"] = k
            frames.append(frame)
    if not frames:
        out = empty_layer("submunitions", crs)
        for field, dtype in VIEW_FIELDS:
            out[field] = pd.Series([], dtype=dtype)
        return out
    views = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=crs)
    geoms = views.geometry.to_numpy()
    xy = shapely.get_coordinates(geoms)
    photo = views["_photo"].to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=radius_m)
    pair = (photo[left] != photo[right]) & (left < right)
    left, right = left[pair], right[pair]
    labels = one_view_per_source(len(views), left, right, np.hypot(*(xy[left] - xy[right]).T), photo)
    confidence = views["confidence"].to_numpy(dtype=np.float64)
    inner = shapely.buffer(np.asarray(footprints, dtype=object), -EDGE_M)
    tree = shapely.STRtree(inner)
    accuracy = np.asarray(accuracy_m, dtype=np.float64)
    rows = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        weight = np.maximum(confidence[members], 1e-6)
        centre = (xy[members] * weight[:, None]).sum(axis=0) / weight.sum()
        spread = float(np.sqrt(np.mean(np.sum((xy[members] - centre) ** 2, axis=1))))
        seen_by = sorted(int(k) for k in photo[members])
        showing = tree.query(shapely.Point(centre), predicate="intersects")
        visible = max(len(set(showing.tolist()) | set(seen_by)), len(members))
        best = members[np.argmax(confidence[members])]
        row = views.iloc[best].drop(labels=["_photo", "geometry"]).to_dict()
        row.update({
            "confidence": float(confidence[members].mean() * len(members) / visible),
            "n_views": len(members),
            "n_visible": visible,
            "photos": ",".join(names[k] for k in seen_by),
            "view_spread_m": spread,
            "position_error_m": float(np.hypot(np.median(accuracy[seen_by]), spread)),
            "geometry": shapely.Point(centre),
        })
        rows.append(row)
    out = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
    order = np.lexsort((shapely.get_coordinates(out.geometry.to_numpy())[:, 0],
                        -shapely.get_coordinates(out.geometry.to_numpy())[:, 1]))
    return out.iloc[order].reset_index(drop=True)
