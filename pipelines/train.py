"""Train a detector, its context model or its verifier (`rams train --config RECIPE.yaml`), or
fine-tune a detector's verifier on reviewed surveys (`rams train --from-reviews SURVEY.gpkg ...`).

A fine-tuned model is a folder `rams survey --model DIR` takes: the base detector's card and
weights (the weights copied unchanged, the card renamed after DIR and naming its new verifier),
the fine-tuned verifier in ``DIR/verifier/``, and the base's context model (by name when it is
a shipped one, else copied into ``DIR/context/``). Both cards record the surveys, the decisions
and the cross-validated effect (rams.training.from_reviews).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from rams.detector.card import (
    CARD_FILE,
    WEIGHTS_FILE,
    checked_card,
    load_model,
    read_card,
    resolve_model_dir,
    save_model,
)
from rams.detector.detector import companion_dir
from rams.detector.verifier import GatedVerifier, build_verifier
from rams.errors import RamsError
from rams.flight import open_flight
from rams.outputs import write_text
from rams.pipelines.hazards import read_survey
from rams.pipelines.review import find_flight
from rams.pipelines.survey import DEFAULT_MODEL, NETWORK_KEYS, processing_flight
from rams.resources import models_dir
from rams.review import store
from rams.review.decisions import DECISIONS, REVIEWED_LAYERS
from rams.training.config import load_config
from rams.training.from_reviews import (
    MIN_DECISIONS,
    MIN_PER_CLASS,
    FineTune,
    ReviewedPoints,
    blocks_of,
    reviewed_points,
    reviewed_verifier,
)

log = logging.getLogger("rams.train")

#: The folders, inside a fine-tuned model's folder, of its verifier and (when not shipped) its
#: context model.
VERIFIER_DIR = "verifier"
CONTEXT_DIR = "context"


def train_model(
    config: str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
) -> Path:
    """Train per the training YAML ``config`` into the folder ``out`` (default
    ``runs/train-<name>``); returns the best model's folder.

    ``resume`` continues from the last finished epoch in ``out``. Without it, a folder ``out``
    that holds anything is refused with a `RamsError` unless ``overwrite`` (a new run then
    replaces its files as it goes).
    """
    cfg = load_config(config)
    folder = Path(out) if out is not None else Path("runs") / f"train-{cfg.name}"
    if not (resume or overwrite):
        _refuse_occupied(folder, "use --overwrite to replace it, or --resume to continue it")
    if cfg.kind == "verifier":
        from rams.training.verifier_trainer import train_verifier as trainer
    else:
        from rams.training.detector_trainer import train as trainer
    return trainer(cfg, folder, resume=resume)


def _refuse_occupied(folder: Path, hint: str) -> None:
    """Refuse an output folder that holds anything (or is a file)."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise RamsError(folder, f"exists ({hint})")


@dataclass(frozen=True)
class ReviewedSurvey:
    """A reviewed survey GeoPackage, the flight it came from and its reviewed submunitions
    (points in the flight's CRS)."""

    path: Path
    flight: Path
    metadata: dict[str, str]
    points: ReviewedPoints


def read_reviewed(survey: str | os.PathLike) -> ReviewedSurvey:
    """The reviews of ``survey`` and its flight (the one its metadata names, looked for as
    `rams review` does); `RamsError` for a survey without reviews, whose flight is not there,
    or whose reviewed submunitions lie outside that flight."""
    src = Path(survey)
    frames, metadata = read_survey(src)
    decisions = store.read(src)
    if not decisions:
        raise RamsError(src, "has no reviews: review it first (rams review SURVEY.gpkg)")
    found = find_flight(src, metadata, None)
    if found is None:
        raise RamsError(src, f"its flight {metadata.get('flight_path') or '(not recorded)'} is not there "
                             "(looked for from the working folder and beside the survey)")
    flight = open_flight(found)
    points = frames["submunitions"]
    if points.crs is not None and not points.empty and points.crs != flight.crs:
        points = points.to_crs(flight.crs)
    reviewed = reviewed_points(points, decisions)
    left, bottom, right, top = flight.bounds
    x, y = reviewed.xy[:, 0], reviewed.xy[:, 1]
    outside = int(((x < left) | (x > right) | (y < bottom) | (y > top)).sum())
    if outside:
        raise RamsError(src, f"{outside} reviewed submunitions lie outside its flight {found}: "
                             "not the flight it was surveyed from")
    return ReviewedSurvey(src, Path(found), metadata, reviewed)


def reviewed_patches(surveys: list[ReviewedSurvey], patch_px: int, patch_gsd_m: float | None,
                     gsd_range_m: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """uint8 patches (K, 3, P, P) of ``patch_px`` px at ``patch_gsd_m`` m per px (None: the
    grid's GSD) around the reviewed submunitions, cut from each survey's flight as a survey
    with a detector trained on ``gsd_range_m`` cuts them (:meth:`rams.flight.Flight.verifier_patches`),
    and whether each was confirmed (K,) bool."""
    patches, confirmed = [], []
    for s in surveys:
        flight = processing_flight(open_flight(s.flight), gsd_range_m)
        patches.append(flight.verifier_patches(s.points.xy, patch_px, patch_gsd_m))
        confirmed.append(s.points.confirmed)
    return np.concatenate(patches), np.concatenate(confirmed)


def base_model(surveys: list[ReviewedSurvey], base: str | os.PathLike | None) -> Path:
    """The folder of the detector to fine-tune the verifier of: ``base``, else the model the
    surveys' metadata names (they must agree), else the shipped default."""
    if base is not None:
        return resolve_model_dir(base)
    recorded = sorted({s.metadata.get("model", "") for s in surveys} - {""})
    if len(recorded) > 1:
        raise RamsError(_names(surveys), f"made with different models ({', '.join(recorded)}): give --base MODEL")
    name = recorded[0] if recorded else DEFAULT_MODEL
    try:
        return resolve_model_dir(name)
    except RamsError:
        raise RamsError(surveys[0].path, f"its model {name} is no model rams finds by name: "
                                         "give --base with the model's folder") from None


def train_from_reviews(
    surveys: list[str | os.PathLike],
    out: str | os.PathLike,
    *,
    base: str | os.PathLike | None = None,
    overwrite: bool = False,
    settings: FineTune | None = None,
) -> Path:
    """Fine-tune the verifier of the detector ``base`` (see :func:`base_model`) on the reviewed
    submunitions of ``surveys`` (confirmed: positives, rejected: negatives; patches at the
    verifier's own size and ground resolution, cut from each survey's flight) and write the
    model folder ``out`` (see the module's docstring); returns ``out``.

    Refused with a `RamsError`, nothing written: a survey without reviews or whose flight is not
    found; fewer than ``MIN_DECISIONS`` usable decisions, or fewer than ``MIN_PER_CLASS`` of a
    class, over all surveys; a base without a verifier; an ``out`` that holds anything, unless
    ``overwrite``.
    """
    out = Path(out)
    reviewed = [read_reviewed(s) for s in surveys]
    confirmed = np.concatenate([s.points.confirmed for s in reviewed])
    n_pos, n_neg = int(confirmed.sum()), int((~confirmed).sum())
    if n_pos + n_neg < MIN_DECISIONS:
        raise RamsError(_names(reviewed), f"{n_pos + n_neg} usable decisions (confirmed or rejected submunitions); "
                                          f"at least {MIN_DECISIONS} are needed")
    if min(n_pos, n_neg) < MIN_PER_CLASS:
        raise RamsError(_names(reviewed), f"{n_pos} confirmed and {n_neg} rejected submunitions; "
                                          f"at least {MIN_PER_CLASS} of each are needed")
    base_dir = base_model(reviewed, base)
    base_card = read_card(base_dir)
    if not base_card.get("verifier_model"):
        raise RamsError(base_dir / CARD_FILE, "names no verifier_model: there is no verifier to fine-tune")
    if not overwrite:
        _refuse_occupied(out, "use --overwrite to replace it")
    model, verifier_dir, verifier_card = load_model(companion_dir(base_dir, base_card["verifier_model"]),
                                                    build_verifier)
    if "threshold" not in verifier_card.get("postprocess", {}):
        raise RamsError(verifier_dir / CARD_FILE, "has no postprocess threshold to measure the fine-tuning at")
    for s in reviewed:
        made_with = s.metadata.get("verifier_model_sha256")
        if made_with and made_with != verifier_card["sha256"]:
            log.warning("%s was surveyed with another verifier (%s) than %s's: its decisions still train it",
                        s.path, s.metadata.get("verifier_model", made_with[:12]), base_card["name"])
    arch = verifier_card["arch"]
    patches, confirmed = reviewed_patches(reviewed, int(arch["patch_px"]), arch.get("patch_gsd_m"),
                                          tuple(base_card["gsd_range_m"]))
    totals = {layer: {kind: sum(s.points.counts.get(layer, {}).get(kind, 0) for s in reviewed) for kind in DECISIONS}
              for layer in REVIEWED_LAYERS}
    record = {"surveys": [{"file": s.path.name, "flight_id": s.metadata.get("flight_id", ""), "flight": s.flight.name,
                           **{k: s.metadata[k] for k in NETWORK_KEYS if s.metadata.get(k)},
                           "decisions": s.points.counts} for s in reviewed],
              "decisions": totals, "decisions_used": {"confirmed": n_pos, "rejected": n_neg},
              "base_detector": {"name": base_card["name"], "sha256": base_card["sha256"]}}
    log.info("fine-tuning %s on %d confirmed and %d rejected submunitions of %d surveys", verifier_card["name"],
             n_pos, n_neg, len(reviewed))
    blocks = [blocks_of(s.points.xy) for s in reviewed]  # never one block across two surveys
    offsets = np.cumsum([0] + [int(b.max()) + 1 if len(b) else 0 for b in blocks[:-1]])
    groups = np.concatenate([b + o for b, o in zip(blocks, offsets, strict=True)])
    model, card = reviewed_verifier(model, verifier_card, patches, confirmed, f"{out.name}-verifier", record,
                                    settings or FineTune(), groups=groups,
                                    shown=np.concatenate([s.points.shown for s in reviewed]))
    _write_model(out, base_dir, base_card, model, card)
    crossed = card["training"]["from_reviews"]["cross_validated"]
    log.info("%s written: on %d decisions (%d-fold cross-validated), base at %.3f: precision %s, recall %s, AUC %s; "
             "fine-tuned at %.3f: precision %s, recall %s, AUC %s", out, crossed["decisions"], crossed["folds"],
             crossed["before"]["threshold"], crossed["before"]["precision"], crossed["before"]["recall"],
             crossed["before"]["auc"], crossed["after"]["threshold"], crossed["after"]["precision"],
             crossed["after"]["recall"], crossed["after"]["auc"])
    return out


def _write_model(out: Path, base_dir: Path, base_card: dict, verifier: GatedVerifier,
                 verifier_card: dict) -> None:
    """Write the model folder ``out`` whole, or nothing: built in a temporary folder beside it,
    then renamed into place (an existing ``out`` removed first)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        save_model(temp / VERIFIER_DIR, verifier, verifier_card)
        shutil.copyfile(base_dir / WEIGHTS_FILE, temp / WEIGHTS_FILE)
        context = base_card.get("context_model")
        if context:
            found = resolve_model_dir(companion_dir(base_dir, context))
            if found.resolve() != (models_dir() / context).resolve():  # a folder of the base's, not by name
                shutil.copytree(found, temp / CONTEXT_DIR)
                context = CONTEXT_DIR
        card = {k: v for k, v in base_card.items() if k != "schema_version"}
        card.update(name=out.name, verifier_model=VERIFIER_DIR, context_model=context,
                    limitations=[*base_card.get("limitations", ()), verifier_card["limitations"][-1]],
                    training={**base_card.get("training", {}),
                              "verifier_from_reviews": verifier_card["training"]["from_reviews"]})
        card = checked_card(card, temp / CARD_FILE)
        write_text(temp / CARD_FILE, yaml.safe_dump(card, sort_keys=False, allow_unicode=True))
        os.chmod(temp, 0o755)
        if out.is_dir():
            shutil.rmtree(out)
        elif out.exists():
            out.unlink()
        os.replace(temp, out)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _names(surveys: list[ReviewedSurvey]) -> str:
    return ", ".join(str(s.path) for s in surveys)

