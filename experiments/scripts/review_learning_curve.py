"""What reviewing teaches the verifier, measured on held-out real ground of one terrain.

    python experiments/scripts/review_learning_curve.py MODEL REAL_GROUND OUT_DIR [confident]

A scripted reviewer (decisions from the truth: a detection within 0.3 m of a visible true item
is confirmed, any other rejected) reviews the detections of a first flight in the review app's
order (confidence nearest the model's decision threshold first): composites of the three caliterra
validation frames (IMG_9425-IMG_9427) at 1 cm, surveyed with the submunition threshold lowered
to 0.05 so that there is enough to review. `rams train --from-reviews` fine-tunes MODEL's
verifier on the first N decisions; each model then surveys a second flight of the same terrain,
the three caliterra test frames at 1 cm (written by experiments/eval_sets.sh), scored as
`rams evaluate` scores them (items of 5 px or more). Prints one line per N and writes
OUT_DIR/learning_curve.json. With ``confident`` the reviewer takes the most confident detections
first instead (a queue that holds more of the true items).
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyogrio
from scipy.spatial import cKDTree

import rams
from rams.detector.card import read_card, resolve_model_dir
from rams.detector.detector import companion_dir
from rams.errors import RamsError
from rams.pipelines.evaluate import evaluate, pool
from rams.pipelines.train import train_from_reviews
from rams.review import store
from rams.review.decisions import Decision, utc_now
from rams.settings import SurveySettings
from rams.synthetic import generate_real_ground_flight, labels_path

FIRST = ("IMG_9425", "IMG_9426", "IMG_9427")
SECOND = sorted(Path("runs/eval/real").glob("IMG_94[23]?_0.01.tif"))
NS = (50, 200, 1000)


def scripted(survey: Path, labels: Path) -> list[tuple[float, Decision]]:
    """(confidence, decision) for every detection of ``survey``."""
    found = pyogrio.read_dataframe(survey, layer="submunitions", fid_as_index=True)
    truth = pyogrio.read_dataframe(labels, layer="submunitions")
    truth = truth[truth["visible_fraction"] > 0]
    xy = np.column_stack([found.geometry.x, found.geometry.y])
    dist, _ = cKDTree(np.column_stack([truth.geometry.x, truth.geometry.y])).query(xy)
    now = utc_now()
    return [(float(c), Decision("submunitions", int(fid), "confirmed" if d <= 0.3 else "rejected",
                                          "scripted", now))
            for fid, c, d in zip(found.index, found["confidence"], dist, strict=True)]


def main(model: str, real_ground: Path, out: Path, confident: bool = False) -> None:
    out.mkdir(parents=True, exist_ok=True)
    settings = SurveySettings()
    settings = replace(settings, detection=replace(settings.detection, submunition_threshold=0.05))
    model_dir = resolve_model_dir(model)
    verifier = read_card(companion_dir(model_dir, read_card(model_dir)["verifier_model"]))
    threshold = float(verifier["postprocess"]["threshold"])
    surveys, queue = [], []
    for k, frame in enumerate(FIRST):
        tif = out / f"first-{frame}.tif"
        if not tif.is_file():
            generate_real_ground_flight(tif, real_ground / "caliterra" / f"{frame}.jpg", 0.01, 61000 + k)
        gpkg = out / f"first-{frame}.gpkg"
        if not gpkg.is_file():
            rams.survey(tif, gpkg, model=model, settings=settings, report=None)
        surveys.append(gpkg)
        # the review app's order: confidence nearest the model's own threshold first (the survey's
        # was lowered); or the most confident first
        queue += [(-c if confident else abs(c - threshold), gpkg, d) for c, d in scripted(gpkg, labels_path(tif))]
    queue.sort(key=lambda q: q[0])
    print(f"first flight: {len(queue)} detections to review, {sum(q[2].decision == 'confirmed' for q in queue)} true")
    rows = []
    for n in (0, *NS):
        if n > len(queue):
            print(f"N = {n}: only {len(queue)} detections to review")
            continue
        model_n = model
        if n:
            copies = []
            for gpkg in surveys:
                copy = out / f"N{n}" / gpkg.name
                copy.parent.mkdir(exist_ok=True)
                shutil.copy(gpkg, copy)
                copies.append(copy)
            for _, gpkg, d in queue[:n]:
                store.record(out / f"N{n}" / gpkg.name, [d])
            confirmed = sum(d.decision == "confirmed" for _, _, d in queue[:n])
            try:
                model_n = str(train_from_reviews(copies, out / f"model-N{n}", base=model, overwrite=True))
            except RamsError as err:  # too few of a class to learn from: what a reviewer would be told
                print(f"N = {n:4d}: {confirmed} confirmed; not trained: {err}")
                rows.append({"reviewed": n, "confirmed": confirmed, "refused": str(err)})
                continue
        reports = [evaluate(f, labels_path(f), model=model_n,
                            matching={"min_visible_fraction": 0.01, "min_length_px": 5}) for f in SECOND]
        s = pool(reports)["metrics"]["submunition"]
        rows.append({"reviewed": n, "confirmed": sum(d.decision == "confirmed" for _, _, d in queue[:n]),
                     "precision": s["precision"], "recall": s["recall"], "f1": s["f1"],
                     "tp": s["tp"], "fp": s["fp"], "fn": s["fn"], "fp_per_ha": s["fp_per_ha"]})
        print(f"N = {n:4d}: P {s['precision']:.3f} R {s['recall']:.3f} F1 {s['f1']:.3f} "
              f"({s['tp']:.0f}/{s['fp']:.0f}/{s['fn']:.0f}, {s['fp_per_ha']:.1f} false per ha)")
    (out / "learning_curve.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:] == ["confident"])
