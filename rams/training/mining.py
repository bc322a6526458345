"""What the submunition verifier learns from: heatmap candidates labelled by the items near them,
and patch sets mined from whole flights or rendered around the objects of synthetic scenes.

Candidates are the heatmap peaks of ``candidates_from`` at ``candidate_threshold`` on every
training flight. A candidate within the match radius of a visible true item is positive; one
near an item hidden under vegetation is left out; every other candidate is negative. Every
visible item's own centre is added as a positive too, so that items the heatmap ranks low are
still learnt. The mined patches are cached in the output folder (``candidates.safetensors``),
and the patches rendered around the objects of ``object_scenes`` scenes
(:mod:`rams.training.patches`) in ``objects.safetensors``. Each set holds the patches (K, 3, P, P)
uint8, their labels, their items' lengths in flight pixels and visible fractions (1 for
negatives); positives are drawn by :func:`draw_weights`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
import torch
from affine import Affine
from safetensors.torch import load_file
from scipy.spatial import cKDTree

from rams.detect import detect_image
from rams.detector.card import write_weights
from rams.detector.detector import Detector
from rams.detector.verifier import pixel_positions
from rams.errors import RamsError
from rams.patches import crop_patches, patch_scale
from rams.resample import averaged
from rams.settings import DetectionSettings, SurveySettings, calibrated
from rams.training.config import TrainConfig
from rams.training.data import LabelledFlight
from rams.training.patches import rendered_patches

log = logging.getLogger("rams.train")

#: What a patch set (mined or rendered, cached as safetensors) holds, in this order.
SET_KEYS = ("patches", "labels", "length_px", "visible_fraction")


def candidates(detector: Detector, flight: LabelledFlight, threshold: float) -> gpd.GeoDataFrame:
    """The heatmap peaks >= ``threshold`` a survey of ``flight`` hands its verifier (the
    survey's own detection, :func:`rams.detect.detect_image`, unverified): points in the
    flight CRS, ``confidence`` the peak value. A flight finer than the detector's GSD range is
    averaged onto its finest GSD first, as a survey reads it."""
    det = calibrated(DetectionSettings(candidate_threshold=threshold, submunition_threshold=threshold), detector.card)
    image, transform = flight.image, flight.transform
    finest = float(detector.card["gsd_range_m"][0])
    if flight.gsd_m < finest * 0.999:
        ratio = finest / flight.gsd_m
        image, transform = averaged(image[:3], ratio), transform @ Affine.scale(ratio)
    found = detect_image(detector, image, transform, flight.crs, SurveySettings(detection=det), verify=False)
    return found["submunitions"][["confidence", "geometry"]]


def label_candidates(cands: gpd.GeoDataFrame, items: gpd.GeoDataFrame, radius_m: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(label, item) per candidate: label 1 near a visible item, 0 far from every item, -1 near an
    item hidden under vegetation; item is the row of the nearest item in ``items`` (-1 if none)."""
    out = np.zeros(len(cands), np.int8)
    if len(cands) == 0 or len(items) == 0:
        return out, np.full(len(cands), -1)
    xy = np.column_stack([shapely.get_x(items.geometry.to_numpy()), shapely.get_y(items.geometry.to_numpy())])
    hidden = items["visible_fraction"].to_numpy(float) <= 0 if "visible_fraction" in items \
        else np.zeros(len(items), bool)
    cxy = np.column_stack([shapely.get_x(cands.geometry.to_numpy()), shapely.get_y(cands.geometry.to_numpy())])
    dist, nearest = cKDTree(xy).query(cxy)
    near = dist <= radius_m
    out[near & ~hidden[nearest]] = 1
    out[near & hidden[nearest]] = -1
    return out, np.where(near, nearest, -1)


def item_length_px(items: gpd.GeoDataFrame, gsd_m: float) -> np.ndarray:
    """Each item's length in flight pixels (NaN where the labels give no ``length_m``)."""
    if "length_m" not in items:
        return np.full(len(items), np.nan, np.float32)
    return (items["length_m"].to_numpy(float) / gsd_m).astype(np.float32)


def positive_weights(length_px: torch.Tensor) -> torch.Tensor:
    """Sampling weights over positive patches that give every octave of item length (flight px:
    under 2, 2-4, 4-8, 8-16, ...) the same share; unknown lengths (NaN) form one group."""
    octave = torch.floor(torch.log2(torch.nan_to_num(length_px, nan=0.5).clamp(min=0.5))).long() + 1
    counts = torch.bincount(octave)
    return 1.0 / counts[octave].float()


def draw_weights(length_px: torch.Tensor, visible_fraction: torch.Tensor, balance_sizes: bool,
                 buried_weight: float) -> torch.Tensor:
    """Sampling weights over positive patches: even over octaves of item length (flight px) with
    ``balance_sizes`` (:func:`positive_weights`), else as they occur; a partly buried item
    (``visible_fraction`` under 1) counts ``buried_weight`` times a fully exposed one."""
    base = positive_weights(length_px) if balance_sizes else torch.ones_like(length_px)
    return base * torch.where(visible_fraction < 1, buried_weight, 1.0)


def negatives_kept(confidence: np.ndarray, negative: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """bool (K,): every candidate that is not ``negative``, and of the negatives at most
    ``limit`` (0: all): the ``limit // 2`` the heatmap puts highest and the rest drawn at random."""
    keep = ~negative
    idx = np.flatnonzero(negative)
    if limit <= 0 or len(idx) <= limit:
        return keep | negative
    ranked = idx[np.argsort(-confidence[idx], kind="stable")]
    top, rest = ranked[: limit // 2], ranked[limit // 2:]
    drawn = np.random.default_rng(seed).choice(rest, limit - len(top), replace=False)
    keep[top] = keep[drawn] = True
    return keep


def mine(detector: Detector, flight: LabelledFlight, cfg: TrainConfig
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Training patches (K, C, P, P) uint8, labels (K,) 0/1 and, for positives, the length of
    their item in flight pixels (K,) (0 for negatives) and its visible fraction (K,) (below 1
    where partly buried; 1 for negatives) of one flight."""
    radius = float(cfg.evaluation.get("match_radius_m", 0.3))
    cands = candidates(detector, flight, cfg.candidate_threshold)
    items = flight.labels["submunitions"].reset_index(drop=True)
    lab, item = label_candidates(cands, items, radius)
    keep = (lab >= 0) & negatives_kept(cands["confidence"].to_numpy(), lab == 0, cfg.mined_negatives_per_flight,
                                       cfg.seed)
    length = item_length_px(items, flight.gsd_m)
    fraction = items["visible_fraction"].to_numpy(np.float32) if "visible_fraction" in items \
        else np.ones(len(items), np.float32)
    positive = lab[keep] > 0
    cand_length = np.zeros(int(keep.sum()), np.float32)
    cand_length[positive] = length[item[keep][positive]]
    cand_fraction = np.ones(int(keep.sum()), np.float32)
    cand_fraction[positive] = fraction[item[keep][positive]]
    rc = [pixel_positions(flight.transform, cands.geometry[keep])]
    labels = [lab[keep]]
    lengths = [cand_length]
    fractions = [cand_fraction]
    if len(items):
        visible = fraction > 0
        rc.append(pixel_positions(flight.transform, items.geometry[visible]))
        labels.append(np.ones(int(visible.sum()), np.int8))
        lengths.append(length[visible])
        fractions.append(fraction[visible])
    patches = crop_patches(flight.image, np.concatenate(rc), cfg.patch_px,
                           patch_scale(cfg.patch_gsd_m, flight.gsd_m))
    return patches, np.concatenate(labels).astype(np.float32), np.concatenate(lengths), np.concatenate(fractions)


def mined_set(detector: Detector, flights: Iterator[LabelledFlight], cfg: TrainConfig, cache: Path
               ) -> dict[str, torch.Tensor]:
    """``patches``, ``labels``, ``length_px`` and ``visible_fraction`` of every training flight,
    mined once and cached."""
    if cache.is_file():
        data = load_file(str(cache))
        if "length_px" not in data:
            raise RamsError(cache, "mined before item lengths were recorded: delete it to mine again")
        return _with_visibility(data, cfg, cache)
    parts = []
    t0 = time.perf_counter()
    for i, fl in enumerate(flights):
        parts.append(mine(detector, fl, cfg))
        log.info("mined %s: %d candidates, %d positive (%d flights, %.0fs)", Path(fl.path).name, len(parts[-1][1]),
                 int(parts[-1][1].sum()), i + 1, time.perf_counter() - t0)
    data = {key: torch.from_numpy(np.concatenate([p[k] for p in parts])) for k, key in enumerate(SET_KEYS)}
    write_weights(cache, data)
    return data


def _with_visibility(data: dict[str, torch.Tensor], cfg: TrainConfig, cache: Path) -> dict[str, torch.Tensor]:
    """A cached patch set with ``visible_fraction``: caches written before it was recorded count
    every item as fully visible, which only a config without ``buried_weight`` may rely on."""
    if "visible_fraction" in data:
        return data
    if cfg.buried_weight != 1.0:
        raise RamsError(cache, "cached before item visibility was recorded, which buried_weight needs: "
                               "delete it to mine or render again")
    return {**data, "visible_fraction": torch.ones_like(data["labels"])}


def object_set(cfg: TrainConfig, cache: Path) -> dict[str, torch.Tensor]:
    """``patches``, ``labels``, ``length_px`` and ``visible_fraction`` rendered around the objects
    of the config's ``object_scenes`` scenes, rendered once and cached."""
    if cache.is_file():
        return _with_visibility(load_file(str(cache)), cfg, cache)
    seeds = list(range(cfg.object_first_seed, cfg.object_first_seed + cfg.object_scenes))
    t0 = time.perf_counter()
    step = max(1, len(seeds) // 10)

    def progress(done: int) -> None:  # a tenth at a time: a long rendering shows where it stands
        if done % step == 0 and done < len(seeds):
            log.info("rendered the objects of %d of %d scenes (%.0fs)", done, len(seeds), time.perf_counter() - t0)

    rendered = rendered_patches(seeds, cfg.gsd_range_m, cfg.patch_px, cfg.patch_gsd_m,
                                float(cfg.evaluation.get("match_radius_m", 0.3)), on_scene=progress,
                                catalogue=cfg.object_catalogue)
    log.info("rendered %d patches around the objects of %d scenes (%d positive) in %.0fs", len(rendered[1]),
             len(seeds), int(rendered[1].sum()), time.perf_counter() - t0)
    data = {key: torch.from_numpy(a) for key, a in zip(SET_KEYS, rendered, strict=True)}
    write_weights(cache, data)
    return data
