"""`rams train --config RECIPE.yaml [-o DIR] [--resume]`: train a detector, context model or verifier."""

from __future__ import annotations

import argparse

from rams.cli.options import add_config, add_out


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``train`` sub-command."""
    p = sub.add_parser("train", help="train a detector (or its verifier) from labelled flights",
                       description="Train a detector, its context model or its verifier as a training YAML "
                                   "says; prints the best model's folder.")
    add_config(p, "training YAML (a recipe under configs/recipes/)", required=True)
    add_out(p, "output folder (default runs/train-<name>)")
    p.add_argument("--resume", action="store_true", help="continue from the last finished epoch in OUT")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rams.pipelines.train import train_model

    print(f"best model: {train_model(args.config, args.out, resume=args.resume, overwrite=args.overwrite)}")
    return 0
