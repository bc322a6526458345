"""Fine-tuning a verifier on the decisions of people who reviewed its surveys.

A reviewer's decision on a submunition (rams.review) is a label on the very candidate the
verifier judged: ``confirmed`` a positive, ``rejected`` a hard negative (a candidate the verifier
put at or above its threshold), ``unsure`` no label. Trench and position decisions say nothing
about the verifier; they are counted, not used.

Fine-tuning must not forget what the base verifier learnt from thousands of synthetic flights
for the sake of a few hundred reviewed patches: a few epochs at a low learning rate, batches
half confirmed and half rejected, flips, quarter turns and the photometric augmentation
(rams.training.augment), and a :class:`~rams.detector.verifier.LitePatchNet`'s
ImageNet-pretrained ``features`` frozen (other networks are trained whole; an ensemble's members
each on their own loss, the augmentation's turns standing in for its orientations).

A seeded, stratified share of the decisions is held out, and the base and the fine-tuned
verifier are measured on it at the base's threshold (precision, recall and the ranking AUC,
the chance that a confirmed item outranks a rejected one). With enough of both classes held out
the Platt calibration (rams.detector.calibration) is refitted there, the threshold mapped onto
the new scale so that the same candidates pass it; otherwise the base's is kept.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
import torch
import torch.nn.functional as F

from rams.detector.calibration import Platt, fit_platt, rescaled_postprocess
from rams.detector.verifier import LitePatchNet, Member, PatchEnsemble, Verifier
from rams.review.decisions import DECISIONS, REVIEWED_LAYERS, Decision, latest
from rams.training.augment import AugmentConfig, augment_batch

#: The layer whose decisions train the verifier.
TRAINED_LAYER = "submunitions"
#: Fewest usable decisions (confirmed or rejected submunitions, over all surveys) to train on.
MIN_DECISIONS = 10
#: Fewest decisions of each class (confirmed, rejected) to train on: one each side of the split.
MIN_PER_CLASS = 2
#: Fewest held-out decisions of each class to refit the Platt calibration on.
MIN_CALIBRATION_PER_CLASS = 10


@dataclass(frozen=True)
class FineTune:
    """How a verifier is fine-tuned on reviewed patches. An epoch is as many balanced batches as
    the training decisions fill, and at least ``min_steps_per_epoch``: a few hundred decisions
    are seen many times over, each time flipped, turned and lit differently."""

    epochs: int = 10
    min_steps_per_epoch: int = 25
    batch_size: int = 32
    lr: float = 3e-4
    weight_decay: float = 5e-4
    held_out_share: float = 0.2  # of each class's decisions, for the before/after measurement
    seed: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass(frozen=True)
class ReviewedPoints:
    """A survey's reviewed submunitions as training labels, and every decision in force counted."""

    xy: np.ndarray  # (K, 2) map coordinates in the survey's CRS, metres
    confirmed: np.ndarray  # (K,) bool: confirmed (True) or rejected (False)
    counts: dict[str, dict[str, int]]  # layer -> decision -> decisions in force


def reviewed_points(submunitions: gpd.GeoDataFrame, decisions: Iterable[Decision]) -> ReviewedPoints:
    """The confirmed and rejected submunitions of ``submunitions`` (indexed by GeoPackage fid,
    points in metres) under the decisions in force (the latest per feature), and the decisions
    in force on each reviewed layer counted by kind. A decision on a fid the layer lacks is
    counted but gives no point."""
    in_force = latest(decisions)
    counts = {layer: dict.fromkeys(DECISIONS, 0) for layer in REVIEWED_LAYERS}
    for d in in_force.values():
        counts.setdefault(d.layer, dict.fromkeys(DECISIONS, 0))[d.decision] += 1
    picked = [(fid, d.decision == "confirmed") for (layer, fid), d in sorted(in_force.items())
              if layer == TRAINED_LAYER and d.decision in ("confirmed", "rejected") and fid in submunitions.index]
    fids = [fid for fid, _ in picked]
    xy = shapely.get_coordinates(submunitions.geometry.loc[fids].to_numpy()) if fids else np.zeros((0, 2))
    return ReviewedPoints(xy.reshape(-1, 2), np.array([c for _, c in picked], bool), counts)


def held_out(confirmed: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Which decisions (K,) bool to hold out: ``share`` of each class (rounded, at least one of a
    class of two or more, never all of it), drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    out = np.zeros(len(confirmed), bool)
    for cls in (True, False):
        idx = np.flatnonzero(confirmed == cls)
        if len(idx) >= 2:
            out[rng.choice(idx, min(len(idx) - 1, max(1, round(share * len(idx)))), replace=False)] = True
    return out


def ranking_auc(confidence: np.ndarray, confirmed: np.ndarray) -> float | None:
    """The chance that a confirmed decision's confidence is above a rejected one's (ties count
    half); None without both classes."""
    pos, neg = confidence[confirmed], confidence[~confirmed]
    if len(pos) == 0 or len(neg) == 0:
        return None
    above = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(above / (len(pos) * len(neg)))


def effect(confidence: np.ndarray, confirmed: np.ndarray, threshold: float) -> dict[str, Any]:
    """What a verifier's ``confidence`` (K,) gets right about decisions ``confirmed`` (K,) bool
    when it keeps candidates at or above ``threshold``: counts, precision and recall (None where
    undefined) and the ranking AUC."""
    kept = confidence >= threshold
    tp, fp = int((kept & confirmed).sum()), int((kept & ~confirmed).sum())
    fn, tn = int((~kept & confirmed).sum()), int((~kept & ~confirmed).sum())
    auc = ranking_auc(confidence, confirmed)
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "recall": round(tp / (tp + fn), 4) if tp + fn else None,
            "auc": round(auc, 4) if auc is not None else None}


def members(model: Member | PatchEnsemble) -> list[Member]:
    """The networks of a verifier: an ensemble's members, or the network itself."""
    return list(model.members) if isinstance(model, PatchEnsemble) else [model]


def steps_per_epoch(decisions: int, settings: FineTune) -> int:
    """Batches in an epoch over ``decisions`` training decisions."""
    return max(settings.min_steps_per_epoch, math.ceil(decisions / settings.batch_size))


def fine_tune(model: Member | PatchEnsemble, patches: np.ndarray, confirmed: np.ndarray, settings: FineTune,
              device: torch.device) -> list[float]:
    """Fine-tune ``model`` in place on uint8 ``patches`` (K, 3, P, P) labelled ``confirmed``
    (K,) bool (both classes present), on ``device``; returns each epoch's mean loss. A
    LitePatchNet's ``features`` stay frozen, batch normalisation included."""
    nets = members(model)
    for net in nets:
        if isinstance(net, LitePatchNet):
            net.features.requires_grad_(False)
    model.to(device)
    x_all = torch.from_numpy(np.ascontiguousarray(patches)).to(device)
    y_all = torch.from_numpy(confirmed.astype(np.float32)).to(device)
    pos, neg = torch.nonzero(y_all > 0.5).flatten(), torch.nonzero(y_all < 0.5).flatten()
    half = settings.batch_size // 2
    steps = steps_per_epoch(len(y_all), settings)
    total = settings.epochs * steps
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=settings.lr,
                            weight_decay=settings.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    gen = torch.Generator(device=device).manual_seed(settings.seed)
    losses = []
    for _ in range(settings.epochs):
        model.train()
        for net in nets:
            if isinstance(net, LitePatchNet):
                net.features.eval()
        epoch = []
        for _ in range(steps):
            idx = torch.cat([pos[torch.randint(len(pos), (half,), generator=gen, device=device)],
                             neg[torch.randint(len(neg), (settings.batch_size - half,), generator=gen, device=device)]])
            x, _ = augment_batch(x_all[idx], torch.zeros(len(idx), 1, 1, 1, device=device), gen, settings.augment)
            loss = torch.stack([F.binary_cross_entropy_with_logits(net(x).float(), y_all[idx]) for net in nets]).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            epoch.append(float(loss.detach()))
        losses.append(float(np.mean(epoch)))
    return losses


def recalibrated(raw: np.ndarray, confirmed: np.ndarray, base: dict[str, Any]
                 ) -> tuple[Platt, dict[str, float], dict[str, Any]]:
    """The calibration, post-processing and calibration record of a verifier whose raw
    probabilities on the held-out decisions are ``raw``: refitted there with enough of both
    classes (the threshold mapped so that the same candidates pass it), else the base card's."""
    n_pos, n_neg = int(confirmed.sum()), int((~confirmed).sum())
    kept = Platt.from_card(base.get("calibration"))
    if min(n_pos, n_neg) < MIN_CALIBRATION_PER_CLASS:
        return kept, dict(base["postprocess"]), {
            "refit": False, "kept": "base", **kept.as_card(),
            "reason": f"held out {n_pos} confirmed and {n_neg} rejected; "
                      f"{MIN_CALIBRATION_PER_CLASS} of each are needed to refit"}
    platt = fit_platt(raw, confirmed)
    if platt.slope <= 0:
        return kept, dict(base["postprocess"]), {
            "refit": False, "kept": "base", **kept.as_card(),
            "reason": f"the fitted slope {platt.slope:.3f} is not positive: the held-out ranking is reversed"}
    post = rescaled_postprocess(base, platt)
    return platt, post, {"refit": True, "on": f"{n_pos} confirmed and {n_neg} rejected held-out decisions",
                         **platt.as_card()}


def reviewed_verifier(model: Member | PatchEnsemble, base: dict[str, Any], patches: np.ndarray, confirmed: np.ndarray,
                      name: str, record: dict[str, Any], settings: FineTune = FineTune(),
                      device: torch.device | None = None) -> tuple[Member | PatchEnsemble, dict[str, Any]]:
    """The base verifier ``model`` (unfused, as :func:`rams.detector.card.load_model` builds
    it; changed in place) with card ``base``, fine-tuned on the reviewed ``patches`` (K, 3, P,
    P) uint8 labelled ``confirmed`` (K,) bool, and its card ``name`` (to be saved with
    :func:`rams.detector.card.save_model`). The card's ``training`` holds ``record`` (what the
    patches came from), the base verifier, the schedule and the effect measured on the held-out
    decisions at the base's threshold, before and after."""
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    hold = held_out(confirmed, settings.held_out_share, settings.seed)
    threshold = float(base["postprocess"]["threshold"])
    before = Verifier(model, base, str(device)).score(patches[hold])
    frozen = [k for k, net in enumerate(members(model)) if isinstance(net, LitePatchNet)]
    torch.manual_seed(settings.seed)
    t0 = time.perf_counter()
    losses = fine_tune(model, patches[~hold], confirmed[~hold], settings, device)
    seconds = time.perf_counter() - t0
    after = Verifier(model, base, str(device)).score(patches[hold])
    raw = Verifier(model, {**base, "calibration": None}, str(device)).score(patches[hold])
    platt, post, calibration = recalibrated(raw, confirmed[hold], base)
    truth = confirmed[hold]
    held = {"decisions": int(hold.sum()), "confirmed": int(truth.sum()), "rejected": int((~truth).sum()),
            "threshold": threshold, "before": effect(before, truth, threshold),
            "after": effect(after, truth, threshold)}
    card = {k: v for k, v in base.items() if k not in ("sha256", "rams_version", "schema_version")}
    card.update(name=name, postprocess=post, calibration=platt.as_card(), metrics={}, training={
        "from_reviews": {
            **record,
            "base_verifier": {"name": base["name"], "sha256": base["sha256"]},
            "decisions_trained": {"confirmed": int(confirmed[~hold].sum()), "rejected": int((~confirmed[~hold]).sum())},
            "held_out_share": settings.held_out_share, "seed": settings.seed,
            "epochs": settings.epochs, "steps_per_epoch": steps_per_epoch(int((~hold).sum()), settings),
            "batch_size": settings.batch_size, "lr": settings.lr,
            "weight_decay": settings.weight_decay,
            "frozen": [f"members[{k}].features" if isinstance(model, PatchEnsemble) else "features" for k in frozen],
            "loss_by_epoch": [round(v, 4) for v in losses],
            "device": device.type, "seconds": round(seconds, 1),
            "held_out": held, "calibration": calibration}})
    card["limitations"] = [*base.get("limitations", ()),
                           f"fine-tuned on {int((~hold).sum())} reviewed detections; its effect was measured on "
                           f"{int(hold.sum())} held-out decisions of the same surveys only"]
    return model, card
