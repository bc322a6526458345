"""What a reviewer goes through: every detection of the reviewed layers, in an order that
spends their attention where the model was least sure. Pure functions over GeoDataFrames.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from rams.review.decisions import REVIEWED_LAYERS

#: The letter before a feature's number, as in the report (rams.report.document.PREFIX).
PREFIX = {"submunitions": "S", "trenches": "T", "positions": "P"}
#: Threshold of a layer whose survey recorded none (a calibrated probability: 0.5).
DEFAULT_THRESHOLD = 0.5
_THRESHOLD_KEYS = {"submunitions": "submunition_threshold", "trenches": "trench_threshold",
                   "positions": "position_threshold"}
ORDERS = ("uncertainty", "hazard")


@dataclass(frozen=True)
class Item:
    """One detection to review: its layer, GeoPackage fid, confidence (0-1, NaN when none),
    anchor point (flight CRS, m), the hazard area it lies in ("" when none) and its label."""

    layer: str
    fid: int
    confidence: float
    x_m: float
    y_m: float
    hazard_id: str
    label: str

    def uncertainty(self, thresholds: Mapping[str, float]) -> float:
        """Distance (0-1) of the confidence from its layer's decision threshold: smaller is less sure."""
        if math.isnan(self.confidence):
            return 0.0
        return abs(self.confidence - thresholds.get(self.layer, DEFAULT_THRESHOLD))


def thresholds(metadata: Mapping[str, str]) -> dict[str, float]:
    """Each reviewed layer's decision threshold (0-1) from the survey's recorded configuration
    (``metadata["configuration"]``, the detection settings); ``DEFAULT_THRESHOLD`` where absent."""
    try:
        detection = json.loads(metadata.get("configuration", "{}")).get("detection", {})
    except (json.JSONDecodeError, AttributeError):
        detection = {}
    return {layer: float(detection.get(key) or DEFAULT_THRESHOLD) for layer, key in _THRESHOLD_KEYS.items()}


def anchor(geom: shapely.Geometry) -> shapely.Point:
    """The point a detection is shown at: the point itself, a line's midpoint, a polygon's
    representative point."""
    if geom.geom_type == "Point":
        return geom
    if geom.geom_type.endswith("LineString"):
        return shapely.line_interpolate_point(geom, 0.5, normalized=True)
    return geom.representative_point()


def review_items(layers: Mapping[str, gpd.GeoDataFrame]) -> list[Item]:
    """Every non-empty feature of the reviewed layers (each indexed by fid, flight CRS), in
    layer then fid order, placed in the hazard area (``layers["hazard_areas"]``) covering it."""
    areas = layers.get("hazard_areas")
    items = []
    for layer in REVIEWED_LAYERS:
        frame = layers.get(layer)
        if frame is None or frame.empty:
            continue
        frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty].sort_index()
        points = [anchor(g) for g in frame.geometry]
        inside = _covering(areas, points)
        conf = frame["confidence"].to_numpy(dtype=float) if "confidence" in frame else np.full(len(frame), np.nan)
        for fid, point, c, hazard_id in zip(frame.index, points, conf, inside, strict=True):
            items.append(Item(layer, int(fid), float(c), float(point.x), float(point.y), hazard_id,
                              f"{PREFIX[layer]}{int(fid)}"))
    return items


def _covering(areas: gpd.GeoDataFrame | None, points: list[shapely.Point]) -> list[str]:
    """The hazard_id of the area covering each point ("" for none)."""
    found = [""] * len(points)
    if areas is None or areas.empty or not points:
        return found
    geoms = areas.geometry.to_numpy()
    ids = areas["hazard_id"].astype(str).to_numpy()
    point_idx, area_idx = shapely.STRtree(geoms).query(np.asarray(points, dtype=object), predicate="within")
    for p, a in zip(point_idx, area_idx, strict=True):
        found[p] = found[p] or str(ids[a])
    return found


def ordered(items: list[Item], order: str, thresholds: Mapping[str, float]) -> list[int]:
    """Positions of ``items`` in review order: ``"uncertainty"``, confidence nearest the layer's
    decision threshold first; ``"hazard"``, area by area (by hazard_id, items outside every area
    last), the least sure first within each."""
    if order not in ORDERS:
        raise ValueError(f"order {order!r} is not one of {', '.join(ORDERS)}")

    def key(k: int) -> tuple:
        item = items[k]
        doubt = (item.uncertainty(thresholds), item.layer, item.fid)
        return ((item.hazard_id == "", item.hazard_id, *doubt) if order == "hazard" else doubt)

    return sorted(range(len(items)), key=key)
