"""Train a detector, its context model or its verifier (`rams train --config RECIPE.yaml`)."""

from __future__ import annotations

import os
from pathlib import Path

from rams.errors import RamsError
from rams.training.config import load_config


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
    if not (resume or overwrite) and folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise RamsError(folder, "exists (use --overwrite to replace it, or --resume to continue it)")
    if cfg.kind == "verifier":
        from rams.training.verifier_trainer import train_verifier as trainer
    else:
        from rams.training.detector_trainer import train as trainer
    return trainer(cfg, folder, resume=resume)
