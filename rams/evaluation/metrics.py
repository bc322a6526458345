"""Object-level detection metrics in metres (pure functions over GeoDataFrames).

Each ``*_counts`` function returns raw counts/lengths, which add up across flights;
:func:`summarise` turns summed counts into precision, recall and F1. By convention a ratio with
nothing in it (0/0) is 1.0: no truth and no prediction is a perfect score.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree

from rams.detector.calibration import bin_sums

EVALUATION_DEFAULTS = {"match_radius_m": 0.3, "iou_threshold": 0.5, "trench_tolerance_m": 1.0,
                       "min_visible_fraction": 0.01, "min_length_px": 0.0,
                       "min_position_visible_share": 0.5}


def _xy(gdf: gpd.GeoDataFrame) -> np.ndarray:
    if len(gdf) == 0:
        return np.empty((0, 2))
    return shapely.get_coordinates(gdf.geometry.centroid.to_numpy()).reshape(-1, 2)


def match_points(pred_xy: np.ndarray, pred_conf: np.ndarray, true_xy: np.ndarray,
                 radius_m: float) -> np.ndarray:
    """Greedy one-to-one matching, most confident prediction first, to the nearest free truth.

    Returns, for each prediction, the index of its matched truth point or -1.
    """
    match = np.full(len(pred_xy), -1, int)
    if len(pred_xy) == 0 or len(true_xy) == 0:
        return match
    tree = cKDTree(true_xy)
    taken = np.zeros(len(true_xy), bool)
    for i in np.argsort(-np.asarray(pred_conf), kind="stable"):
        cand = tree.query_ball_point(pred_xy[i], radius_m)
        cand = [j for j in cand if not taken[j]]
        if cand:
            j = min(cand, key=lambda k: float(np.hypot(*(true_xy[k] - pred_xy[i]))))
            taken[j] = True
            match[i] = j
    return match


def submunition_counts(pred: gpd.GeoDataFrame, truth: gpd.GeoDataFrame, radius_m: float = 0.3,
                       area_ha: float = 0.0, distractors: gpd.GeoDataFrame | None = None,
                       min_visible_fraction: float = 0.0, min_length_m: float = 0.0
                       ) -> dict[str, float]:
    """tp/fp/fn for predicted points (``confidence`` column) against true centres.

    True items with ``visible_fraction`` below ``min_visible_fraction`` (hidden under vegetation)
    or shorter than ``min_length_m`` (below the imagery's resolution) are ignored: finding one is
    not a false positive, missing one is not a false negative.
    A false positive within ``radius_m`` of a distractor outline also counts as ``distractor_fp``,
    and as ``fp_on_KIND`` for the ``kind`` of the nearest such distractor (``fp_on_distractor``
    when the layer has no ``kind``): what the detector takes for a submunition.
    """
    pred_xy = _xy(pred)
    conf = pred["confidence"].to_numpy(float) if len(pred) else np.empty(0)
    ignored = ignored_truth(truth, min_visible_fraction, min_length_m)
    match = match_points(pred_xy, conf, _xy(truth), radius_m)
    hit = match >= 0
    tp = int(np.sum(_scored(match, ignored)))
    fp_mask = ~hit
    on_kind = _nearest_kinds(pred_xy[fp_mask], distractors, radius_m)
    fp = int(fp_mask.sum())
    fn = int(np.sum(~ignored)) - tp
    return {"tp": tp, "fp": fp, "fn": fn, "distractor_fp": sum(on_kind.values()), "area_ha": area_ha,
            "ignored_truth": int(ignored.sum()), **{f"fp_on_{k}": n for k, n in sorted(on_kind.items())}}


#: Bands of ``visible_fraction`` (the share of an item's length not under soil) that
#: :func:`recall_by_visible_fraction` reports recall in: (lower, upper, name).
VISIBILITY_BANDS = ((0.0, 0.5, "under_half_visible"), (0.5, 0.9, "half_to_90pc_visible"),
                    (0.9, 1.01, "over_90pc_visible"))


def recall_by_visible_fraction(pred: gpd.GeoDataFrame, truth: gpd.GeoDataFrame, radius_m: float = 0.3,
                               min_visible_fraction: float = 0.0, min_length_m: float = 0.0
                               ) -> dict[str, dict[str, float]]:
    """tp / fn of the scored true items (as :func:`submunition_counts` scores them, from the same
    matching) in each band of ``visible_fraction`` (:data:`VISIBILITY_BANDS`); empty when the
    labels carry no ``visible_fraction``."""
    if "visible_fraction" not in truth:
        return {}
    _, found, ignored = _item_matches(pred, truth, radius_m, min_visible_fraction, min_length_m)
    visible = truth["visible_fraction"].to_numpy(float)
    out = {}
    for lo, hi, name in VISIBILITY_BANDS:
        band = ~ignored & (visible >= lo) & (visible < hi)
        out[name] = {"tp": int(np.sum(band & found)), "fn": int(np.sum(band & ~found))}
    return out


#: Bands of item length in flight pixels that :func:`recall_by_size_px` reports recall in:
#: (lower, upper, name). Items under 5 px are below what the imagery resolves: reported apart.
SIZE_BANDS_PX = ((0.0, 5.0, "under_5_px"), (5.0, 8.0, "5_to_8_px"), (8.0, 16.0, "8_to_16_px"),
                 (16.0, np.inf, "16_px_and_more"))


def recall_by_size_px(pred: gpd.GeoDataFrame, truth: gpd.GeoDataFrame, gsd_m: float, radius_m: float = 0.3,
                      min_visible_fraction: float = 0.0) -> dict[str, dict[str, float]]:
    """tp / fn of the visible true items in each band of length in flight pixels at ``gsd_m``
    (:data:`SIZE_BANDS_PX`), every size scored; empty when the labels carry no ``length_m``."""
    if "length_m" not in truth:
        return {}
    _, found, ignored = _item_matches(pred, truth, radius_m, min_visible_fraction, 0.0)
    px = truth["length_m"].to_numpy(float) / gsd_m
    out = {}
    for lo, hi, name in SIZE_BANDS_PX:
        band = ~ignored & (px >= lo) & (px < hi)
        out[name] = {"tp": int(np.sum(band & found)), "fn": int(np.sum(band & ~found))}
    return out


def recall_by_type(pred: gpd.GeoDataFrame, truth: gpd.GeoDataFrame, radius_m: float = 0.3,
                   min_visible_fraction: float = 0.0, min_length_m: float = 0.0) -> dict[str, dict[str, float]]:
    """tp / fn of the scored true items (as :func:`submunition_counts` scores them) of each
    ``munition_type``; empty when the labels carry none."""
    if "munition_type" not in truth:
        return {}
    _, found, ignored = _item_matches(pred, truth, radius_m, min_visible_fraction, min_length_m)
    kinds = truth["munition_type"].astype(str).to_numpy()
    return {str(k): {"tp": int(np.sum(~ignored & (kinds == k) & found)),
                     "fn": int(np.sum(~ignored & (kinds == k) & ~found))} for k in sorted(set(kinds))}


def confidence_sums(pred: gpd.GeoDataFrame, truth: gpd.GeoDataFrame, radius_m: float = 0.3,
                    min_visible_fraction: float = 0.0, min_length_m: float = 0.0) -> dict[str, dict[str, float]]:
    """:func:`rams.detector.calibration.bin_sums` of the detections the score counts (true: matched
    to a scored item; false: matched to none; those on ignored items count as neither)."""
    match, _, ignored = _item_matches(pred, truth, radius_m, min_visible_fraction, min_length_m)
    counted = (match < 0) | ~ignored[np.maximum(match, 0)] if len(ignored) else np.ones(len(match), bool)
    conf = pred["confidence"].to_numpy(float) if len(pred) else np.empty(0)
    return bin_sums(conf[counted], (match >= 0)[counted])


#: Metres around the outlines of trenches and positions still counted as in the earthworks
#: (their walls, spoil and berms), by :func:`counts_by_ground` and chip sampling.
EARTHWORK_MARGIN_M = 0.5


def earthwork_outlines(labels: dict[str, gpd.GeoDataFrame]) -> np.ndarray:
    """The true trench and position polygons of a flight's label layers (shapely geometries)."""
    return np.concatenate([labels[name].geometry.to_numpy() for name in ("trench_polygons", "positions")
                           if name in labels and len(labels[name])] or [np.empty(0, object)])


def in_earthworks(xy: np.ndarray, outlines: np.ndarray, margin_m: float = EARTHWORK_MARGIN_M) -> np.ndarray:
    """Per point of ``xy`` (K, 2), map metres: inside one of the ``outlines`` or within
    ``margin_m`` metres of one (same projected CRS)."""
    if len(outlines) == 0 or len(xy) == 0:
        return np.zeros(len(xy), bool)
    return shapely.intersects(shapely.buffer(shapely.union_all(outlines), margin_m), shapely.points(xy))


def counts_by_ground(pred: gpd.GeoDataFrame, truth: gpd.GeoDataFrame, outlines: np.ndarray,
                     radius_m: float = 0.3, min_visible_fraction: float = 0.0, min_length_m: float = 0.0
                     ) -> dict[str, dict[str, float]]:
    """tp / fn of the scored true items and the false positives (as :func:`submunition_counts`
    scores them, from the same matching) ``in_earthworks`` (:func:`in_earthworks` of the true
    trench and position ``outlines``) and on ``open_ground``; empty when there are no earthworks
    to split by."""
    if len(outlines) == 0:
        return {}
    match, found, ignored = _item_matches(pred, truth, radius_m, min_visible_fraction, min_length_m)
    inside = in_earthworks(np.concatenate([_xy(truth), _xy(pred)]), outlines)  # one buffered union
    item_in, pred_in = inside[:len(truth)], inside[len(truth):]
    out = {}
    for name, items, preds in (("in_earthworks", item_in, pred_in), ("open_ground", ~item_in, ~pred_in)):
        scored = items & ~ignored
        out[name] = {"tp": int(np.sum(scored & found)), "fn": int(np.sum(scored & ~found)),
                     "fp": int(np.sum(preds & (match < 0)))}
    return out


def _item_matches(pred: gpd.GeoDataFrame, truth: gpd.GeoDataFrame, radius_m: float,
                  min_visible_fraction: float, min_length_m: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per prediction its matched truth (:func:`match_points`); per true item, whether a
    prediction matched it and whether the score ignores it."""
    conf = pred["confidence"].to_numpy(float) if len(pred) else np.empty(0)
    match = match_points(_xy(pred), conf, _xy(truth), radius_m)
    found = np.zeros(len(truth), bool)
    found[match[match >= 0]] = True
    return match, found, ignored_truth(truth, min_visible_fraction, min_length_m)


def _scored(match: np.ndarray, ignored: np.ndarray) -> np.ndarray:
    """Per prediction: matched (``match`` >= 0, see :func:`match_points`) to a truth not ``ignored``."""
    scored = match >= 0
    scored[scored] = ~ignored[match[scored]]
    return scored


def _nearest_kinds(xy: np.ndarray, distractors: gpd.GeoDataFrame | None, radius_m: float) -> dict[str, int]:
    """How many of the points ``xy`` (K, 2) lie within ``radius_m`` (metres) of a distractor, by the
    ``kind`` of the nearest one."""
    if distractors is None or len(distractors) == 0 or len(xy) == 0:
        return {}
    tree = shapely.STRtree(distractors.geometry.to_numpy())
    _, nearest = tree.query_nearest(shapely.points(xy), max_distance=radius_m, all_matches=False)
    kinds = (distractors["kind"].astype(str).to_numpy() if "kind" in distractors
             else np.full(len(distractors), "distractor"))
    names, counts = np.unique(kinds[nearest], return_counts=True)
    return {str(k): int(n) for k, n in zip(names, counts, strict=True)}


def submunition_sweep(pred: gpd.GeoDataFrame, truth: gpd.GeoDataFrame, thresholds: Sequence[float],
                      radius_m: float = 0.3, area_ha: float = 0.0, min_visible_fraction: float = 0.0,
                      min_length_m: float = 0.0) -> list[dict[str, float]]:
    """:func:`submunition_counts` (without ``distractor_fp``) of the predictions with
    ``confidence`` >= each threshold, from one matching: greedy matching takes the most confident
    first, so raising the threshold only drops matches from the end."""
    conf = pred["confidence"].to_numpy(float) if len(pred) else np.empty(0)
    ignored = ignored_truth(truth, min_visible_fraction, min_length_m)
    match = match_points(_xy(pred), conf, _xy(truth), radius_m)
    scored = _scored(match, ignored)
    out = []
    for thr in thresholds:
        kept = conf >= thr
        tp = int(np.sum(kept & scored))
        out.append({"tp": tp, "fp": int(np.sum(kept & (match < 0))), "fn": int(np.sum(~ignored)) - tp,
                    "distractor_fp": 0, "area_ha": area_ha, "ignored_truth": int(ignored.sum())})
    return out


def ignored_truth(truth: gpd.GeoDataFrame, min_visible_fraction: float, min_length_m: float) -> np.ndarray:
    """True items neither scored nor counted: hidden under vegetation (``visible_fraction`` below
    ``min_visible_fraction``) or below the resolution (``length_m`` under ``min_length_m``)."""
    ignored = np.zeros(len(truth), bool)
    if min_visible_fraction > 0 and "visible_fraction" in truth and len(truth):
        ignored = truth["visible_fraction"].to_numpy(float) < min_visible_fraction
    if min_length_m > 0 and "length_m" in truth and len(truth):
        ignored |= truth["length_m"].to_numpy(float) < min_length_m
    return ignored


def hidden_share(polygons: gpd.GeoDataFrame, vegetation: gpd.GeoDataFrame | None) -> np.ndarray:
    """Share (0-1) of each polygon's area under the ``vegetation`` outlines (canopy that hides
    the ground), same projected CRS."""
    if len(polygons) == 0 or vegetation is None or len(vegetation) == 0:
        return np.zeros(len(polygons))
    canopy = shapely.union_all(vegetation.geometry.to_numpy())
    geoms = polygons.geometry.to_numpy()
    area = shapely.area(geoms)
    return np.where(area > 0, shapely.area(shapely.intersection(geoms, canopy)) / np.maximum(area, 1e-12), 0.0)


def position_counts(pred: gpd.GeoDataFrame, truth: gpd.GeoDataFrame, iou_threshold: float = 0.5,
                    vegetation: gpd.GeoDataFrame | None = None,
                    min_visible_share: float = 0.0) -> dict[str, float]:
    """tp/fp/fn of polygons matched one-to-one by IoU >= ``iou_threshold`` (greedy by IoU).

    True positions with less than ``min_visible_share`` of their area outside ``vegetation`` are
    ignored, as hidden submunitions are: matching one is not a true or false positive, missing
    one is not a false negative (``ignored_truth`` counts them). With ``min_visible_share`` equal
    to ``iou_threshold``, these are the positions that even an outline of exactly their visible
    part could not match.
    """
    ignored = np.zeros(len(truth), bool)
    if min_visible_share > 0:
        ignored = hidden_share(truth, vegetation) > 1.0 - min_visible_share
    p, t = pred.geometry.to_numpy(), truth.geometry.to_numpy()
    pairs = []
    if len(p) and len(t):
        tree = shapely.STRtree(t)
        ip, it = tree.query(p, predicate="intersects")
        for i, j in zip(ip, it, strict=True):
            inter = shapely.area(shapely.intersection(p[i], t[j]))
            union = shapely.area(shapely.union(p[i], t[j]))
            iou = inter / union if union > 0 else 0.0
            if iou >= iou_threshold:
                pairs.append((iou, int(i), int(j)))
    used_p, used_t = set(), set()
    for _, i, j in sorted(pairs, reverse=True):
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
    tp = sum(1 for j in used_t if not ignored[j])
    return {"tp": tp, "fp": len(p) - len(used_p), "fn": int(np.sum(~ignored)) - tp,
            "ignored_truth": int(ignored.sum())}


def trench_counts(pred: gpd.GeoDataFrame, truth: gpd.GeoDataFrame,
                  tolerance_m: float = 1.0) -> dict[str, float]:
    """Lengths (m) of true centre lines within ``tolerance_m`` of predicted lines and vice versa."""
    def within(lines: gpd.GeoDataFrame, other: gpd.GeoDataFrame) -> tuple[float, float]:
        total = float(lines.geometry.length.sum()) if len(lines) else 0.0
        if total == 0 or len(other) == 0:
            return total, 0.0
        zone = shapely.union_all(other.geometry.buffer(tolerance_m).to_numpy())
        return total, float(shapely.length(shapely.intersection(
            shapely.union_all(lines.geometry.to_numpy()), zone)))

    true_len, true_hit = within(truth, pred)
    pred_len, pred_hit = within(pred, truth)
    return {"true_length_m": true_len, "true_length_matched_m": true_hit,
            "pred_length_m": pred_len, "pred_length_matched_m": pred_hit}


#: The counts each class's precision and recall come from: (hits among the predicted, all
#: predicted, hits among the true, all true); trenches by length (m), the others by count.
_RATIO_KEYS = {"trench": ("pred_length_matched_m", "pred_length_m", "true_length_matched_m", "true_length_m")}
_COUNT_KEYS = ("tp", "fp", "fn")
_SCORE_NAMES = ("precision", "recall", "f1")


def precision_recall_f1(sums: dict[str, np.ndarray], cls: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 of ``cls``'s summed counts (scalars or arrays of draws): trenches by
    length, the others by ``tp`` / ``fp`` / ``fn``; a ratio with nothing in it is 1.0, an F1 of two
    zeros 0.0."""
    if cls in _RATIO_KEYS:
        hit_p, all_p, hit_t, all_t = (np.asarray(sums[k], float) for k in _RATIO_KEYS[cls])
    else:
        tp, fp, fn = (np.asarray(sums[k], float) for k in _COUNT_KEYS)
        hit_p, all_p, hit_t, all_t = tp, tp + fp, tp, tp + fn
    p = np.where(all_p > 0, hit_p / np.where(all_p > 0, all_p, 1.0), 1.0)
    r = np.where(all_t > 0, hit_t / np.where(all_t > 0, all_t, 1.0), 1.0)
    f1 = np.where(p + r > 0, 2 * p * r / np.where(p + r > 0, p + r, 1.0), 0.0)
    return p, r, f1


def summarise(counts: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Add precision / recall / F1 (and false positives per hectare) to summed counts."""
    out = {}
    for cls, c in counts.items():
        c = dict(c)
        c["precision"], c["recall"], c["f1"] = (float(v) for v in precision_recall_f1(c, cls))
        if cls == "submunition":
            c["fp_per_ha"] = c["fp"] / c["area_ha"] if c.get("area_ha") else 0.0
        out[cls] = c
    return out


def _drawn_scores(per_flight: Sequence[dict[str, dict[str, float]]], cls: str, pick: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 of ``cls`` pooled over each draw of flights (rows of ``pick``)."""
    keys = _RATIO_KEYS.get(cls, _COUNT_KEYS)
    table = np.array([[float(f.get(cls, {}).get(k, 0.0)) for k in keys] for f in per_flight])
    return precision_recall_f1(dict(zip(keys, table[pick].sum(axis=1).T, strict=True)), cls)


def _ranges(named: dict[str, np.ndarray], level: float) -> dict[str, float]:
    """``{name}_low`` / ``{name}_high``: the central ``level`` share of each array of draws."""
    tails = [50 * (1 - level), 100 - 50 * (1 - level)]
    return {f"{name}_{end}": float(v) for name, values in named.items()
            for end, v in zip(("low", "high"), np.percentile(values, tails), strict=True)}


def _draws(flights: int, draws: int, seed: int) -> np.ndarray:
    """Indices of ``draws`` resamplings of ``flights`` flights with replacement (draws, flights)."""
    return np.random.default_rng(seed).integers(0, flights, (draws, flights))


def bootstrap_intervals(per_flight: Sequence[dict[str, dict[str, float]]], draws: int = 2000,
                        level: float = 0.95, seed: int = 0) -> dict[str, dict[str, float]]:
    """How far pooled precision, recall and F1 move with the choice of flights: the flights are
    drawn with replacement ``draws`` times and their counts summed and scored as :func:`summarise`
    scores them. Per class, ``{precision,recall,f1}_{low,high}`` bound the central ``level`` share
    of the draws (a percentile bootstrap over flights, the unit surveys come in). Empty for fewer
    than two flights."""
    if len(per_flight) < 2:
        return {}
    pick = _draws(len(per_flight), draws, seed)
    return {cls: _ranges(dict(zip(_SCORE_NAMES, _drawn_scores(per_flight, cls, pick), strict=True)), level)
            for cls in per_flight[0]}


def bootstrap_difference(before: Sequence[dict[str, dict[str, float]]],
                         after: Sequence[dict[str, dict[str, float]]], draws: int = 2000,
                         level: float = 0.95, seed: int = 0) -> dict[str, dict[str, float]]:
    """Pooled ``after`` minus pooled ``before`` on the same flights (counts in the same order), per
    class: the differences of precision, recall and F1, each with the range
    (``{name}_low``/``{name}_high``) that the central ``level`` share of paired draws of flights
    gives (both scored on the same draw), and ``{name}_above_zero``, the share of draws in which it
    is positive. A range that holds zero is a difference another draw of flights could undo."""
    if len(before) != len(after) or len(before) < 2:
        raise ValueError("a paired comparison needs the same two or more flights on both sides")
    pick = _draws(len(before), draws, seed)
    out = {}
    for cls in before[0]:
        delta = {name: a - b for name, b, a in zip(_SCORE_NAMES, _drawn_scores(before, cls, pick),
                                                   _drawn_scores(after, cls, pick), strict=True)}
        every = np.arange(len(before))[None]  # the one draw of all the flights: the pooled scores
        pooled = zip(_SCORE_NAMES, _drawn_scores(before, cls, every), _drawn_scores(after, cls, every), strict=True)
        out[cls] = {**{name: float(a[0] - b[0]) for name, b, a in pooled},
                    **_ranges(delta, level),
                    **{f"{name}_above_zero": float(np.mean(d > 0)) for name, d in delta.items()}}
    return out


def add_counts(a: dict[str, dict[str, float]], b: dict[str, dict[str, float]]
               ) -> dict[str, dict[str, float]]:
    """Element-wise sum of two count dicts (per class, per key; a class or key missing from one
    counts 0)."""
    return {cls: {k: a.get(cls, {}).get(k, 0) + b.get(cls, {}).get(k, 0) for k in {**a.get(cls, {}), **b.get(cls, {})}}
            for cls in {**a, **b}}


def score_detections(det: dict[str, gpd.GeoDataFrame], labels: dict[str, gpd.GeoDataFrame],
                     area_ha: float, params: dict[str, float] | None = None,
                     gsd_m: float = 0.0) -> dict[str, dict[str, float]]:
    """Raw per-class counts of detections against a flight's labels (see ``metrics``).

    ``params["min_length_px"]`` ignores true submunitions shorter than that many pixels of the
    flight's ``gsd_m`` (metres); 0 (the default) scores every item.
    """
    p = {**EVALUATION_DEFAULTS, **(params or {})}
    return {
        "submunition": submunition_counts(det["submunitions"], labels["submunitions"],
                                          p["match_radius_m"], area_ha, labels["distractors"],
                                          p["min_visible_fraction"], p["min_length_px"] * gsd_m),
        "position": position_counts(det["positions"], labels["positions"], p["iou_threshold"],
                                    labels.get("vegetation"), p["min_position_visible_share"]),
        "trench": trench_counts(det["trenches"], labels["trenches"], p["trench_tolerance_m"]),
    }
