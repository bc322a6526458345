"""`rams train --config configs/train.yaml [--out DIR] [--resume]`: train a detector."""

from __future__ import annotations

import argparse
from pathlib import Path

from rams.training.config import load_config
from rams.training.detector_trainer import train
from rams.training.verifier_trainer import train_verifier


def run(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    out = Path(args.out or Path("runs") / f"train-{cfg.name}")
    model_dir = (train_verifier if cfg.kind == "verifier" else train)(cfg, out, resume=args.resume)
    print(f"best model: {model_dir}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train", help="train a detector (or its verifier) from labelled flights", description=__doc__
    )
    p.add_argument("--config", required=True, help="training YAML (see configs/train.yaml)")
    p.add_argument("--out", help="output folder (default runs/train-<name>)")
    p.add_argument(
        "--resume", action="store_true", help="continue from the last finished epoch in --out"
    )
    p.set_defaults(run=run)
