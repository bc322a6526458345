"""Hazard-level metrics against ground truth: coverage, tightness, disaggregation.

Targets from the mine-action brief: submunition coverage >= 0.99 and CMR tightness <= 1.5
(reporting whole task polygons in which any item was found is many times that).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from rams.hazards.areas import CMR, FORTIFICATION, polygon_parts
from rams.hazards.rules import HazardRules


def _union(frame: gpd.GeoDataFrame) -> BaseGeometry:
    parts = polygon_parts(frame.geometry)
    return shapely.union_all(parts) if parts else Polygon()


def _share(part: float, whole: float) -> float | None:
    return float(part / whole) if whole > 0 else None


def _layer(truth: dict[str, gpd.GeoDataFrame], name: str) -> np.ndarray:
    frame = truth.get(name)
    if frame is None:
        return np.empty(0, dtype=object)
    return frame.geometry.to_numpy()[~frame.geometry.is_empty.to_numpy()]


def hazard_metrics(areas: gpd.GeoDataFrame, truth: dict[str, gpd.GeoDataFrame],
                   rules: HazardRules) -> dict[str, float | int | None]:
    """Compare hazard areas with ground-truth label layers (same projected CRS, metres).

    ``truth`` holds the label layers ``submunitions``, ``strike_footprints``, ``trenches``,
    ``positions`` and ``distractors`` (a missing layer counts as empty). Returns:

    - ``submunition_coverage``: share of true submunitions inside a CMR area.
    - ``trench_length_coverage``: share of true trench length inside a FORTIFICATION area.
    - ``position_coverage``: share of true position area inside a FORTIFICATION area.
    - ``cmr_area_m2``: total CMR area.
    - ``true_contamination_m2``: area of the union of the true strike footprints and the true
      isolated items (``strike_id`` -1, buffered by ``rules.cmr.isolated_item_radius_m``),
      buffered by ``rules.cmr.fade_out_m``: what a perfect survey would report.
    - ``tightness``: their ratio (1 = as tight as the truth plus margin; target <= 1.5).
    - ``cmr_areas``: number of CMR areas; ``cmr_without_evidence``: CMR areas with
      evidence_count 0; ``cmr_without_true_items``: CMR areas holding no true submunition;
      ``cmr_on_distractors``: those of the latter that touch a distractor (false CMR areas
      created by distractors).

    Shares are None where the truth has nothing to cover.
    """
    kinds = areas["hazard_type"].to_numpy()
    cmr = areas.loc[kinds == CMR]
    cmr_union = _union(cmr)
    fort_union = _union(areas.loc[kinds == FORTIFICATION])

    items = _layer(truth, "submunitions")
    covered_items = int(shapely.intersects(cmr_union, items).sum()) if len(items) else 0

    trenches = _layer(truth, "trenches")
    trench_len = float(shapely.length(trenches).sum())
    trench_in = float(shapely.length(shapely.intersection(trenches, fort_union)).sum())

    positions = _layer(truth, "positions")
    pos_area = float(shapely.area(positions).sum())
    pos_in = float(shapely.area(shapely.intersection(positions, fort_union)).sum())

    # isolated true items are contamination too: leaving them out of the reference would
    # count every correctly found stray item against tightness
    reference = list(_layer(truth, "strike_footprints"))
    frame = truth.get("submunitions")
    if frame is not None and "strike_id" in frame.columns and len(frame):
        stray = frame.geometry.to_numpy()[frame["strike_id"].to_numpy() == -1]
        reference += list(shapely.buffer(stray, rules.cmr.isolated_item_radius_m))
    margin_m2 = float(shapely.union_all(reference).buffer(rules.cmr.fade_out_m).area
                      if reference else 0.0)
    cmr_m2 = float(shapely.area(cmr.geometry.to_numpy()).sum())

    distractors = _layer(truth, "distractors")
    distractor_union = shapely.union_all(distractors) if len(distractors) else Polygon()
    empty_cmr = [g for g in cmr.geometry
                 if not (len(items) and shapely.intersects(g, items).any())]
    return {
        "submunition_coverage": _share(covered_items, len(items)),
        "trench_length_coverage": _share(trench_in, trench_len),
        "position_coverage": _share(pos_in, pos_area),
        "cmr_area_m2": cmr_m2,
        "true_contamination_m2": margin_m2,
        "tightness": _share(cmr_m2, margin_m2),
        "cmr_areas": len(cmr),
        "cmr_without_evidence": int((cmr["evidence_count"].to_numpy() <= 0).sum()),
        "cmr_without_true_items": len(empty_cmr),
        "cmr_on_distractors": sum(bool(g.intersects(distractor_union)) for g in empty_cmr),
    }
