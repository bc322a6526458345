"""Training loop: class-balanced chips, augmentation, per-epoch object-level validation,
best checkpoint as a model folder, resumable from the last epoch.

Output folder layout: ``last.safetensors`` (weights), ``last_optim.safetensors`` (optimiser
moments), ``state.json`` (epoch, history, optimiser hyper-parameters) and ``model/`` (best
epoch so far: weights + card, loadable with :meth:`Detector.load`). An epoch's randomness is
derived from (seed, epoch), so a resumed run continues exactly as an uninterrupted one.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from rams.detect import detect_image
from rams.detector.card import load_model, save_model, write_weights
from rams.detector.detector import Detector
from rams.detector.model import CLASSES, RamsNet, build_model, on_device
from rams.elevation import ELEVATION_BAND, ENCODING
from rams.evaluation.metrics import add_counts, score_detections, summarise
from rams.settings import DetectionSettings, SurveySettings, calibrated
from rams.training.augment import augment_batch
from rams.training.config import TrainConfig, load_flights
from rams.training.data import LabelledFlight, sample_batch

log = logging.getLogger("rams.train")
PEAK_THRESHOLDS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6)
#: A new card's post-processing where its config names none: the survey's thresholds
#: (:func:`rams.settings.calibrated` reads them).
DEFAULT_POSTPROCESS: dict[str, float] = {"peak_threshold": 0.3, "mask_threshold": 0.5, "min_position_area_m2": 2.0}


def detection_loss(logits: torch.Tensor, target: torch.Tensor, heatmap_weight: float = 1.0,
                   outputs: tuple[str, ...] = CLASSES) -> tuple[torch.Tensor, dict[str, float]]:
    """BCE + batch soft dice for the masks, penalty-reduced focal loss (CenterNet) for heatmaps.

    Only the maps named in ``outputs`` contribute. Heatmap positives are the pixels where the
    target is exactly 1 (object centres); the focal loss is normalised by their count.
    """
    parts: dict[str, torch.Tensor] = {}
    masks = [CLASSES.index(c) for c in ("trench", "position") if c in outputs]
    if masks:
        ml, mt = logits[:, masks], target[:, masks]
        parts["bce"] = F.binary_cross_entropy_with_logits(ml, mt)
        p = torch.sigmoid(ml)
        # dice over the whole batch per class: per-chip dice on the many chips without the class
        # would push every prediction towards zero
        inter = (p * mt).sum(dim=(0, 2, 3))
        parts["dice"] = (1 - (2 * inter + 1) / (p.sum(dim=(0, 2, 3)) + mt.sum(dim=(0, 2, 3)) + 1)
                         ).mean()
    if "submunition" in outputs:
        hl, ht = logits[:, 2], target[:, 2]
        ph = torch.sigmoid(hl)
        pos = ht >= 0.999
        pos_loss = -(F.logsigmoid(hl) * (1 - ph) ** 2)[pos].sum()
        neg_loss = -(F.logsigmoid(-hl) * ph**2 * (1 - ht) ** 4)[~pos].sum()
        parts["focal"] = heatmap_weight * (pos_loss + neg_loss) / max(int(pos.sum()), 1)
    total = sum(parts.values())
    return total, {k: v.item() for k, v in parts.items()}


def validate(model: RamsNet, flights: list[LabelledFlight], cfg: TrainConfig
             ) -> tuple[dict[str, dict[str, float]], float]:
    """Summed object-level metrics over validation flights at the best heatmap threshold.

    Each flight goes through the survey's own detection (:func:`rams.detect.detect_image`:
    the survey's tile grid, stitching, vectorizers and merge, default survey settings with the
    thresholds the checkpoint's card will carry) with the network as the survey loads it, and
    is scored as `rams evaluate` scores it. Returns (summary, best peak threshold); the
    threshold maximises submunition F1 on these validation flights (never on test flights). A
    model without the heatmap (a context model) gets the default peak threshold.
    """
    model.eval()
    thresholds = PEAK_THRESHOLDS if "submunition" in cfg.outputs else (DEFAULT_POSTPROCESS["peak_threshold"],)
    card = {"input_bands": list(cfg.input_bands), "outputs": list(cfg.outputs), "tile_px": cfg.tile_px,
            "overlap_px": cfg.overlap_px, "postprocess": {**DEFAULT_POSTPROCESS, **cfg.postprocess}}
    detector = Detector(copy.deepcopy(model), card, device=str(next(model.parameters()).device))
    low = calibrated(DetectionSettings(submunition_threshold=min(thresholds)), card)
    settings = SurveySettings(detection=low)
    per_thr: dict[float, dict[str, dict[str, float]]] = {}
    for fl in flights:
        det = detect_image(detector, fl.image, fl.transform, fl.crs, settings)
        area_ha = float(det["coverage"]["area_m2"].sum()) / 1e4
        for thr in thresholds:
            d = dict(det, submunitions=det["submunitions"][det["submunitions"].confidence >= thr])
            c = score_detections(d, fl.labels, area_ha, cfg.evaluation, fl.gsd_m)
            per_thr[thr] = add_counts(per_thr[thr], c) if thr in per_thr else c
    summaries = {thr: summarise(c) for thr, c in per_thr.items()}
    best = max(thresholds, key=lambda t: (summaries[t]["submunition"]["f1"], -abs(t - 0.3)))
    return {c: summaries[best][c] for c in cfg.outputs}, best


def _score(summary: dict[str, dict[str, float]]) -> float:
    return float(np.mean([s["f1"] for s in summary.values()]))


def _save_optimizer(out: Path, opt: torch.optim.Optimizer) -> list[dict[str, Any]]:
    sd = opt.state_dict()
    tensors = {f"{i}.{k}": v for i, st in sd["state"].items() for k, v in st.items()}
    write_weights(out / "last_optim.safetensors", tensors)
    return sd["param_groups"]


def _load_optimizer(out: Path, opt: torch.optim.Optimizer, groups: list[dict[str, Any]]) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    # loaded on the CPU: load_state_dict moves the moments to the parameters' device itself
    for key, v in load_file(str(out / "last_optim.safetensors")).items():
        i, k = key.split(".", 1)
        state.setdefault(int(i), {})[k] = v
    opt.load_state_dict({"state": state, "param_groups": groups})


def load_checkpoint(out: Path, model: torch.nn.Module, opt: torch.optim.Optimizer, resume: bool,
                    device: torch.device) -> dict[str, Any]:
    """The training state of ``out`` (weights and optimiser restored) when resuming from a
    finished epoch there, else a fresh state."""
    state_path = out / "state.json"
    if not (resume and state_path.is_file()):
        return {"epoch": 0, "best_score": -1.0, "best_epoch": -1, "history": []}
    state = json.loads(state_path.read_text())
    model.load_state_dict(load_file(str(out / "last.safetensors"), device=str(device)))
    _load_optimizer(out, opt, state["param_groups"])
    log.info("resumed after epoch %d (best %.4f at epoch %d)", state["epoch"], state["best_score"],
             state["best_epoch"])
    return state


def save_checkpoint(out: Path, model: torch.nn.Module, opt: torch.optim.Optimizer,
                    state: dict[str, Any], epoch: int) -> None:
    """Weights, optimiser and state after ``epoch`` (1-based) finished; state.json last, atomically."""
    write_weights(out / "last.safetensors", model.state_dict())
    state["param_groups"] = _save_optimizer(out, opt)
    state["epoch"] = epoch
    tmp = out / "state.tmp"
    tmp.write_text(json.dumps(state, indent=1))
    tmp.replace(out / "state.json")


class _ChipStream(torch.utils.data.IterableDataset):
    """One epoch of training batches. In a loader's worker ``k`` of ``n`` it cuts every ``n``-th
    batch from its own generator (seeded by seed, epoch and ``k``); outside a loader, all of them."""

    def __init__(self, flights: list[LabelledFlight], cfg: TrainConfig, epoch: int) -> None:
        self.flights, self.cfg, self.epoch = flights, cfg, epoch

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        k, n = (info.id, info.num_workers) if info else (0, 1)
        cfg = self.cfg
        # worker 0 (or no worker) draws what [seed, epoch] drew before workers existed: a
        # trailing zero does not change numpy's seed sequence
        rng = np.random.default_rng([cfg.seed, self.epoch, k])
        for _ in range(k, cfg.steps_per_epoch, n):
            yield sample_batch(self.flights, rng, cfg.batch_size, cfg.chip_px, cfg.sampling,
                               cfg.gsd_range_m, cfg.scale_jitter_p)


def chip_batches(flights: list[LabelledFlight], cfg: TrainConfig, epoch: int
                 ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The ``steps_per_epoch`` class-balanced batches (uint8 chips, float32 targets) of an epoch,
    reproducible from the seed; cut by ``cfg.loader_workers`` forked processes when set (the
    flights are shared with them, not copied), else here."""
    stream = _ChipStream(flights, cfg, epoch)
    if cfg.loader_workers <= 0:
        return iter(stream)
    # the loader hands the workers' batches over in turn, so the order is reproducible too
    return iter(torch.utils.data.DataLoader(stream, batch_size=None, num_workers=cfg.loader_workers,
                                            multiprocessing_context="fork", prefetch_factor=4))


def device_name() -> str:
    """What a model is trained on, for its card: the CUDA device's name, else ``cpu``."""
    return torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"


def initial_model(cfg: TrainConfig, build: Callable[[dict], torch.nn.Module], device: torch.device
                  ) -> torch.nn.Module:
    """The network to train, on ``device``: ``build(cfg.arch)``, or the verified model
    ``cfg.init_from`` when fine-tuning (its card's architecture wins)."""
    if not cfg.init_from:
        return on_device(build(cfg.arch), device)
    model, init_dir, init_card = load_model(cfg.init_from, build)
    log.info("starting from %s (sha256 %s)", init_dir, init_card["sha256"][:12])
    return on_device(model, device)


def make_card(cfg: TrainConfig, model: RamsNet, train_flights: list[LabelledFlight],
              val_summary: dict, peak_threshold: float, epoch: int) -> dict[str, Any]:
    """The model card of a checkpoint (sha256 and rams_version are filled in when saved)."""
    return {
        "name": cfg.name,
        "classes": list(CLASSES),
        "input_bands": list(cfg.input_bands),
        **({"elevation_encoding": ENCODING} if ELEVATION_BAND in cfg.input_bands else {}),
        "input_dtype": "uint8",
        "normalisation": {"mean": model.mean.flatten().tolist(),
                          "std": model.std.flatten().tolist(), "inside_model": True},
        "gsd_range_m": list(cfg.gsd_range_m),
        "tile_px": cfg.tile_px,
        "overlap_px": cfg.overlap_px,
        "arch": {"type": "RamsNet", "in_channels": model.in_channels,
                 "widths": list(model.widths), "mean": model.mean.flatten().tolist(),
                 "std": model.std.flatten().tolist()},
        "postprocess": {**DEFAULT_POSTPROCESS, **cfg.postprocess, "peak_threshold": peak_threshold},
        "outputs": list(cfg.outputs),
        **({"input_gsd_m": cfg.input_gsd_m} if cfg.input_gsd_m else {}),
        **({"context_model": cfg.context_model} if cfg.context_model else {}),
        **({"verifier_model": cfg.verifier_model} if cfg.verifier_model else {}),
        "training": {
            "description": cfg.description,
            "seed": cfg.seed,
            "init_from": cfg.init_from,
            "device": device_name(),
            "train_synth_seeds": list(cfg.train.synth.seeds),
            "val_synth_seeds": list(cfg.val.synth.seeds),
            "synth_gsd_m": list(cfg.train.synth.gsd_m),
            "train_flights": [Path(f.path).name for f in train_flights],
            "epoch": epoch,
            "config": json.loads(json.dumps(dataclasses.asdict(cfg), default=list)),
        },
        "metrics": {"validation": val_summary},
    }


def train(cfg: TrainConfig, out: Path, resume: bool = False) -> Path:
    """Train per ``cfg`` into ``out`` (on CUDA when present); returns the best model folder.

    Chips are cut on the CPU (by ``cfg.loader_workers`` processes when set) and augmented there;
    the network runs on the GPU when there is one.
    """
    torch.set_num_threads(cfg.threads)
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(cfg.cache_dir)
    elevation = ELEVATION_BAND in cfg.input_bands
    train_flights = load_flights(cfg.train, cache, cfg.input_gsd_m, elevation)
    val_flights = load_flights(cfg.val, cache, cfg.input_gsd_m, elevation)
    log.info("loaded %d training and %d validation flights", len(train_flights), len(val_flights))

    torch.manual_seed(cfg.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = initial_model(cfg, build_model, device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = cfg.epochs * cfg.steps_per_epoch

    def lr_factor(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        return 0.5 * (1 + math.cos(math.pi * min(step / max(total, 1), 1.0))) * 0.98 + 0.02

    state = load_checkpoint(out, model, opt, resume, device)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_factor,
                                              last_epoch=state["epoch"] * cfg.steps_per_epoch - 1)

    for epoch in range(state["epoch"], cfg.epochs):
        gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        model.train()
        t0, losses = time.perf_counter(), []
        for step, (img, tgt) in enumerate(chip_batches(train_flights, cfg, epoch)):
            x, y = augment_batch(img, tgt, gen, cfg.augment)
            loss, parts = detection_loss(model(x.to(device)), y.to(device), cfg.heatmap_weight,
                                         cfg.outputs)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            if (step + 1) % 25 == 0:
                log.info("epoch %d step %d/%d loss %.4f (%s) %.2fs/step", epoch + 1, step + 1,
                         cfg.steps_per_epoch, np.mean(losses[-25:]),
                         " ".join(f"{k} {v:.3f}" for k, v in parts.items()),
                         (time.perf_counter() - t0) / (step + 1))
        summary, thr = validate(model, val_flights, cfg) if val_flights else ({}, 0.3)
        score = _score(summary) if summary else -float(np.mean(losses))
        log.info("epoch %d: train loss %.4f, val score %.4f (thr %.2f) %s", epoch + 1,
                 np.mean(losses), score, thr,
                 " ".join(f"{c} P {s['precision']:.3f} R {s['recall']:.3f} F1 {s['f1']:.3f}"
                          for c, s in summary.items()))
        state["history"].append({"epoch": epoch + 1, "train_loss": float(np.mean(losses)),
                                 "val_score": score, "peak_threshold": thr, "val": summary})
        if score > state["best_score"] and cfg.keep == "best":
            state.update(best_score=score, best_epoch=epoch + 1)
            save_model(out / "model", model, make_card(cfg, model, train_flights, summary, thr,
                                                          epoch + 1))
            log.info("new best model saved to %s", out / "model")
        save_checkpoint(out, model, opt, state, epoch + 1)
    if cfg.keep == "last" and state["history"]:  # the final epoch's weights, also when resumed after it
        last = state["history"][-1]
        save_model(out / "model", model, make_card(cfg, model, train_flights, last["val"], last["peak_threshold"],
                                                      last["epoch"]))
        log.info("the last epoch's model saved to %s", out / "model")
    return out / "model"
