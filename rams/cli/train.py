"""`rams train --config RECIPE.yaml [-o DIR] [--resume]`: train a detector, context model or verifier."""

from __future__ import annotations

import argparse

from rams.cli.options import add_config, add_out

#: The recipe the help names: the last stage of the default model's heatmap network.
EXAMPLE_RECIPE = "configs/recipes/rams-det-v2/03-train-submunitions.yaml"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``train`` sub-command."""
    p = sub.add_parser("train", help="train a detector (or its verifier) from labelled flights",
                       description="Train a detector, its context model or its verifier as a training YAML "
                                   "says; prints the best model's folder. Each shipped model's recipe (the "
                                   "stages in order, with their commands) is under configs/recipes/, e.g. "
                                   f"rams train --config {EXAMPLE_RECIPE}.")
    add_config(p, f"training YAML, e.g. {EXAMPLE_RECIPE}", required=True)
    add_out(p, "output folder (default runs/train-<name>)")
    p.add_argument("--resume", action="store_true", help="continue from the last finished epoch in OUT")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rams.pipelines.train import train_model

    print(f"best model: {train_model(args.config, args.out, resume=args.resume, overwrite=args.overwrite)}")
    return 0
