"""Why learning from reviews did not carry over to a second flight: every candidate of the
second flight scored by the base and by fine-tuned verifiers, on patches cut two ways.

    python experiments/scripts/review_transfer_diagnosis.py MODEL_DIR [MODEL_DIR ...]

The second flight is caliterra's three test frames at 1 cm (experiments/eval_sets.sh). Each is
surveyed once with the shipped detector and the submunition threshold at 0.01 (every candidate
the verifier sees, with the base verifier's confidence); a candidate within 0.3 m of a visible
true item is true. Each candidate's patch is cut as the survey cuts it (from the 2 cm grid the
detector reads, area-averaged from the file) and as ``rams train --from-reviews`` cut it until
now (from the file at 1 cm, resized bilinear with antialiasing); each verifier scores both.
Prints the ranking AUC, and the true and false candidates kept at the verifier's threshold.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyogrio
from scipy.spatial import cKDTree

import rams
from rams.detector.card import read_card
from rams.detector.detector import companion_dir
from rams.detector.verifier import Verifier
from rams.flight import open_flight
from rams.patches import crop_patches
from rams.pipelines.survey import processing_flight
from rams.settings import SurveySettings
from rams.synthetic import labels_path
from rams.training.from_reviews import ranking_auc

SECOND = sorted(Path("runs/eval/real").glob("IMG_94[23]?_0.01.tif"))
OUT = Path("runs/transfer")


def grid_patches(flight, xy: np.ndarray, patch_px: int) -> np.ndarray:
    """Patches cut from the whole grid image, as a survey's region cuts them."""
    from rasterio.windows import Window

    rgb, _ = flight.read_rgb(Window(0, 0, flight.width, flight.height))
    cols, rows = ~flight.transform @ (xy[:, 0], xy[:, 1])
    return crop_patches(rgb, np.column_stack([rows, cols]), patch_px, 1.0)


def false_at(score: np.ndarray, is_true: np.ndarray, n_true: int | None) -> int | None:
    """False candidates above the highest threshold that keeps ``n_true`` true ones."""
    if n_true is None:
        return None
    ranked = is_true[np.argsort(-score)]
    k = int(np.searchsorted(np.cumsum(ranked), n_true))
    return int((~ranked[:k + 1]).sum())


def main(models: list[str]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    settings = SurveySettings()
    settings = replace(settings, detection=replace(settings.detection, submunition_threshold=0.01))
    truth_all, grid_all, native_all = [], [], []
    for tif in SECOND:
        gpkg = OUT / f"{tif.stem}.gpkg"
        if not gpkg.is_file():
            rams.survey(tif, gpkg, settings=settings, report=None)
        found = pyogrio.read_dataframe(gpkg, layer="submunitions")
        truth = pyogrio.read_dataframe(labels_path(tif), layer="submunitions")
        truth = truth[truth["visible_fraction"] > 0]
        xy = np.column_stack([found.geometry.x, found.geometry.y])
        dist, _ = cKDTree(np.column_stack([truth.geometry.x, truth.geometry.y])).query(xy)
        truth_all.append(dist <= 0.3)
        flight = open_flight(tif)
        grid = processing_flight(flight, (0.02, 0.04))
        grid_all.append(grid_patches(grid, xy, 32))
        native_all.append(grid.native_patches(xy, 32, 0.02))
    is_true = np.concatenate(truth_all)
    cuts = {"grid": np.concatenate(grid_all), "native": np.concatenate(native_all)}
    print(f"{len(is_true)} candidates, {is_true.sum()} true")
    base_true = None
    for model in models:
        card = read_card(model)
        verifier_dir = companion_dir(Path(model), card["verifier_model"]) if "verifier_model" in card else Path(model)
        verifier = Verifier.load(verifier_dir)
        threshold = float(verifier.card["postprocess"]["threshold"])
        for cut, patches in cuts.items():
            s = verifier.score(patches)
            kept = s >= threshold
            print(f"{Path(model).name:24s} {cut:6s} AUC {ranking_auc(s, is_true):.3f}  at {threshold:.3f}: "
                  f"{(kept & is_true).sum()} true, {(kept & ~is_true).sum()} false kept; "
                  f"top-200 true {is_true[np.argsort(-s)[:200]].sum()}; "
                  f"false kept for as many true as the base keeps: {false_at(s, is_true, base_true)}")
            if base_true is None:
                base_true = int((kept & is_true).sum())


if __name__ == "__main__":
    main(sys.argv[1:])
