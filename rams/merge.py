"""Regions' features into one set, each feature owned once (the survey's reduce step).

Regions clip their features to their own cores; here pieces that meet at a core border are
joined (trench lines, position polygons), points seen from both sides are suppressed, and
per-region coverage and not-assessable outlines are dissolved.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import geopandas as gpd
import pandas as pd
import shapely

from rams.export import empty_layer
from rams.settings import DetectionSettings
from rams.vectorize import merge_polygons, merge_trench_lines, split_at_necks, suppress_points

#: Feature layers a region produces, all clipped to (or anchored in) the region's core.
FEATURE_LAYERS = ("submunitions", "trenches", "positions", "coverage", "not_assessable")


def _concat(regions: Sequence[dict[str, gpd.GeoDataFrame]], name: str, crs) -> gpd.GeoDataFrame:
    frames = [layers[name] for layers in regions if not layers[name].empty]
    if not frames:
        return gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=crs)


def dissolved(frame: gpd.GeoDataFrame) -> shapely.Geometry:
    """The union of a layer's geometries, made valid (an empty MultiPolygon for no rows)."""
    if frame.empty:
        return shapely.MultiPolygon()
    return shapely.make_valid(shapely.union_all(frame.geometry.to_numpy()))


def join_positions(frame: gpd.GeoDataFrame, det: DetectionSettings) -> gpd.GeoDataFrame:
    """Position pieces (Polygons, projected CRS, metres) joined where they meet (across region or
    flight borders), then cut where two positions meet at a neck."""
    return split_at_necks(merge_polygons(frame), det.position_neck_m,
                          min_area_m2=det.position_min_area_m2 or 0.0)


def join_trenches(frame: gpd.GeoDataFrame, det: DetectionSettings) -> gpd.GeoDataFrame:
    """Trench pieces (LineStrings, projected CRS, metres) made one centre line per trench where they
    meet or overlap (across region or flight borders), then chained through junctions and gaps."""
    return merge_trench_lines(frame, det.trench_gap_m, det.trench_max_turn_deg)


def merge_regions(
    regions: Sequence[dict[str, gpd.GeoDataFrame]], crs, det: DetectionSettings, flight_id: str
) -> dict[str, gpd.GeoDataFrame]:
    """The survey's detection layers (contract fields, ``crs``) from every region's
    :data:`FEATURE_LAYERS` (see :func:`rams.detect.detect_region`)."""
    parts = {name: _concat(regions, name, crs) for name in FEATURE_LAYERS}
    layers: dict[str, gpd.GeoDataFrame] = {}

    points = parts["submunitions"]
    points = (
        suppress_points(points, det.nms_radius_m)
        if not points.empty
        else empty_layer("submunitions", crs)
    )
    points = points.reset_index(drop=True)
    points["flight_id"] = flight_id
    points["chip"] = [f"{flight_id}/submunition-{i + 1:05d}" for i in range(len(points))]
    points["munition_class"] = "submunition"
    points["evidence"] = "indirect"
    layers["submunitions"] = points

    for name, join, size, minimum in (
        ("trenches", partial(join_trenches, det=det), "length_m", det.trench_min_length_m),
        ("positions", partial(join_positions, det=det), "area_m2", det.position_min_area_m2),
    ):
        frame = parts[name]
        if frame.empty:
            frame = empty_layer(name, crs)
        else:
            frame = join(frame)
            frame = frame[frame[size] >= minimum]
        frame = frame.reset_index(drop=True)
        frame["flight_id"] = flight_id
        layers[name] = frame

    covered = (
        dissolved(parts["coverage"])
    )
    layers["coverage"] = gpd.GeoDataFrame(
        {"area_m2": [covered.area], "flight_id": [flight_id]}, geometry=[covered], crs=crs
    )
    blind = parts["not_assessable"]
    rows = []
    if not blind.empty:
        for reason, group in blind.groupby("reason", sort=True):
            geom = dissolved(group)
            if not geom.is_empty:
                rows.append(
                    {
                        "reason": reason,
                        "area_m2": geom.area,
                        "flight_id": flight_id,
                        "geometry": geom,
                    }
                )
    layers["not_assessable"] = (
        gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)
        if rows
        else empty_layer("not_assessable", crs)
    )
    return layers
