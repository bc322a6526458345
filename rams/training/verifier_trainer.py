"""Training the submunition verifier on the candidates a heatmap model proposes.

The training patches are mined from the training flights' candidates
(:mod:`rams.training.mining`). With ``object_scenes`` the batches also draw on patches
rendered around the objects of that many synthetic scenes (:mod:`rams.training.patches`): far more
submunitions of 5 px or more, and far more cans, bottles and scrap, than mining whole flights
yields in the same time. With ``ensemble_with`` the network trained joins the frozen networks of
an earlier verifier, and what is validated and saved is their ensemble
(:class:`rams.detector.verifier.PatchEnsemble`): a new member trained on different patches errs
on different candidates. With ``hard_negative_share`` part of each batch's negatives is drawn in
proportion to the network's own probability on them, rescored at each epoch's start: the
precision the survey needs is lost on the few negatives it ranks among the items, not on the
many it already rejects.

Validation re-scores the validation flights' candidates every epoch with the verifier's
probability (the confidence a survey reports) and measures object-level precision / recall (the
evaluation settings of the config) over a threshold sweep; the best epoch is kept with its
best-F1 threshold in the card.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import torch
import torch.nn.functional as F

from rams.detector.backbone import LITE0_PROVENANCE
from rams.detector.calibration import Platt, fit_platt, reliability, rescaled_postprocess
from rams.detector.card import load_model, save_model
from rams.detector.detector import Detector
from rams.detector.model import RGB_BANDS, on_device
from rams.detector.verifier import (
    Member,
    PatchEnsemble,
    build_verifier,
    cascade_probabilities,
    patch_arch,
    pixel_positions,
)
from rams.errors import RamsError
from rams.evaluation.metrics import EVALUATION_DEFAULTS, add_counts, ignored_truth, submunition_sweep, summarise
from rams.patches import crop_patches, patch_scale
from rams.training.augment import augment_batch
from rams.training.config import RealGroundSpec, TrainConfig, is_real_ground, iter_flights
from rams.training.data import LabelledFlight
from rams.training.detector_trainer import device_name, initial_model, load_checkpoint, save_checkpoint
from rams.training.mining import SET_KEYS, candidates, draw_weights, label_candidates, mined_set, object_set

log = logging.getLogger("rams.train")
# a verifier trained on balanced batches puts many negatives high: the sweep reaches 0.999
THRESHOLDS = tuple(np.round(np.arange(0.1, 0.96, 0.025), 3)) + (0.97, 0.98, 0.99, 0.993, 0.995, 0.997, 0.999)


@dataclass
class ValFlight:
    """What validation keeps of a flight: its labels, area and candidate patches (no image)."""

    labels: dict[str, gpd.GeoDataFrame]
    gsd_m: float
    area_ha: float
    candidates: gpd.GeoDataFrame
    patches: np.ndarray
    real_ground: bool = False  # objects composited onto a real frame (train/val real_ground)


def val_flight(detector: Detector, flight: LabelledFlight, cfg: TrainConfig) -> ValFlight:
    """A validation flight's candidates exactly as a survey finds them, with their patches."""
    cands = candidates(detector, flight, cfg.candidate_threshold)
    patches = crop_patches(flight.image, pixel_positions(flight.transform, cands.geometry), cfg.patch_px,
                           patch_scale(cfg.patch_gsd_m, flight.gsd_m))
    area_ha = flight.shape[0] * flight.shape[1] * flight.gsd_m**2 / 1e4
    return ValFlight(flight.labels, flight.gsd_m, area_ha, cands, patches, is_real_ground(flight.path))


def validate(model: Member | PatchEnsemble, val: list[ValFlight], cfg: TrainConfig, device: torch.device
             ) -> tuple[dict[str, float], float]:
    """Submunition metrics summed over validation flights at the best-F1 threshold on the
    verifier's probability (through the cascade of ``cfg.prefilter_threshold``, as in a survey)."""
    model.eval()
    p = {**EVALUATION_DEFAULTS, **cfg.evaluation}
    per_thr: list[dict[str, dict[str, float]]] = [{} for _ in THRESHOLDS]
    for fl in val:
        prob = cascade_probabilities(model, fl.patches, device, cfg.prefilter_threshold)
        scored = fl.candidates.assign(confidence=prob)
        sweep = submunition_sweep(scored, fl.labels["submunitions"], THRESHOLDS, p["match_radius_m"], fl.area_ha,
                                  p["min_visible_fraction"], p["min_length_px"] * fl.gsd_m)
        per_thr = [add_counts(acc, {"submunition": c}) if acc else {"submunition": c}
                   for acc, c in zip(per_thr, sweep, strict=True)]
    sums = [summarise(c)["submunition"] for c in per_thr]
    best = max(range(len(THRESHOLDS)), key=lambda i: (sums[i]["f1"], -abs(THRESHOLDS[i] - 0.5)))
    return sums[best], float(THRESHOLDS[best])


def calibration_set(model: Member | PatchEnsemble, val: list[ValFlight], cfg: TrainConfig, device: torch.device
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Raw probabilities and 0/1 truth of the validation candidates a survey would judge:
    candidates near items the evaluation ignores (hidden, or shorter than its ``min_length_px``)
    are left out, as they count neither as true nor as false detections."""
    p = {**EVALUATION_DEFAULTS, **cfg.evaluation}
    probs, truth = [], []
    for fl in val:
        items = fl.labels["submunitions"].reset_index(drop=True)
        counted = ~ignored_truth(items, p["min_visible_fraction"], p["min_length_px"] * fl.gsd_m)
        lab, item = label_candidates(fl.candidates, items, p["match_radius_m"])
        keep = (lab >= 0) & ((item < 0) | counted[np.maximum(item, 0)])
        probs.append(cascade_probabilities(model, fl.patches[keep], device, cfg.prefilter_threshold))
        truth.append(lab[keep] > 0)
    return np.concatenate(probs), np.concatenate(truth)


def real_ground_record(spec: RealGroundSpec) -> dict[str, Any]:
    """What a card records of real-ground composites: the frames (by flight and name, not by
    where they lay on the training machine), split, GSDs and seed."""
    from rams.synthetic.real_frames import frames

    return {"frames": {f: [p.stem for p in frames(spec.frames_dir, f, spec.split)] for f in spec.flights},
            "split": spec.split, "gsd_m": list(spec.gsd_m), "gsd_in_turn": spec.gsd_in_turn, "seed": spec.seed}


def _card(cfg: TrainConfig, model: Member | PatchEnsemble, source: Detector, summary: dict, threshold: float,
          epoch: int) -> dict[str, Any]:
    first = model.members[0] if isinstance(model, PatchEnsemble) else model
    postprocess = {"candidate_threshold": cfg.candidate_threshold, "threshold": threshold}
    if cfg.prefilter_threshold is not None and isinstance(model, PatchEnsemble):
        postprocess["prefilter_threshold"] = cfg.prefilter_threshold
    return {
        "name": cfg.name,
        "kind": "verifier",
        "classes": ["submunition"],
        "input_bands": list(RGB_BANDS),
        "input_dtype": "uint8",
        "normalisation": {"mean": first.mean.flatten().tolist(), "std": first.std.flatten().tolist(),
                          "inside_model": True},
        "gsd_range_m": list(cfg.gsd_range_m),
        "tile_px": cfg.patch_px,
        "overlap_px": 0,
        "arch": {**patch_arch(model), "patch_px": cfg.patch_px,
                 **({"patch_gsd_m": cfg.patch_gsd_m} if cfg.patch_gsd_m else {})},
        "postprocess": postprocess,
        "training": {"description": cfg.description, "seed": cfg.seed, "init_from": cfg.init_from,
                     **({"init_member": cfg.init_member} if cfg.init_member is not None else {}),
                     "device": device_name(),
                     "candidates_from": source.card["name"], "candidates_from_sha256": source.card["sha256"],
                     "train_synth_seeds": list(cfg.train.synth.seeds), "val_synth_seeds": list(cfg.val.synth.seeds),
                     **{f"{name}_real_ground": real_ground_record(fs.real_ground)
                        for name, fs in (("train", cfg.train), ("val", cfg.val)) if fs.real_ground.frames_dir},
                     **({"pretrained": LITE0_PROVENANCE} if cfg.arch.get("pretrained") else {}),
                     "mined_negatives_per_flight": cfg.mined_negatives_per_flight,
                     "balance_sizes": cfg.balance_sizes, "min_positive_px": cfg.min_positive_px,
                     **({"buried_weight": cfg.buried_weight} if cfg.buried_weight != 1.0 else {}),
                     "object_scenes": cfg.object_scenes, "object_first_seed": cfg.object_first_seed,
                     "object_catalogue": cfg.object_catalogue,
                     "object_negative_share": cfg.object_negative_share,
                     "hard_negative_share": cfg.hard_negative_share,
                     "hard_negative_pool": cfg.hard_negative_pool,
                     "ensemble_with": cfg.ensemble_with, "epoch": epoch},
        "metrics": {"validation": {"submunition": summary}},
    }


def _judge(cfg: TrainConfig, member: Member, device: torch.device) -> Member | PatchEnsemble:
    """What validation scores and the saved model holds: the trained network alone, or the frozen
    networks of ``cfg.ensemble_with`` with it."""
    if not cfg.ensemble_with:
        return member
    other, _, _ = load_model(cfg.ensemble_with, build_verifier)
    frozen = list(other.members) if isinstance(other, PatchEnsemble) else [other]
    for net in frozen:
        net.requires_grad_(False)
    return on_device(PatchEnsemble([*frozen, member], cfg.orientations), device)


def ensemble_member(model: Member | PatchEnsemble, cfg: TrainConfig) -> Member:
    """The network of ``cfg.init_from`` to train: member ``cfg.init_member`` of an ensemble."""
    members = list(model.members) if isinstance(model, PatchEnsemble) else [model]
    k = cfg.init_member
    if k is None or not 0 <= k < len(members):
        raise RamsError(cfg.init_from or "init_from",
                        f"init_member must pick one of its {len(members)} networks (0-{len(members) - 1})")
    return members[k]


def hard_negatives(model: Member, patches: torch.Tensor, negatives: torch.Tensor, pool_size: int,
                   gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """A random pool of ``pool_size`` indices from ``negatives`` and the model's probability on
    each (its sampling weights, floored so that every pool member can still be drawn)."""
    pool = negatives[torch.randperm(len(negatives), generator=gen, device=negatives.device)[:pool_size]]
    model.eval()
    with torch.inference_mode():
        prob = torch.cat([torch.sigmoid(model(patches[pool[k:k + 1024]]).float())
                          for k in range(0, len(pool), 1024)])
    return pool, prob.clamp_min(1e-3)


def train_verifier(cfg: TrainConfig, out: Path, resume: bool = False) -> Path:
    """Mine candidates with ``cfg.candidates_from`` and train the verifier into ``out``.

    With ``epochs: 0`` nothing is mined or trained: the network of ``cfg.init_from`` joins the
    frozen ones of ``cfg.ensemble_with`` as it is, and that ensemble is validated and saved.

    On CUDA when present: the candidate heatmaps, the mined patches, augmentation and the
    network all stay on the GPU (bf16 autocast), and flights rendered in memory arrive from a
    process pool while earlier ones are mined.
    """
    torch.set_num_threads(cfg.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    out.mkdir(parents=True, exist_ok=True)
    # the candidates' source only proposes: the verifier its card names may be the one trained here
    source = Detector.load(cfg.candidates_from, device=str(device), with_verifier=False)
    cache = Path(cfg.cache_dir)
    val = [val_flight(source, fl, cfg) for fl in iter_flights(cfg.val, cache)]
    torch.manual_seed(cfg.seed)
    model = initial_model(cfg, build_verifier, device)
    if isinstance(model, PatchEnsemble) or cfg.init_member is not None:
        model = ensemble_member(model, cfg)
    judge = _judge(cfg, model, device)
    if cfg.epochs == 0:  # no training: the networks of init_from and ensemble_with joined as they are
        summary, thr = validate(judge, val, cfg, device)
        save_model(out / "model", judge, _card(cfg, judge, source, summary, thr, 0))
        log.info("joined verifier saved to %s: val submunition P %.3f R %.3f F1 %.3f at %.3f", out / "model",
                 summary["precision"], summary["recall"], summary["f1"], thr)
        return out / "model"
    mined = mined_set(source, iter_flights(cfg.train, cache), cfg, out / "candidates.safetensors")
    objects = object_set(cfg, out / "objects.safetensors") if cfg.object_scenes else None
    parts = [mined] + ([objects] if objects else [])
    patches, labels, length, fraction = (torch.cat([p[key] for p in parts]).to(device) for key in SET_KEYS)
    rendered = torch.arange(len(labels), device=device) >= len(mined["labels"])
    pos = torch.nonzero((labels > 0.5) & ~(length < cfg.min_positive_px)).flatten()
    neg = torch.nonzero((labels < 0.5) & ~rendered).flatten()
    neg_rendered = torch.nonzero((labels < 0.5) & rendered).flatten()
    pos_weights = draw_weights(length[pos], fraction[pos], cfg.balance_sizes, cfg.buried_weight)
    log.info("%d positive and %d + %d (rendered) negative training patches; %d validation candidates on %s",
             len(pos), len(neg), len(neg_rendered), sum(len(v.candidates) for v in val), device)

    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = cfg.epochs * cfg.steps_per_epoch
    state = load_checkpoint(out, model, opt, resume, device)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / cfg.warmup_steps, 0.5 * (1 + math.cos(math.pi * min(s / total, 1.0)))),
        last_epoch=state["epoch"] * cfg.steps_per_epoch - 1)
    half = cfg.batch_size // 2
    n_hard = round((cfg.batch_size - half) * cfg.hard_negative_share)
    n_rendered = round((cfg.batch_size - half - n_hard) * cfg.object_negative_share) if len(neg_rendered) else 0
    every_neg = torch.cat([neg, neg_rendered])
    for epoch in range(state["epoch"], cfg.epochs):
        gen = torch.Generator(device=device).manual_seed(cfg.seed * 100_003 + epoch)
        if n_hard:
            pool, pool_weights = hard_negatives(model, patches, every_neg, cfg.hard_negative_pool, gen)
        model.train()
        t0, losses = time.perf_counter(), []
        for _ in range(cfg.steps_per_epoch):
            parts = [pos[torch.multinomial(pos_weights, half, replacement=True, generator=gen)],
                     neg[torch.randint(len(neg), (cfg.batch_size - half - n_rendered - n_hard,), generator=gen,
                                       device=device)],
                     neg_rendered[torch.randint(max(len(neg_rendered), 1), (n_rendered,), generator=gen,
                                                device=device)]]
            if n_hard:
                parts.append(pool[torch.multinomial(pool_weights, n_hard, replacement=True, generator=gen)])
            idx = torch.cat(parts)
            x, _ = augment_batch(patches[idx], torch.zeros(len(idx), 1, 1, 1, device=device), gen, cfg.augment)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                logits = model(x).float()
            loss = F.binary_cross_entropy_with_logits(logits, labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.detach())
        loss_mean = float(torch.stack(losses).mean())
        summary, thr = validate(judge, val, cfg, device)
        log.info("epoch %d: loss %.4f (%.3fs/step), val submunition P %.3f R %.3f F1 %.3f at %.3f", epoch + 1,
                 loss_mean, (time.perf_counter() - t0) / cfg.steps_per_epoch, summary["precision"],
                 summary["recall"], summary["f1"], thr)
        state["history"].append({"epoch": epoch + 1, "loss": loss_mean, "val": summary,
                                 "threshold": thr})
        if summary["f1"] > state["best_score"]:
            state.update(best_score=summary["f1"], best_epoch=epoch + 1)
            save_model(out / "model", judge, _card(cfg, judge, source, summary, thr, epoch + 1))
            log.info("new best verifier saved to %s", out / "model")
        save_checkpoint(out, model, opt, state, epoch + 1)
    return calibrate(out / "model", val, cfg, device)


def calibrate(model_dir: Path, val: list[ValFlight], cfg: TrainConfig, device: torch.device) -> Path:
    """Fit Platt scaling (:mod:`rams.detector.calibration`) of the saved verifier on the
    validation candidates and write it, with the threshold mapped onto the calibrated scale and
    the validation reliability table, into its card."""
    model, _, card = load_model(model_dir, build_verifier)
    model = on_device(model.eval(), device)
    if cfg.calibrate_on == "real_ground":
        val = [fl for fl in val if fl.real_ground]
        if not val:
            raise RamsError("calibrate_on", "real_ground, but no validation flight is a real-ground composite")
    raw, truth = calibration_set(model, val, cfg, device)
    platt = fit_platt(raw, truth)
    if platt.slope <= 0:  # a verifier that ranks true items below false ones: nothing to scale
        log.warning("Platt slope %.3f <= 0 on the validation candidates: confidence left uncalibrated", platt.slope)
        platt = Platt()
    rows, ece = reliability(platt(raw), truth)
    post = rescaled_postprocess(card, platt)
    card = dict(card, postprocess=post, calibration=platt.as_card(),
                metrics={**card["metrics"], "validation_calibration": {"candidates": int(len(raw)),
                                                                       "flights": cfg.calibrate_on,
                                                                       "expected_calibration_error": round(ece, 4),
                                                                       "reliability": rows}})
    save_model(model_dir, model, {k: v for k, v in card.items() if k not in ("sha256", "rams_version")})
    log.info("calibrated on %d validation candidates: slope %.3f, intercept %.3f, ECE %.4f; threshold %.3f -> %.3f",
             len(raw), platt.slope, platt.intercept, ece, post["raw_threshold"], post["threshold"])
    return model_dir
