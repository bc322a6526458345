"""Evaluation reports made by hand, for the tests of `rams compare`."""

from __future__ import annotations

MATCHING = {"match_radius_m": 0.3, "min_length_px": 5.0}


def report_row(name: str, tp: int, fp: int, fn: int, model: str, verifier: str = "") -> dict:
    """One flight's row of a `rams evaluate --out` report, with these submunition counts."""
    networks = {"verifier_model": verifier, "verifier_model_sha256": "cd" * 32} if verifier else {}
    return {"flight": name, "model": model, "model_sha256": "ab" * 32, **networks, "matching": MATCHING,
            "metrics": {"submunition": {"tp": tp, "fp": fp, "fn": fn, "precision": 0.0, "recall": 0.0, "f1": 0.0},
                        "trench": {"true_length_m": 10.0, "true_length_matched_m": 8.0, "pred_length_m": 9.0,
                                   "pred_length_matched_m": 9.0, "precision": 1.0, "recall": 0.8, "f1": 0.9}}}
