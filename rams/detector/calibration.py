"""Confidence that means what it says: Platt scaling of a verifier's probabilities, and the
reliability table and expected calibration error that check it on held-out flights.

A verifier trained on balanced batches (half positives) ranks candidates well but its raw
probability is not the share of true items among its detections: false candidates come out at
1.00. Platt scaling fits ``p' = sigmoid(slope * logit(p) + intercept)`` to the candidates of
validation flights (label 1 near a true item), which keeps the ranking (and with it precision
and recall at the mapped threshold) and makes ``p'`` a probability on those flights. Whether it
holds on other flights is what :func:`reliability` measures: detections binned by confidence,
the share of true ones in each bin, and the expected calibration error (ECE), the
detection-weighted mean gap between a bin's mean confidence and its share of true items.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

#: Probabilities are kept this far from 0 and 1 before taking their logit.
EPS = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)) of probabilities (clipped to [EPS, 1 - EPS])."""
    p = np.clip(np.asarray(p, np.float64), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


@dataclass(frozen=True)
class Platt:
    """``sigmoid(slope * logit(p) + intercept)``: the identity at slope 1, intercept 0."""

    slope: float = 1.0
    intercept: float = 0.0

    def __call__(self, p: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (float64) of raw probabilities ``p``."""
        return 0.5 * (1 + np.tanh(0.5 * (self.slope * logit(p) + self.intercept)))

    def inverse(self, q: np.ndarray) -> np.ndarray:
        """The raw probabilities (float64) whose calibrated values are ``q``."""
        return 0.5 * (1 + np.tanh(0.5 * (logit(q) - self.intercept) / self.slope))

    def as_card(self) -> dict[str, float]:
        return {"slope": float(self.slope), "intercept": float(self.intercept)}

    @classmethod
    def from_card(cls, entry: dict | None) -> Platt:
        return cls(**entry) if entry else cls()


def raw_threshold(card: dict[str, Any]) -> float:
    """A verifier card's threshold on the raw (uncalibrated) probability: ``raw_threshold`` when
    the card records it, else its ``threshold`` taken back through its calibration."""
    post = card["postprocess"]
    if "raw_threshold" in post:
        return float(post["raw_threshold"])
    return float(Platt.from_card(card.get("calibration")).inverse(np.array([post["threshold"]]))[0])


def rescaled_postprocess(card: dict[str, Any], platt: Platt) -> dict[str, float]:
    """A verifier card's post-processing with its threshold put onto ``platt``'s scale, so that
    the same candidates pass it; ``raw_threshold`` keeps it on the raw scale."""
    raw = raw_threshold(card)
    return dict(card["postprocess"], raw_threshold=raw, threshold=float(platt(np.array([raw]))[0]))


def fit_platt(p: np.ndarray, truth: np.ndarray, iterations: int = 100) -> Platt:
    """The :class:`Platt` scaling that minimises the log loss of raw probabilities ``p`` (K,)
    against 0/1 ``truth`` (K,) (Newton's method on the two parameters, with Platt's smoothed
    targets so that a separable set does not drive the slope to infinity)."""
    x = logit(p)
    y = np.asarray(truth, np.float64)
    n_pos, n_neg = float(y.sum()), float(len(y) - y.sum())
    if n_pos == 0 or n_neg == 0:
        return Platt()
    t = np.where(y > 0.5, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

    def loss(a: float, b: float) -> float:  # log loss, written to stay finite for any logit
        z = a * x + b
        return float(np.sum(np.logaddexp(0, z) - t * z))

    a, b = 1.0, 0.0
    for _ in range(iterations):
        q = 0.5 * (1 + np.tanh(0.5 * (a * x + b)))  # sigmoid without overflow
        w = np.maximum(q * (1 - q), 1e-12)
        g = np.array([np.sum((q - t) * x), np.sum(q - t)])
        h = np.array([[np.sum(w * x * x), np.sum(w * x)], [np.sum(w * x), np.sum(w)]]) + 1e-9 * np.eye(2)
        step, scale, now = np.linalg.solve(h, g), 1.0, loss(a, b)
        while scale > 1e-6 and loss(a - scale * step[0], b - scale * step[1]) > now:
            scale /= 2  # damped: Newton's full step can overshoot far from the optimum
        a, b = a - scale * step[0], b - scale * step[1]
        if np.abs(scale * step).max() < 1e-9:
            break
    return Platt(float(a), float(b))


#: Confidence bins of the reliability table: [lo, hi) each, the last closed.
BINS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def bin_sums(confidence: np.ndarray, true: np.ndarray, bins: tuple[float, ...] = BINS
             ) -> dict[str, dict[str, float]]:
    """Per confidence bin (named ``"lo-hi"``) the ``detections``, their ``confidence_sum`` and how
    many are ``true``: sums that add up across flights (:func:`reliability_from_sums`)."""
    c = np.asarray(confidence, np.float64)
    y = np.asarray(true, bool)
    which = np.clip(np.searchsorted(bins, c, side="right") - 1, 0, len(bins) - 2)
    return {f"{bins[k]:.1f}-{bins[k + 1]:.1f}": {"detections": int(np.sum(which == k)),
                                                 "confidence_sum": float(c[which == k].sum()),
                                                 "true": int(np.sum(y[which == k]))}
            for k in range(len(bins) - 1)}


def reliability_from_sums(sums: dict[str, dict[str, float]]) -> tuple[list[dict[str, float]], float]:
    """The reliability table (one row per non-empty bin: ``bin``, ``detections``,
    ``mean_confidence``, ``true_share``) and the expected calibration error (the
    detection-weighted mean of ``|mean_confidence - true_share|``; 0 when empty) of
    :func:`bin_sums`, summed over any number of flights."""
    rows, gap, total = [], 0.0, 0
    for name, s in sums.items():
        n = int(s["detections"])
        if n == 0:
            continue
        mean_c, share = s["confidence_sum"] / n, s["true"] / n
        rows.append({"bin": name, "detections": n, "mean_confidence": round(mean_c, 4), "true_share": round(share, 4)})
        gap += n * abs(mean_c - share)
        total += n
    return rows, gap / total if total else 0.0


def reliability(confidence: np.ndarray, true: np.ndarray, bins: tuple[float, ...] = BINS
                ) -> tuple[list[dict[str, float]], float]:
    """The reliability table and expected calibration error of detections with ``confidence``
    (K,) of which ``true`` (K,) bool are true (:func:`reliability_from_sums`)."""
    return reliability_from_sums(bin_sums(confidence, true, bins))


def at_or_above(confidence: np.ndarray, true: np.ndarray, levels: tuple[float, ...] = (0.5, 0.7, 0.9)
                ) -> dict[float, float | None]:
    """Share of true detections among those at or above each confidence level (None: none)."""
    c = np.asarray(confidence, np.float64)
    y = np.asarray(true, bool)
    return {lv: (float(y[c >= lv].mean()) if (c >= lv).any() else None) for lv in levels}
