"""Hazard-level metrics against ground truth: coverage, tightness, disaggregation, fragmentation.

Targets from the mine-action brief: submunition coverage >= 0.99 and CMR tightness <= 1.5
(reporting whole task polygons in which any item was found is many times that); one
footprint per strike and one piece per trench (<= 1.2 footprints per true strike and <= 1.5
pieces per true trench), so a survey team gets one task per strike, not one per item.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from rams.hazards.areas import CMR_GROUND, FORTIFICATION_GROUND, polygon_parts
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


def fragmentation_metrics(
    footprints: gpd.GeoDataFrame,
    trench_lines: gpd.GeoDataFrame,
    truth: dict[str, gpd.GeoDataFrame],
    trench_tolerance_m: float = 1.0,
) -> dict[str, float | int | None]:
    """How many pieces the survey cuts each true strike and each true trench into.

    ``footprints`` is the survey's strike_footprints layer (Polygons with their fade-out),
    ``trench_lines`` its trenches layer (LineStrings), ``truth`` the label layers
    ``submunitions`` (with ``strike_id``, -1 for an item in no strike) and ``trenches`` (with
    ``trench_id``); one projected CRS, metres. Returns:

    - ``footprints_per_true_strike``: footprints belonging to a true strike per true strike
      that has any. A footprint belongs to the strike of which it holds the most true items
      (ties: the lower strike_id); one holding no true strike item belongs to none and is
      counted in ``footprints_without_strike``. 1.0 when every found strike is one footprint.
    - ``strike_items_in_own_footprint``: share of the true strike items that lie in their
      strike's own footprint, the footprint holding most of that strike's items; items of a
      strike no footprint reaches count as outside. 1.0 when every strike is one footprint
      holding all its items.
    - ``trench_pieces_per_true_trench``: found trench lines per true trench found. A found
      line is a piece of the true trench (by ``trench_id``) along which most of its length
      runs within ``trench_tolerance_m`` (m); other lines are ``trench_pieces_without_trench``.
      1.0 when every found trench is one line.

    Ratios are None where there is nothing to count.
    """
    items = truth.get("submunitions")
    fp_geoms = footprints.geometry.to_numpy() if len(footprints) else np.empty(0, dtype=object)
    held = np.empty((0, 2), dtype=np.int64)  # (footprint, strike_id) per true item held
    strike_of = np.empty(0, dtype=np.int64)
    if items is not None and len(items) and "strike_id" in items.columns:
        ids = items["strike_id"].to_numpy(dtype=np.int64)
        struck = ids >= 0
        strike_of = ids[struck]
        pts = items.geometry.to_numpy()[struck]
        if len(fp_geoms) and len(pts):
            fp_idx, item_idx = shapely.STRtree(pts).query(fp_geoms, predicate="covers")
            held = np.column_stack([fp_idx, strike_of[item_idx]])
    strikes = np.unique(strike_of)
    # holding[f, s]: true items of strike s in footprint f
    holding = np.zeros((len(fp_geoms), len(strikes)), dtype=np.int64)
    if len(held):
        np.add.at(holding, (held[:, 0], np.searchsorted(strikes, held[:, 1])), 1)
    holds_any = holding.sum(axis=1) > 0
    owner = np.argmax(holding, axis=1) if len(strikes) else np.zeros(len(fp_geoms), dtype=np.int64)
    per_strike = np.bincount(owner[holds_any], minlength=len(strikes))
    found = per_strike > 0
    own = holding.max(axis=0, initial=0)

    lines = trench_lines.geometry.to_numpy() if len(trench_lines) else np.empty(0, dtype=object)
    true_trenches = truth.get("trenches")
    pieces = np.empty(0, dtype=np.int64)
    if true_trenches is not None and len(true_trenches) and len(lines):
        by_id = true_trenches.dissolve(by="trench_id") if "trench_id" in true_trenches.columns \
            else true_trenches
        corridors = shapely.buffer(by_id.geometry.to_numpy(), trench_tolerance_m)
        along = shapely.length(shapely.intersection(lines[:, None], corridors[None, :]))
        best = np.argmax(along, axis=1)
        piece = along[np.arange(len(lines)), best] > 0.5 * shapely.length(lines)
        pieces = np.bincount(best[piece], minlength=len(corridors))
    else:
        piece = np.zeros(len(lines), dtype=bool)
    return {
        "footprints_per_true_strike": _share(per_strike.sum(), found.sum()),
        "footprints_without_strike": int((~holds_any).sum()),
        "strike_items_in_own_footprint": _share(float(own.sum()), len(strike_of)),
        "trench_pieces_per_true_trench": _share(float(pieces.sum()), int((pieces > 0).sum())),
        "trench_pieces_without_trench": int((~piece).sum()),
    }


def hazard_metrics(areas: gpd.GeoDataFrame, truth: dict[str, gpd.GeoDataFrame],
                   rules: HazardRules) -> dict[str, float | int | None]:
    """Compare hazard areas with ground-truth label layers (same projected CRS, metres).

    ``truth`` holds the label layers ``submunitions``, ``strike_footprints``, ``trenches``,
    ``positions`` and ``distractors`` (a missing layer counts as empty). CMR ground is the
    areas of type CMR and CMR+FORTIFICATION, fortification ground FORTIFICATION and
    CMR+FORTIFICATION. Returns:

    - ``submunition_coverage``: share of true submunitions on CMR ground.
    - ``trench_length_coverage``: share of true trench length on fortification ground.
    - ``position_coverage``: share of true position area on fortification ground.
    - ``cmr_area_m2``: total area of CMR ground.
    - ``true_contamination_m2``: what a perfect survey would report: the union of the true
      strike footprints buffered by ``rules.cmr.fade_out_m`` and the true isolated items
      (``strike_id`` -1) buffered by ``rules.cmr.isolated_item_radius_m`` plus
      ``rules.cmr.isolated_fade_out_m``.
    - ``tightness``: their ratio (1 = as tight as the truth plus margin; target <= 1.5).
    - ``cmr_areas``: number of areas on CMR ground; ``cmr_without_evidence``: those with
      evidence_count 0; ``cmr_without_true_items``: those holding no true submunition;
      ``cmr_on_distractors``: those of the latter that touch a distractor (false CMR areas
      created by distractors).

    Shares are None where the truth has nothing to cover.
    """
    kinds = areas["hazard_type"].to_numpy()
    cmr = areas.loc[np.isin(kinds, CMR_GROUND)]
    cmr_union = _union(cmr)
    fort_union = _union(areas.loc[np.isin(kinds, FORTIFICATION_GROUND)])

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
    reference = list(shapely.buffer(_layer(truth, "strike_footprints"), rules.cmr.fade_out_m))
    frame = truth.get("submunitions")
    if frame is not None and "strike_id" in frame.columns and len(frame):
        stray = frame.geometry.to_numpy()[frame["strike_id"].to_numpy() == -1]
        lone_m = rules.cmr.isolated_item_radius_m + rules.cmr.isolated_fade_out_m
        reference += list(shapely.buffer(stray, lone_m))
    margin_m2 = float(shapely.union_all(reference).area if reference else 0.0)
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
