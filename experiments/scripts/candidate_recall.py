"""Recall of a heatmap model's candidates against how many it proposes, on labelled flights.

    python experiments/scripts/candidate_recall.py MODEL FLIGHT.tif [FLIGHT.tif ...]

For each candidate threshold: candidates per hectare and the share of true submunitions of 5 px
or more, and of 8 px or more (visible, as `rams evaluate` scores them) with a candidate within 0.3 m: the recall a
perfect verifier could reach at that threshold. Candidates are found as a survey finds them
(`rams.training.mining.candidates`: flights finer than the model's GSD range averaged first).
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from rams.detector.detector import Detector
from rams.synthetic import labels_path
from rams.training.data import load_labelled_flight
from rams.training.mining import candidates, label_candidates

THRESHOLDS = (0.03, 0.05, 0.08, 0.1, 0.12, 0.15, 0.2, 0.3)

if __name__ == "__main__":
    torch.set_num_threads(2)
    det = Detector.load(sys.argv[1], with_verifier=False)
    found = np.zeros((len(THRESHOLDS), 2))
    count = np.zeros(len(THRESHOLDS))
    items = np.zeros(2)
    area = 0.0
    for tif in sys.argv[2:]:
        fl = load_labelled_flight(tif, labels_path(tif))
        cands = candidates(det, fl, min(THRESHOLDS))
        truth = fl.labels["submunitions"].reset_index(drop=True)
        px = truth["length_m"] / fl.gsd_m
        visible = truth["visible_fraction"] >= 0.01
        scored = [(px >= 5) & visible, (px >= 8) & visible]
        items += [s.sum() for s in scored]
        area += fl.shape[0] * fl.shape[1] * fl.gsd_m**2 / 1e4
        for k, thr in enumerate(THRESHOLDS):
            kept = cands[cands["confidence"] >= thr].reset_index(drop=True)
            lab, item = label_candidates(kept, truth, 0.3)
            hit = set(item[lab > 0])
            found[k] += [sum(1 for i in np.flatnonzero(s) if i in hit) for s in scored]
            count[k] += len(kept)
    print(f"{sys.argv[1]}: {len(sys.argv) - 2} flights, {area:.2f} ha, {items[0]:.0f} items of 5 px or more, "
          f"{items[1]:.0f} of 8 px or more")
    for k, thr in enumerate(THRESHOLDS):
        print(f"  threshold {thr:.2f}: {count[k] / area:8.0f} candidates/ha, recall {found[k, 0] / items[0]:.3f} "
              f"(items of 8 px or more {found[k, 1] / items[1]:.3f})")
