"""`rams train --config RECIPE.yaml [-o DIR] [--resume]`: train a detector, context model or verifier;
`rams train --from-reviews SURVEY.gpkg [...] [--base MODEL] -o DIR`: fine-tune a detector's verifier
on the decisions of reviewed surveys."""

from __future__ import annotations

import argparse
from pathlib import Path

from rams.cli.options import add_config, add_out
from rams.errors import RamsError

#: The recipe the help names: the last stage of the default model's heatmap network.
EXAMPLE_RECIPE = "configs/recipes/rams-det-v2/03-train-submunitions.yaml"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``train`` sub-command."""
    p = sub.add_parser("train", help="train a detector (or its verifier) from labelled flights",
                       description="Train a detector, its context model or its verifier as a training YAML "
                                   "says; prints the best model's folder. Each shipped model's recipe (the "
                                   "stages in order, with their commands) is under configs/recipes/, e.g. "
                                   f"rams train --config {EXAMPLE_RECIPE}. With --from-reviews, fine-tune "
                                   "the verifier of the model the surveys were made with on their reviewed "
                                   "submunitions (confirmed: positives, rejected: negatives) into a model "
                                   "folder rams survey --model DIR takes.")
    source = p.add_mutually_exclusive_group(required=True)
    add_config(source, f"training YAML, e.g. {EXAMPLE_RECIPE}")
    source.add_argument("--from-reviews", nargs="+", type=Path, metavar="SURVEY.gpkg",
                        help="reviewed survey GeoPackages (rams review) whose flights are at hand")
    add_out(p, "output folder (default runs/train-<name>; required with --from-reviews)")
    p.add_argument("--resume", action="store_true", help="continue from the last finished epoch in OUT (--config)")
    p.add_argument("--base", metavar="NAME|DIR",
                   help="with --from-reviews: the detector whose verifier is fine-tuned (default: the model "
                        "the surveys' metadata names, else the shipped detector)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rams.pipelines.train import train_from_reviews, train_model

    if args.from_reviews is None:
        if args.base is not None:
            raise RamsError("--base", "names the model --from-reviews fine-tunes; a --config run names its own")
        print(f"best model: {train_model(args.config, args.out, resume=args.resume, overwrite=args.overwrite)}")
        return 0
    if args.out is None:
        raise RamsError("--from-reviews", "needs the model folder to write: -o DIR")
    if args.resume:
        raise RamsError("--resume", "continues a --config run; --from-reviews takes minutes and starts afresh")
    print(f"model: {train_from_reviews(args.from_reviews, args.out, base=args.base, overwrite=args.overwrite)}")
    return 0
