"""`rams train --from-reviews`: reviewed submunitions become patches at the right places, a tiny
verifier fine-tuned on them separates them better than before, the folder written surveys, its
cards record what made it, and surveys that cannot train are refused with nothing written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import torch
from affine import Affine
from detector_fixtures import CARD, tiny_model
from hazard_fixtures import ORIGIN, positions, square, submunitions, trenches
from rasters import write_tif

from rams.cli.main import main
from rams.detector.calibration import Platt
from rams.detector.card import WEIGHTS_FILE, load_model, read_card, save_model, sha256_file
from rams.detector.detector import Detector, companion_dir
from rams.detector.verifier import (
    GatedVerifier,
    LitePatchNet,
    Verifier,
    build_verifier,
    gated_probabilities,
    patch_arch,
    patch_probabilities,
)
from rams.errors import RamsError
from rams.pipelines.train import base_model, read_reviewed, reviewed_patches
from rams.resources import models_dir
from rams.review import store
from rams.review.decisions import Decision
from rams.training.from_reviews import (
    FineTune,
    blocks_of,
    effect,
    fine_tune,
    folds_of,
    gate_of,
    operating_point,
    ranking_auc,
    reviewed_points,
    reviewed_verifier,
)

GSD_M = 0.02
SPACING_PX = 24  # between the squares' centres
SQUARE_PX = 8
PATCH_PX = 16
VERIFIER_CARD = {**CARD, "name": "tiny-ver", "kind": "verifier", "tile_px": PATCH_PX, "overlap_px": 0,
                 "arch": {"widths": [8, 8, 8, 8], "patch_px": PATCH_PX, "patch_gsd_m": GSD_M},
                 "postprocess": {"candidate_threshold": 0.05, "threshold": 0.5}}
CPU = torch.device("cpu")
GSD_RANGE_M = tuple(CARD["gsd_range_m"])


def squares_flight(path: Path, cols: int = 8, rows: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """A flight at 2 cm of textured ground with a square of 8 px centred on each point of a grid,
    bright and dark in turn; returns the squares' centres (K, 2) in metres and which are bright."""
    rng = np.random.default_rng(0)
    height, width = (rows + 1) * SPACING_PX, (cols + 1) * SPACING_PX
    img = rng.normal(115, 12, (3, height, width))
    centres, bright = [], []
    for r in range(rows):
        for c in range(cols):
            row, col = (r + 1) * SPACING_PX, (c + 1) * SPACING_PX
            light = (r + c) % 2 == 0
            half = SQUARE_PX // 2
            img[:, row - half:row + half, col - half:col + half] = (225 if light else 25) + rng.normal(0, 6, (3, 8, 8))
            centres.append((ORIGIN[0] + col * GSD_M, ORIGIN[1] - row * GSD_M))
            bright.append(light)
    write_tif(path, np.clip(img, 0, 255).astype(np.uint8), transform=Affine(GSD_M, 0, ORIGIN[0], 0, -GSD_M, ORIGIN[1]))
    return np.array(centres), np.array(bright)


def survey_of(folder: Path, tif: Path, xy: np.ndarray, metadata: dict[str, str] | None = None) -> Path:
    """A survey GeoPackage of ``tif`` with a submunition at each of ``xy``, a trench and a
    position, written as the review tests write theirs (detections, then `rams hazards`)."""
    detections = folder / "detections.gpkg"
    layers = {"submunitions": submunitions(xy, confidence=0.05),  # a survey made to review every candidate
              "trenches": trenches([[(0.2, -0.2), (2.0, -0.2)]]),
              "positions": positions([square(0.5, -1.5, 0.6)])}
    for name, frame in layers.items():
        pyogrio.write_dataframe(frame, detections, layer=name)
    meta = {"flight_id": "squares-1", "flight_path": str(tif), "survey_date": "2025-05-01", "model": "tiny-det",
            "model_sha256": "ab" * 32, "verifier_model": "tiny-ver", "verifier_model_sha256": "cd" * 32,
            **(metadata or {})}
    pyogrio.write_dataframe(pd.DataFrame({"key": list(meta), "value": list(meta.values())}), detections,
                            layer="metadata")
    out = folder / "survey.gpkg"
    assert main(["hazards", str(detections), "-o", str(out)]) == 0
    detections.unlink()
    return out


def review(survey: Path, bright_xy: np.ndarray, when: str = "2025-05-02T09:00:00.000000Z") -> dict[str, int]:
    """Confirm the submunitions on bright squares and reject those on dark ones (the first
    dark one confirmed, then rejected later: the latest decision wins; the last one unsure), one
    trench confirmed and one position rejected; returns the counts of the decisions in force."""
    points = pyogrio.read_dataframe(survey, layer="submunitions", fid_as_index=True)
    xy = np.column_stack([points.geometry.x, points.geometry.y])
    bright = (np.abs(xy[:, None] - bright_xy[None]).max(axis=2) < 1e-6).any(axis=1)
    fids = [int(f) for f in points.index]
    decisions = [Decision("submunitions", fid, "confirmed" if b else "rejected", "ana", when)
                 for fid, b in zip(fids[:-1], bright[:-1], strict=True)]
    first_dark = fids[int(np.flatnonzero(~bright)[0])]
    decisions += [Decision("submunitions", first_dark, "confirmed", "ben", "2025-05-01T08:00:00.000000Z"),
                  Decision("submunitions", fids[-1], "unsure", "ana", when),
                  Decision("trenches", 1, "confirmed", "ana", when), Decision("positions", 1, "rejected", "ana", when)]
    store.record(survey, decisions)
    return {"confirmed": int(bright[:-1].sum()), "rejected": int((~bright[:-1]).sum())}


def base_models(folder: Path, patches: np.ndarray | None = None, confirmed: np.ndarray | None = None) -> Path:
    """A tiny detector (``folder/det``) with a context model and a verifier beside it; the
    verifier is first taught the opposite of the reviews when ``patches`` are given (a base that
    is wrong on this ground)."""
    torch.manual_seed(0)
    verifier = build_verifier(VERIFIER_CARD["arch"])
    if patches is not None:
        fine_tune(verifier, patches, ~confirmed, FineTune(epochs=2, lr=3e-3), CPU)
    save_model(folder / "ver", verifier, VERIFIER_CARD)
    save_model(folder / "ctx", tiny_model(), {**CARD, "name": "tiny-ctx", "input_gsd_m": 0.08,
                                              "outputs": ["trench", "position"]})
    save_model(folder / "det", tiny_model(), {**CARD, "name": "tiny-det", "overlap_px": 32, "outputs": ["submunition"],
                                              "verifier_model": "ver", "context_model": "ctx"})
    return folder / "det"


@pytest.fixture
def reviewed(tmp_path) -> tuple[Path, Path, np.ndarray, np.ndarray, dict[str, int]]:
    """A reviewed survey of the squares flight: (survey, flight, centres, bright, counts)."""
    tif = tmp_path / "squares.tif"
    xy, bright = squares_flight(tif)
    survey = survey_of(tmp_path, tif, xy)
    return survey, tif, xy, bright, review(survey, xy[bright])


# --- decisions -> labelled points and patches -------------------------------------------------


def test_reviewed_points_take_the_latest_decision_and_count_every_layer() -> None:
    frame = submunitions(np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]]))
    frame.index = [4, 7, 9, 11]
    decisions = [Decision("submunitions", 7, "rejected", "ana", "2025-05-02T09:00:00Z"),
                 Decision("submunitions", 4, "confirmed", "ana", "2025-05-02T09:00:00Z"),
                 Decision("submunitions", 7, "confirmed", "ben", "2025-05-02T10:00:00Z"),
                 Decision("submunitions", 9, "unsure", "ana", "2025-05-02T09:00:00Z"),
                 Decision("submunitions", 99, "rejected", "ana", "2025-05-02T09:00:00Z"),  # no such feature
                 Decision("trenches", 1, "rejected", "ana", "2025-05-02T09:00:00Z")]
    points = reviewed_points(frame, decisions)
    assert points.xy.tolist() == [[0.0, 0.0], [1.0, 0.0]] and points.confirmed.tolist() == [True, True]
    assert points.counts == {"submunitions": {"confirmed": 2, "rejected": 1, "unsure": 1},
                             "trenches": {"confirmed": 0, "rejected": 1, "unsure": 0},
                             "positions": {"confirmed": 0, "rejected": 0, "unsure": 0}}


def test_confirmed_patches_are_cut_on_the_bright_squares_and_rejected_on_the_dark(reviewed) -> None:
    survey, tif, xy, bright, counts = reviewed
    found = read_reviewed(survey)
    assert found.flight == tif and found.metadata["flight_id"] == "squares-1"
    assert int(found.points.confirmed.sum()) == counts["confirmed"]
    assert int((~found.points.confirmed).sum()) == counts["rejected"]
    patches, confirmed = reviewed_patches([found], PATCH_PX, GSD_M, GSD_RANGE_M)
    assert patches.shape == (len(xy) - 1, 3, PATCH_PX, PATCH_PX) and patches.dtype == np.uint8
    middle = slice(PATCH_PX // 2 - 3, PATCH_PX // 2 + 3)
    centre = patches[:, :, middle, middle].mean(axis=(1, 2, 3))
    ring = patches[:, :, :2].mean(axis=(1, 2, 3))  # the ground above each square
    assert (centre[confirmed] > 200).all() and (centre[~confirmed] < 50).all()
    assert (np.abs(ring - 115) < 20).all()
    # at the flight's own 2 cm a patch is its pixels; at 4 cm it covers twice the ground
    wide, _ = reviewed_patches([found], PATCH_PX, 2 * GSD_M, GSD_RANGE_M)
    assert (wide[confirmed][:, :, 6:10, 6:10].mean(axis=(1, 2, 3)) > 200).all()
    assert (wide[confirmed][:, :, 3:5, 3:5].mean(axis=(1, 2, 3)) < 160).all()


def test_folds_take_whole_blocks_of_ground_seeded() -> None:
    xy = np.array([[10.0, 10.0], [20.0, 30.0], [150.0, 10.0], [160.0, 40.0], [250.0, 250.0], [260.0, 260.0],
                   [-20.0, 10.0]])
    blocks = blocks_of(xy)
    assert blocks.tolist()[:6] == [1, 1, 2, 2, 3, 3] and blocks[6] == 0  # squares of 100 m
    confirmed = np.array([True, False, True, False, True, False, False])
    fold, grouped = folds_of(confirmed, blocks, 5, seed=0)
    assert grouped and set(fold) == {0, 1, 2}  # three blocks hold confirmed items: three folds
    assert all(len(set(fold[blocks == b])) == 1 for b in set(blocks))  # no block split
    assert all(set(confirmed[fold != f]) == {True, False} for f in range(3))  # each trains on both
    assert (folds_of(confirmed, blocks, 5, seed=0)[0] == fold).all()


def test_folds_deal_decisions_one_by_one_when_one_block_holds_every_confirmed_item() -> None:
    confirmed = np.array([True] * 30 + [False] * 70)
    one_block = np.zeros(100, int)
    fold, grouped = folds_of(confirmed, one_block, 5, seed=0)
    assert not grouped
    assert sorted(np.bincount(fold[confirmed])) == [6] * 5 and sorted(np.bincount(fold[~confirmed])) == [14] * 5
    assert (folds_of(confirmed, one_block, 5, seed=1)[0] != fold).any()
    few = np.array([True, True, True, False, False, False, False])  # three confirmed: three folds
    fold, _ = folds_of(few, np.arange(7), 5, 0)
    assert set(fold) == {0, 1, 2} and all(set(few[fold == k]) == {True, False} for k in range(3))
    # blocks 0 and 1 hold the rejected items; dealt into one fold, the other fold could not train
    confirmed = np.array([True, False, True, False, True, True])
    blocks = np.array([0, 0, 1, 1, 2, 2])
    outcomes = set()
    for seed in range(12):
        fold, grouped = folds_of(confirmed, blocks, 5, seed)
        outcomes.add(grouped)
        assert all(set(confirmed[fold != f]) == {True, False} for f in set(fold))
    assert outcomes == {True, False}


def test_the_operating_point_keeps_as_many_confirmed_as_the_base_among_those_the_gate_let_through() -> None:
    raw = np.array([0.9, 0.7, 0.5, 0.0, 0.8, 0.6, 0.2, 0.0])  # 0: screened out by the gate
    confirmed = np.array([True, True, True, True, False, False, False, False])
    threshold = operating_point(raw, confirmed, 2, fallback=0.99)
    assert threshold == pytest.approx(0.7, rel=1e-5) and threshold <= 0.7  # the second confirmed stays in
    kept = raw >= threshold
    assert kept[confirmed].sum() == 2 and kept[~confirmed].sum() == 1
    assert operating_point(raw, confirmed, 0, 0.99) == pytest.approx(0.9, rel=1e-5)  # at least one
    assert operating_point(raw, confirmed, 4, 0.99) == pytest.approx(0.5, rel=1e-5)  # at most all let through
    assert operating_point(np.where(confirmed, 0.0, raw), confirmed, 2, 0.99) == 0.99


def test_a_gated_verifier_judges_only_what_its_gate_lets_through(tmp_path) -> None:
    torch.manual_seed(0)
    base = build_verifier(VERIFIER_CARD["arch"])
    judge = build_verifier(VERIFIER_CARD["arch"])
    model = GatedVerifier(base, judge).eval()
    rng = np.random.default_rng(1)
    patches = rng.integers(0, 256, (16, 3, PATCH_PX, PATCH_PX), dtype=np.uint8)
    gate_raw = patch_probabilities(base.eval(), patches, CPU)
    judged = patch_probabilities(judge.eval(), patches, CPU)
    gate = float(np.median(gate_raw))
    prob = gated_probabilities(model, patches, CPU, {"gate_threshold": gate})
    np.testing.assert_allclose(prob, np.where(gate_raw >= gate, judged, 0.0), atol=1e-6)
    assert (prob == 0).sum() == (gate_raw < gate).sum() > 0
    # saved and loaded as one verifier: its arch names both networks
    card = {**VERIFIER_CARD, "arch": {**patch_arch(model), "patch_px": PATCH_PX, "patch_gsd_m": GSD_M},
            "postprocess": {"threshold": 0.5, "gate_threshold": gate}}
    save_model(tmp_path / "gated", model, card)
    loaded = Verifier.load(tmp_path / "gated", device="cpu")
    assert isinstance(loaded.model, GatedVerifier) and loaded.card["arch"]["type"] == "GatedVerifier"
    np.testing.assert_allclose(loaded.score(patches), prob, atol=1e-5)
    # the gate: the base's threshold on its raw scale, lower where people were shown lower
    calibrated = {**VERIFIER_CARD, "calibration": {"slope": 2.0, "intercept": 0.0}}  # raw 0.5 -> 0.5
    assert gate_of(np.array([0.8, 0.9]), calibrated) == pytest.approx(0.5)
    low = Platt(2.0, 0.0).inverse(np.array([0.2]))[0]
    assert low < 0.5 and gate_of(np.array([0.3, np.nan, 0.2, 0.9]), calibrated) == pytest.approx(low, rel=1e-5)
    assert gate_of(np.array([np.nan]), calibrated) == pytest.approx(0.5)


def test_effect_counts_at_the_threshold_and_ranks() -> None:
    conf = np.array([0.9, 0.8, 0.4, 0.7, 0.2, 0.1])
    truth = np.array([True, True, True, False, False, False])
    out = effect(conf, truth, 0.5)
    assert (out["tp"], out["fp"], out["fn"], out["tn"]) == (2, 1, 1, 2)
    assert out["precision"] == pytest.approx(2 / 3, abs=1e-4) and out["recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert out["auc"] == pytest.approx(8 / 9, abs=1e-4)
    assert ranking_auc(np.array([0.5, 0.5]), np.array([True, False])) == 0.5
    assert ranking_auc(conf, np.ones(6, bool)) is None
    assert effect(conf, truth, 0.95)["precision"] is None


def test_a_lite_verifier_keeps_its_pretrained_features_and_trains_the_rest() -> None:
    torch.manual_seed(0)
    net = LitePatchNet(blocks=2, neck=16)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    rng = np.random.default_rng(0)
    patches = rng.integers(0, 256, (8, 3, 32, 32), dtype=np.uint8)
    settings = FineTune(epochs=1, min_steps_per_epoch=2, batch_size=4)
    losses = fine_tune(net, patches, np.arange(8) % 2 == 0, settings, CPU)
    after = net.state_dict()
    assert len(losses) == 1
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("features."))  # BN statistics too
    assert not torch.equal(before["head.weight"], after["head.weight"])
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("neck."))


# --- the model folder ---------------------------------------------------------------------------


def test_from_reviews_writes_a_model_that_separates_the_reviewed_squares_and_surveys(reviewed, tmp_path) -> None:
    survey, tif, xy, bright, counts = reviewed
    patches, confirmed = reviewed_patches([read_reviewed(survey)], PATCH_PX, GSD_M, GSD_RANGE_M)
    det = base_models(tmp_path / "models", patches, confirmed)
    base_ver = Verifier.load(tmp_path / "models" / "ver", device="cpu")
    out = tmp_path / "field-det"
    assert main(["train", "--from-reviews", str(survey), "--base", str(det), "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["card.yaml", "context", WEIGHTS_FILE, "verifier"]
    # the detector's weights are the base's, byte for byte; its card names the verifier inside
    card = read_card(out)
    assert card["sha256"] == read_card(det)["sha256"] == sha256_file(out / WEIGHTS_FILE)
    assert (card["name"], card["verifier_model"], card["context_model"]) == ("field-det", "verifier", "context")
    loaded = Detector.load(out, device="cpu")
    assert loaded.verifier.card["name"] == "field-det-verifier" and loaded.context.card["name"] == "tiny-ctx"
    # the fine-tuned verifier separates what the reviewers separated, where the base did not
    before, after = base_ver.score(patches), loaded.verifier.score(patches)
    assert ranking_auc(before, confirmed) < 0.5 < 0.8 < ranking_auc(after, confirmed)
    record = loaded.verifier.card["training"]["from_reviews"]
    crossed = record["cross_validated"]
    assert crossed["folds"] == 5 and crossed["decisions"] == sum(counts.values())
    assert crossed["grouped"] is False  # the squares flight is one block of ground
    assert (crossed["confirmed"], crossed["rejected"]) == (counts["confirmed"], counts["rejected"])
    before, after = crossed["before"], crossed["after"]
    assert before["threshold"] == 0.5 and after["threshold"] == loaded.verifier.card["postprocess"]["threshold"]
    # each decision scored by a verifier that never saw it: the reviews taught it what the base got wrong
    assert after["auc"] > 0.8 > 0.5 > before["auc"]
    assert after["tp"] >= crossed["confirmed_kept_by_the_base"] == before["tp"]  # recall on the confirmed held
    assert after["fp"] < before["fp"]
    assert record["folds"] == 5 and record["epochs"] == FineTune().epochs
    assert record["calibration"]["refit"] is True and "out-of-fold" in record["calibration"]["on"]
    post = loaded.verifier.card["postprocess"]
    assert post["raw_threshold"] < 1.0 and loaded.verifier.card["arch"]["type"] == "GatedVerifier"
    assert post["gate_threshold"] <= 0.5  # the base's threshold, opened to the lowest reviewed candidate
    assert record["surveys"] == [{"file": "survey.gpkg", "flight_id": "squares-1", "flight": "squares.tif",
                                  "model": "tiny-det", "model_sha256": "ab" * 32, "verifier_model": "tiny-ver",
                                  "verifier_model_sha256": "cd" * 32,
                                  "decisions": record["decisions"]}]
    assert record["decisions"] == {"submunitions": {**counts, "unsure": 1},
                                   "trenches": {"confirmed": 1, "rejected": 0, "unsure": 0},
                                   "positions": {"confirmed": 0, "rejected": 1, "unsure": 0}}
    assert record["decisions_used"] == counts
    assert record["decisions_trained"] == counts
    assert record["base_verifier"] == {"name": "tiny-ver", "sha256": read_card(tmp_path / "models" / "ver")["sha256"]}
    assert record["base_detector"]["name"] == "tiny-det"
    assert card["training"]["verifier_from_reviews"] == record
    assert any("cross-validation" in line for line in card["limitations"])
    # rams survey takes it, and records the new verifier
    surveyed = tmp_path / "again.gpkg"
    assert main(["survey", str(tif), "-o", str(surveyed), "--model", str(out)]) == 0
    meta = pyogrio.read_dataframe(surveyed, layer="metadata")
    named = dict(zip(meta["key"], meta["value"], strict=True))
    assert named["model"] == "field-det" and named["verifier_model"] == "field-det-verifier"


def test_the_base_calibration_is_kept_without_enough_decisions_to_refit(reviewed, tmp_path) -> None:
    survey, *_ = reviewed
    patches, confirmed = reviewed_patches([read_reviewed(survey)], PATCH_PX, GSD_M, GSD_RANGE_M)
    few = np.concatenate([np.flatnonzero(confirmed)[:6], np.flatnonzero(~confirmed)[:14]])
    det = base_models(tmp_path / "models")
    model, _, base = load_model(tmp_path / "models" / "ver", build_verifier)
    base["calibration"] = {"slope": 2.0, "intercept": -1.0}
    model, card = reviewed_verifier(model, base, patches[few], confirmed[few], "v", {}, FineTune(epochs=1), CPU,
                                    shown=np.full(len(few), 0.001))
    calibration = card["training"]["from_reviews"]["calibration"]
    assert calibration["refit"] is False and "6 confirmed and 14 rejected" in calibration["reason"]
    assert card["calibration"] == {"slope": 2.0, "intercept": -1.0}
    # the threshold is the out-of-fold one, on the base's scale
    platt = Platt.from_card(card["calibration"])
    post = card["postprocess"]
    assert post["threshold"] == pytest.approx(float(platt(np.array([post["raw_threshold"]]))[0]))
    assert card["training"]["from_reviews"]["folds"] == 5 and det.is_dir()


def test_a_verifier_fine_tuned_again_keeps_its_gate_and_teaches_its_judge_more(reviewed, tmp_path) -> None:
    survey, *_ = reviewed
    patches, confirmed = reviewed_patches([read_reviewed(survey)], PATCH_PX, GSD_M, GSD_RANGE_M)
    base_models(tmp_path / "models")
    model, _, base = load_model(tmp_path / "models" / "ver", build_verifier)
    shown = np.full(len(confirmed), 0.001)
    first, first_card = reviewed_verifier(model, base, patches, confirmed, "v1", {}, FineTune(epochs=1), CPU,
                                          shown=shown)
    save_model(tmp_path / "v1", first, first_card)
    again, card = load_model(tmp_path / "v1", build_verifier)[::2]
    second, second_card = reviewed_verifier(again, card, patches, confirmed, "v2", {}, FineTune(epochs=1), CPU)
    assert second_card["arch"]["type"] == "GatedVerifier" and second_card["arch"]["gate"] == patch_arch(model)
    assert second_card["postprocess"]["gate_threshold"] == first_card["postprocess"]["gate_threshold"]
    gate_weights = {k: v for k, v in first.gate.state_dict().items()}
    assert all(torch.equal(gate_weights[k], v) for k, v in second.gate.state_dict().items())
    assert any(not torch.equal(a, b) for a, b in zip(first.judge.state_dict().values(),
                                                     second.judge.state_dict().values(), strict=True))
    record = second_card["training"]["from_reviews"]
    assert record["base_verifier"]["name"] == "v1"


# --- refusals -----------------------------------------------------------------------------------


def _refused(capsys, argv: list[str], *words: str) -> None:
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rams train: error: ") and "\n" not in err, err
    for word in words:
        assert word in err, err


def test_surveys_that_cannot_train_are_refused_and_nothing_is_written(reviewed, tmp_path, capsys) -> None:
    survey, tif, xy, bright, _ = reviewed
    det = base_models(tmp_path / "models")
    out = tmp_path / "out"
    train = ["train", "--base", str(det), "-o", str(out), "--from-reviews"]
    bare_dir = tmp_path / "bare"
    bare_dir.mkdir()
    bare = survey_of(bare_dir, tif, xy)
    _refused(capsys, [*train, str(survey), str(bare)], "bare/survey.gpkg", "has no reviews")
    few_dir = tmp_path / "few"
    few_dir.mkdir()
    few = survey_of(few_dir, tif, xy[:9])
    review(few, xy[bright])
    _refused(capsys, [*train, str(few)], "few/survey.gpkg", "8 usable decisions", "at least 10")
    one_sided_dir = tmp_path / "one-sided"
    one_sided_dir.mkdir()
    one_sided = survey_of(one_sided_dir, tif, xy[bright])
    store.record(one_sided, [Decision("submunitions", fid, "confirmed", "ana", "2025-05-02T09:00:00.000000Z")
                             for fid in range(1, 13)])
    _refused(capsys, [*train, str(one_sided)], "0 rejected", "at least 2 of each")
    astray_dir = tmp_path / "astray"
    astray_dir.mkdir()
    astray = survey_of(astray_dir, tif, xy + [0.0, 50.0])  # a survey of other ground, naming this flight
    review(astray, xy[bright] + [0.0, 50.0])
    _refused(capsys, [*train, str(astray)], "astray/survey.gpkg", "47 reviewed submunitions lie outside its flight")
    moved = tmp_path / "elsewhere.tif"
    tif.rename(moved)
    _refused(capsys, [*train, str(survey)], "survey.gpkg", "squares.tif", "is not there")
    moved.rename(tif)
    no_verifier = str(tmp_path / "models" / "ctx")
    _refused(capsys, ["train", "--from-reviews", str(survey), "-o", str(out), "--base", no_verifier],
             "names no verifier_model")
    _refused(capsys, ["train", "--from-reviews", str(survey)], "-o DIR")
    _refused(capsys, [*train, str(survey), "--resume"], "--resume", "--config run")
    _refused(capsys, ["train", "--config", "c.yaml", "--base", str(det)], "--base", "--from-reviews")
    with pytest.raises(SystemExit):
        main(["train", "--config", "c.yaml", "--from-reviews", str(survey), "-o", str(out)])
    assert "not allowed with" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob(".out.*"))
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    _refused(capsys, [*train, str(survey)], "exists", "--overwrite")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_the_base_is_the_model_the_surveys_name(reviewed, tmp_path) -> None:
    survey, tif, xy, *_ = reviewed
    named = {}
    for name, model in (("shipped", "rams-det-v2"), ("unrecorded", "")):
        (tmp_path / name).mkdir()
        named[name] = survey_of(tmp_path / name, tif, xy, {"model": model})
        review(named[name], xy[:4])
    shipped, unrecorded = read_reviewed(named["shipped"]), read_reviewed(named["unrecorded"])
    assert base_model([shipped], None) == models_dir() / "rams-det-v2"
    assert base_model([unrecorded, shipped], None) == models_dir() / "rams-det-v2"  # the shipped default
    det = base_models(tmp_path / "models")
    assert base_model([unrecorded, shipped], det) == det  # --base wins
    unknown = read_reviewed(survey)  # made with tiny-det, a folder rams cannot find by its name
    with pytest.raises(RamsError, match="give --base"):
        base_model([unknown], None)
    with pytest.raises(RamsError, match="different models"):
        base_model([unknown, shipped], None)


def test_a_companion_inside_the_model_folder_wins_over_one_beside_it(tmp_path) -> None:
    for folder in (tmp_path / "det" / "ver", tmp_path / "ver"):
        folder.mkdir(parents=True)
        (folder / "card.yaml").write_text("name: x\n")
    assert companion_dir(tmp_path / "det", "ver") == str(tmp_path / "det" / "ver")
    (tmp_path / "det" / "ver" / "card.yaml").unlink()
    assert companion_dir(tmp_path / "det", "ver") == str(tmp_path / "ver")
    assert companion_dir(tmp_path / "det", "rams-ver-v10") == "rams-ver-v10"  # a shipped model, by name
