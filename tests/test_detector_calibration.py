import numpy as np
import pytest

from rams.detector.calibration import (
    Platt,
    at_or_above,
    bin_sums,
    fit_platt,
    logit,
    raw_threshold,
    reliability,
    reliability_from_sums,
    rescaled_postprocess,
)


def _overconfident(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    # a verifier whose logit is three times too sure and biased up by 2: truth follows
    # sigmoid((logit - 2) / 3), so false items come out near 1.0
    rng = np.random.default_rng(seed)
    true_logit = rng.normal(-1.0, 2.0, n)
    truth = rng.uniform(size=n) < 1 / (1 + np.exp(-true_logit))
    raw = 1 / (1 + np.exp(-(3 * true_logit + 2)))
    return raw, truth


def test_platt_recovers_the_scaling_that_made_the_data():
    raw, truth = _overconfident(40_000, 0)
    platt = fit_platt(raw, truth)
    assert platt.slope == pytest.approx(1 / 3, abs=0.02)
    assert platt.intercept == pytest.approx(-2 / 3, abs=0.05)


def test_calibration_fitted_on_one_set_holds_on_another():
    raw, truth = _overconfident(20_000, 1)
    held_raw, held_truth = _overconfident(20_000, 2)
    _, before = reliability(held_raw, held_truth)
    platt = fit_platt(raw, truth)
    rows, after = reliability(platt(held_raw), held_truth)
    assert before > 0.1 and after < 0.02
    assert sum(r["detections"] for r in rows) == 20_000
    top = at_or_above(platt(held_raw), held_truth)[0.9]
    assert top is not None and top >= 0.88  # of detections at or above 0.9, about 90 % are true


def test_reliability_table_by_hand():
    conf = np.array([0.95] * 10 + [0.55] * 4)
    true = np.array([True] * 9 + [False] + [True, True, False, False])
    rows, ece = reliability(conf, true)
    assert [(r["bin"], r["detections"], r["true_share"]) for r in rows] == [("0.5-0.6", 4, 0.5), ("0.9-1.0", 10, 0.9)]
    assert ece == pytest.approx((10 * 0.05 + 4 * 0.05) / 14)
    assert reliability(np.array([1.0]), np.array([True]))[0][0]["bin"] == "0.9-1.0"  # 1.0 is in the last bin
    # per-flight sums pool to the table of all detections together
    a, b = bin_sums(conf[:7], true[:7]), bin_sums(conf[7:], true[7:])
    pooled = {k: {f: a[k][f] + b[k][f] for f in a[k]} for k in a}
    pooled_rows, pooled_ece = reliability_from_sums(pooled)
    assert pooled_rows == rows and pooled_ece == pytest.approx(ece)
    assert reliability(np.zeros(0), np.zeros(0, bool)) == ([], 0.0)
    assert at_or_above(conf, true, (0.9, 0.99)) == {0.9: 0.9, 0.99: None}


def test_platt_identity_card_and_degenerate_sets():
    p = np.array([0.01, 0.3, 0.99])
    assert np.allclose(Platt()(p), p)
    assert Platt.from_card(None) == Platt() and Platt.from_card(Platt(2.0, -1.0).as_card()) == Platt(2.0, -1.0)
    assert fit_platt(p, np.ones(3, bool)) == Platt()  # nothing to learn from one class
    assert np.isfinite(logit(np.array([0.0, 1.0]))).all()


def test_the_threshold_on_the_raw_scale_undoes_the_calibration() -> None:
    platt = Platt(0.6, -0.4)
    card = {"postprocess": {"threshold": float(platt(np.array([0.8]))[0])}, "calibration": platt.as_card()}
    assert raw_threshold(card) == pytest.approx(0.8, abs=1e-9)
    assert raw_threshold({"postprocess": {"threshold": 0.3, "raw_threshold": 0.7}}) == 0.7
    assert raw_threshold({"postprocess": {"threshold": 0.3}}) == pytest.approx(0.3)
    # a new scaling maps the threshold so that the same candidates pass, the raw one recorded
    post = rescaled_postprocess(card, Platt(2.0, 1.0))
    assert post["raw_threshold"] == pytest.approx(0.8, abs=1e-9)
    assert post["threshold"] == pytest.approx(float(Platt(2.0, 1.0)(np.array([0.8]))[0]))
