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

Nor may it judge what nobody reviewed. People review what the base verifier let through, so the
base stays, unchanged, as the gate of the fine-tuned verifier
(:class:`~rams.detector.verifier.GatedVerifier`): a candidate the base (through its own cascade)
puts below its threshold, or below the lowest confidence a reviewed detection was shown with
when people reviewed a survey made with a lower threshold, gets 0; the fine-tuned copy judges
the others. From a survey reviewed at the base's threshold the fine-tuned verifier can so only
drop detections, those like what people rejected; without the gate a threshold set on reviewed
candidates let thousands of a flight's other candidates through.

Where the fine-tuned verifier draws its line is measured, not assumed. Fine-tuning on reviewed
patches moves the verifier's whole scale (on held-out real ground the fine-tuned verifier ranked
the second flight's items far better than its base, and its base's threshold then kept one in
twelve of them), so the decisions are split into seeded folds, a verifier is fine-tuned on all
folds but one and scores the one left out, and every decision gets a score from a verifier that
never saw it. A fold takes whole blocks of ground about a strike's size: the items of one strike
(one munition type on one ground) look alike, and a verifier fine-tuned on some of them scores
the rest higher than it will score another flight's items, which would put the threshold too
high (when all confirmed items lie in one block, the decisions are dealt one by one, and the
card says so). The threshold is put where those scores keep as many of the confirmed items as
the base kept at its own threshold: recall on what people confirmed is held, and the rejected
items fall away as far as the reviews taught the verifier to tell them apart. With enough of
both classes the Platt calibration (rams.detector.calibration) is refitted on the same
out-of-fold scores; otherwise the base's is kept. The verifier written is fine-tuned on every
decision; the base's and the cross-validated effect (precision, recall and the ranking AUC, at
each one's threshold) go in its card.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
import torch
import torch.nn.functional as F

from rams.detector.calibration import Platt, fit_platt, raw_threshold
from rams.detector.verifier import (
    GatedVerifier,
    LitePatchNet,
    Member,
    PatchEnsemble,
    Verifier,
    cascade_probabilities,
    patch_arch,
    patch_probabilities,
)
from rams.review.decisions import DECISIONS, REVIEWED_LAYERS, Decision, latest
from rams.training.augment import AugmentConfig, augment_batch

#: The layer whose decisions train the verifier.
TRAINED_LAYER = "submunitions"
#: Fewest usable decisions (confirmed or rejected submunitions, over all surveys) to train on.
MIN_DECISIONS = 10
#: Fewest decisions of each class (confirmed, rejected) to train on: one each side of the split.
MIN_PER_CLASS = 2
#: Fewest decisions of each class to refit the Platt calibration on (their out-of-fold scores).
MIN_CALIBRATION_PER_CLASS = 10
#: Side (m) of the blocks of ground whose decisions share a cross-validation fold: about a
#: strike's footprint, so that no verifier judges an item of a strike (one munition type on one
#: ground) whose neighbours it was fine-tuned on; a second flight's items are other strikes.
BLOCK_M = 100.0


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
    folds: int = 5  # cross-validation folds (fewer when a class has fewer decisions)
    seed: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)


@dataclass(frozen=True)
class ReviewedPoints:
    """A survey's reviewed submunitions as training labels, and every decision in force counted."""

    xy: np.ndarray  # (K, 2) map coordinates in the survey's CRS, metres
    confirmed: np.ndarray  # (K,) bool: confirmed (True) or rejected (False)
    counts: dict[str, dict[str, int]]  # layer -> decision -> decisions in force
    shown: np.ndarray  # (K,) the confidence each was shown with (NaN where the layer has none)


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
    shown = (submunitions["confidence"].loc[fids].to_numpy(np.float64) if "confidence" in submunitions
             else np.full(len(fids), np.nan))
    return ReviewedPoints(xy.reshape(-1, 2), np.array([c for _, c in picked], bool), counts, shown)


def blocks_of(xy: np.ndarray, block_m: float = BLOCK_M) -> np.ndarray:
    """The block (K,) int of each map point of ``xy`` (K, 2) (metres): squares of ``block_m``
    on the CRS's grid, numbered from 0."""
    if len(xy) == 0:
        return np.zeros(0, int)
    _, block = np.unique(np.floor(np.asarray(xy) / block_m).astype(np.int64), axis=0, return_inverse=True)
    return block.reshape(-1)


def folds_of(confirmed: np.ndarray, groups: np.ndarray, folds: int, seed: int) -> tuple[np.ndarray, bool]:
    """The fold (K,) int of each decision of ``confirmed`` (K,) bool, and whether whole
    ``groups`` (K,) int (blocks of ground) went into folds: the groups holding confirmed
    decisions shuffled with ``seed`` and dealt round the folds, then the others, as many folds
    as ``folds`` or as groups hold confirmed (or rejected) decisions when fewer. When that
    leaves a fold whose complement lacks a class to train on, each decision is its own group:
    each class shuffled and dealt round the folds."""
    for grouped, by in ((True, groups), (False, np.arange(len(confirmed)))):
        k = min(folds, len(np.unique(by[confirmed])), len(np.unique(by[~confirmed])))
        if k < 2:
            continue
        rng = np.random.default_rng(seed)
        with_confirmed = np.unique(by[confirmed])
        others = np.setdiff1d(np.unique(by), with_confirmed)
        order = np.concatenate([rng.permutation(with_confirmed), rng.permutation(others)])
        fold_of_group = dict(zip(order.tolist(), (np.arange(len(order)) % k).tolist(), strict=True))
        fold = np.array([fold_of_group[g] for g in by.tolist()], int)
        if all(set(confirmed[fold != f].tolist()) == {True, False} for f in range(k)):
            return fold, grouped
    raise ValueError("cross-validation needs at least two decisions of each class")


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


def gate_of(shown: np.ndarray, base: dict[str, Any]) -> float:
    """The gate of a verifier fine-tuned from the base verifier with card ``base``, on the raw
    probability of the base's cascade: the base's threshold, or lower where people were shown
    lower: the lowest of ``shown`` (K,), the confidences the reviewed detections were shown
    with (NaN: not known), taken back through the base's calibration."""
    gate = raw_threshold(base)
    if np.isfinite(shown).any():
        lowest = Platt.from_card(base.get("calibration")).inverse(np.array([np.nanmin(shown)]))[0]
        gate = min(gate, float(lowest) * (1 - 1e-6))
    return gate


def out_of_fold(model: Member | PatchEnsemble, patches: np.ndarray, confirmed: np.ndarray, fold: np.ndarray,
                settings: FineTune, device: torch.device) -> np.ndarray:
    """Raw probabilities (K,) of the whole ``model`` (left unchanged) for each decision's
    patch, each by a copy fine-tuned on the decisions of the other folds."""
    whole = np.zeros(len(confirmed), np.float32)
    for k in range(int(fold.max()) + 1):
        test = fold == k
        net = copy.deepcopy(model)
        torch.manual_seed(settings.seed + 1 + k)
        fine_tune(net, patches[~test], confirmed[~test], replace(settings, seed=settings.seed + 1 + k), device)
        whole[test] = patch_probabilities(net.eval(), patches[test], device)
    return whole


def operating_point(raw: np.ndarray, confirmed: np.ndarray, keep: int, fallback: float) -> float:
    """The highest raw threshold at which the probabilities ``raw`` (K,) (0: screened out by
    the gate) keep ``keep`` (at least one, at most all that passed the gate) of the
    ``confirmed`` (K,) decisions; ``fallback`` when the gate let none of them through."""
    ranked = np.sort(raw[confirmed & (raw > 0)])[::-1]
    if len(ranked) == 0:
        return fallback
    return float(ranked[min(max(keep, 1), len(ranked)) - 1]) * (1 - 1e-6)  # float32 scores sit on it


def calibration_on(raw: np.ndarray, confirmed: np.ndarray, base: dict[str, Any]) -> tuple[Platt, dict[str, Any]]:
    """The Platt calibration refitted on the out-of-fold raw probabilities ``raw`` (K,) of the
    decisions ``confirmed`` (K,) bool with enough of both classes and a ranking the right way
    round, else the base card's; and its record."""
    n_pos, n_neg = int(confirmed.sum()), int((~confirmed).sum())
    kept = Platt.from_card(base.get("calibration"))
    if min(n_pos, n_neg) < MIN_CALIBRATION_PER_CLASS:
        return kept, {"refit": False, "kept": "base", **kept.as_card(),
                      "reason": f"{n_pos} confirmed and {n_neg} rejected decisions through the gate; "
                                f"{MIN_CALIBRATION_PER_CLASS} of each are needed to refit"}
    platt = fit_platt(raw, confirmed)
    if platt.slope <= 0:
        return kept, {"refit": False, "kept": "base", **kept.as_card(),
                      "reason": f"the fitted slope {platt.slope:.3f} is not positive: the ranking is reversed"}
    return platt, {"refit": True, "on": f"the out-of-fold scores of {n_pos} confirmed and {n_neg} rejected "
                                        "decisions through the gate",
                   **platt.as_card()}


def reviewed_verifier(model: Member | PatchEnsemble | GatedVerifier, base: dict[str, Any], patches: np.ndarray,
                      confirmed: np.ndarray, name: str, record: dict[str, Any], settings: FineTune = FineTune(),
                      device: torch.device | None = None, groups: np.ndarray | None = None,
                      shown: np.ndarray | None = None) -> tuple[GatedVerifier, dict[str, Any]]:
    """The base verifier ``model`` (unfused, as :func:`rams.detector.card.load_model` builds
    it) with card ``base``, fine-tuned on the reviewed ``patches`` (K, 3, P,
    P) uint8 labelled ``confirmed`` (K,) bool (at least two of each class): a
    :class:`~rams.detector.verifier.GatedVerifier` whose gate is ``model`` itself and whose judge
    its fine-tuned copy (a ``model`` fine-tuned on reviews before keeps its gate and gate
    threshold, and its judge's copy is fine-tuned), and its card ``name`` (to be saved with
    :func:`rams.detector.card.save_model`). Its gate (:func:`gate_of`), threshold and
    calibration come from the decisions' out-of-fold scores (see the module's docstring),
    the folds made of whole ``groups`` (K,) int of decisions (blocks of ground, see
    :func:`blocks_of`; each decision its own when None), the gate from the confidences
    ``shown`` (K,) the reviewed detections were shown with (the base's threshold when None).
    The card's ``training`` holds ``record`` (what the patches came from), the base verifier,
    the schedule and the cross-validated effect, the base's and the new verifier's, each at its
    own threshold."""
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    fold, grouped = folds_of(confirmed, np.arange(len(confirmed)) if groups is None else groups, settings.folds,
                             settings.seed)
    post = dict(base["postprocess"])
    before = Verifier(model, base, str(device)).score(patches)
    base_threshold = float(post["threshold"])
    keep = int((before[confirmed] >= base_threshold).sum())
    if isinstance(model, GatedVerifier):  # fine-tuned again: its gate stays, its judge learns more
        gate_net, judge = model.gate, copy.deepcopy(model.judge)
        cascade = {k: post[k] for k in ("gate_prefilter_threshold", "gate_first_sure_threshold") if k in post}
        gate = float(post["gate_threshold"])
    else:
        gate_net, judge = model, copy.deepcopy(model)  # the base stays as it is: the gate
        cascade = {f"gate_{k}": post.pop(k) for k in ("prefilter_threshold", "first_sure_threshold") if k in post}
        gate = gate_of(np.full(len(confirmed), np.nan) if shown is None else shown, base)
    gate_raw = cascade_probabilities(gate_net.eval(), patches, device, cascade.get("gate_prefilter_threshold"),
                                     cascade.get("gate_first_sure_threshold"))
    frozen = [k for k, net in enumerate(members(judge)) if isinstance(net, LitePatchNet)]
    t0 = time.perf_counter()
    raw = np.where(gate_raw >= gate, out_of_fold(judge, patches, confirmed, fold, settings, device), 0.0)
    raw_t = operating_point(raw, confirmed, keep, fallback=raw_threshold(base))
    through = raw > 0
    platt, calibration = calibration_on(raw[through], confirmed[through], base)
    threshold = float(platt(np.array([raw_t]))[0])
    post.update(threshold=threshold, raw_threshold=raw_t, gate_threshold=gate, **cascade)
    torch.manual_seed(settings.seed)
    losses = fine_tune(judge, patches, confirmed, settings, device)
    seconds = time.perf_counter() - t0
    verifier = GatedVerifier(gate_net, judge)
    crossed = {"folds": int(fold.max()) + 1, "grouped": grouped and groups is not None,
               "decisions": len(confirmed), "confirmed": int(confirmed.sum()),
               "rejected": int((~confirmed).sum()), "confirmed_kept_by_the_base": keep,
               "before": {"threshold": base_threshold, **effect(before, confirmed, base_threshold)},
               "after": {"threshold": threshold, **effect(platt(raw), confirmed, threshold)}}
    card = {k: v for k, v in base.items() if k not in ("sha256", "rams_version", "schema_version")}
    card["arch"] = {**patch_arch(verifier), **{k: base["arch"][k] for k in ("patch_px", "patch_gsd_m")
                                              if k in base["arch"]}}
    card.update(name=name, postprocess=post, calibration=platt.as_card(), metrics={}, training={
        "from_reviews": {
            **record,
            "base_verifier": {"name": base["name"], "sha256": base["sha256"]},
            "decisions_trained": {"confirmed": int(confirmed.sum()), "rejected": int((~confirmed).sum())},
            "folds": int(fold.max()) + 1, "seed": settings.seed,
            "epochs": settings.epochs, "steps_per_epoch": steps_per_epoch(len(confirmed), settings),
            "batch_size": settings.batch_size, "lr": settings.lr,
            "weight_decay": settings.weight_decay,
            "frozen": ["gate", *(f"judge.members[{k}].features" if isinstance(judge, PatchEnsemble)
                                 else "judge.features" for k in frozen)],
            "loss_by_epoch": [round(v, 4) for v in losses],
            "device": device.type, "seconds": round(seconds, 1),
            "cross_validated": crossed, "calibration": calibration}})
    card["limitations"] = [*base.get("limitations", ()),
                           f"fine-tuned on {len(confirmed)} reviewed detections; its threshold and its effect were "
                           f"measured by {crossed['folds']}-fold cross-validation on those decisions, of the same "
                           "surveys only"]
    return verifier, card
