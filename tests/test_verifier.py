"""The submunition verifier: patches, labels of mined candidates, re-scoring, loading, training."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import torch
from affine import Affine
from detector_fixtures import CARD, make_flight, tamper, tiny_model
from safetensors.torch import load_file, save_file
from shapely.geometry import Point

from rams.detector.calibration import Platt
from rams.detector.card import WEIGHTS_FILE, save_model
from rams.detector.detector import Detector
from rams.detector.verifier import (
    LitePatchNet,
    PatchEnsemble,
    Verifier,
    build_verifier,
    cascade_probabilities,
    patch_arch,
    patch_probabilities,
    verify_points,
)
from rams.errors import RamsError
from rams.patches import crop_patches, patch_scale
from rams.training.config import load_config
from rams.training.mining import draw_weights, label_candidates, negatives_kept, positive_weights
from rams.training.verifier_trainer import hard_negatives, train_verifier

CRS = "EPSG:32638"
VERIFIER_CARD = {**CARD, "kind": "verifier", "tile_px": 16, "overlap_px": 0,
                 "arch": {"widths": [8, 8, 8, 8], "patch_px": 16},
                 "postprocess": {"candidate_threshold": 0.05, "threshold": 0.6}}


@pytest.mark.parametrize("stem_stride", [1, 2])
def test_patchnet_one_logit_per_patch_uint8_like_float(stem_stride: int) -> None:
    torch.manual_seed(0)
    net = build_verifier({"widths": [8, 8, 8, 8], "stem_stride": stem_stride}).eval()
    x = torch.randint(0, 256, (5, 3, 32, 32), dtype=torch.uint8)
    with torch.inference_mode():
        assert net(x).shape == (5,)
        assert torch.allclose(net(x), net(x.float()), atol=1e-5)
        assert net.stem[0].stride == (stem_stride, stem_stride)


def _nets(n: int) -> list:
    torch.manual_seed(0)
    return [build_verifier({"widths": [8, 8, 8, 8], "stem_stride": 2}).eval() for _ in range(n)]


def test_ensemble_is_the_mean_logit_and_eight_orientations_make_it_turn_invariant() -> None:
    a, b = _nets(2)
    x = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    turned = torch.rot90(x, 1, (-2, -1)).flip(-1)
    with torch.inference_mode():
        assert torch.allclose(PatchEnsemble([a, b], 1)(x), (a(x) + b(x)) / 2, atol=1e-6)
        assert not torch.allclose(a(x), a(turned), rtol=0, atol=2e-5)  # one network alone is not invariant
        full = PatchEnsemble([a, b], 8)
        assert torch.allclose(full(x), full(turned), rtol=0, atol=2e-6)
        four = PatchEnsemble([a], 4)
        assert torch.allclose(four(x), four(torch.rot90(x, 3, (-2, -1))), rtol=0, atol=2e-6)
    with pytest.raises(ValueError, match="orientations"):
        PatchEnsemble([a], 2)


def test_ensemble_card_round_trip_and_cascade(tmp_path) -> None:
    ens = PatchEnsemble(_nets(2), 4).eval()
    patches = np.random.default_rng(0).integers(0, 256, (64, 3, 16, 16), dtype=np.uint8)
    cpu = torch.device("cpu")
    whole = patch_probabilities(ens, patches, cpu)
    first = patch_probabilities(ens.members[0], patches, cpu)
    ranked = np.sort(first)
    prefilter = float(ranked[31] + ranked[32]) / 2  # half the patches pass the first member
    card = {**VERIFIER_CARD, "arch": {**patch_arch(ens), "patch_px": 16},
            "postprocess": {"candidate_threshold": 0.05, "threshold": 0.6, "prefilter_threshold": prefilter}}
    save_model(tmp_path / "ens", ens, card)
    ver = Verifier.load(tmp_path / "ens", device="cpu")  # hash-checked, BatchNorm folded
    assert isinstance(ver.model, PatchEnsemble) and len(ver.model.members) == 2
    assert ver.model.orientations == 4 and ver.prefilter == prefilter
    got = ver.score(patches)
    passed = first >= prefilter
    assert passed.sum() == 32
    assert np.allclose(got[passed], whole[passed], atol=1e-5)  # the whole ensemble
    assert np.allclose(got[~passed], first[~passed], atol=1e-5)  # the first member only
    assert not np.allclose(whole[passed], first[passed], atol=1e-5)
    assert np.allclose(cascade_probabilities(ens, patches, cpu, None), whole)
    with torch.no_grad():
        ens.members[1].head.bias -= 10.0  # a second member that doubts everything
    doubted = patch_probabilities(ens, patches, cpu)
    sure = float(ranked[55] + ranked[56]) / 2  # the first member alone vouches for its top 8
    vouched = cascade_probabilities(ens, patches, cpu, prefilter, sure)
    top = first >= sure
    assert top.sum() == 8 and (doubted < first).all()
    assert np.allclose(vouched[top], first[top], atol=1e-5)
    assert np.allclose(vouched[~top], np.where(passed, doubted, first)[~top], atol=1e-5)


def test_crop_patches_centred_and_edge_padded() -> None:
    img = np.arange(3 * 10 * 12, dtype=np.uint8).reshape(3, 10, 12)
    p = crop_patches(img, np.array([[4.7, 6.2], [0.0, 0.0]]), 4)
    assert p.shape == (2, 3, 4, 4)
    np.testing.assert_array_equal(p[0, :, 2, 2], img[:, 4, 6])  # pixel (4, 6) at the centre
    np.testing.assert_array_equal(p[1, :, 0, 0], img[:, 0, 0])  # beyond the edge: repeated
    np.testing.assert_array_equal(p[0], img[:, 2:6, 4:8])


def test_crop_patches_resampled_to_a_fixed_ground_resolution() -> None:
    img = np.zeros((3, 40, 40), np.uint8)
    img[:, 18:22, 18:22] = 200  # a 4 px object
    coarse = crop_patches(img, np.array([[20.0, 20.0]]), 16, patch_scale(0.02, 0.04))  # 4 cm flight, 2 cm patches
    assert coarse.shape == (1, 3, 16, 16)
    assert 6 <= int((coarse[0, 0] > 100).sum(axis=1).max()) <= 10  # the object is twice as wide
    assert patch_scale(None, 0.04) == 1.0 and patch_scale(0.02, 0.02) == 1.0


def test_label_candidates_visible_hidden_and_far() -> None:
    items = gpd.GeoDataFrame({"visible_fraction": [1.0, 0.0]}, geometry=[Point(0, 0), Point(5, 0)], crs=CRS)
    cands = gpd.GeoDataFrame(geometry=[Point(0.2, 0), Point(5.1, 0), Point(2, 2)], crs=CRS)
    labels, item = label_candidates(cands, items, 0.3)
    assert labels.tolist() == [1, -1, 0] and item.tolist() == [0, 1, -1]


def test_negatives_kept_caps_a_flights_negatives_keeping_the_highest() -> None:
    conf = np.linspace(0.05, 0.5, 100)
    negative = np.ones(100, bool)
    negative[[3, 50]] = False  # positives (or left-out candidates) are never dropped here
    keep = negatives_kept(conf, negative, 10, seed=0)
    assert keep[[3, 50]].all() and (keep & negative).sum() == 10
    assert keep[np.argsort(-conf)[:5]].all()  # the five the heatmap puts highest
    assert negatives_kept(conf, negative, 0, 0).all() and negatives_kept(conf, negative, 500, 0).all()
    assert np.array_equal(keep, negatives_kept(conf, negative, 10, seed=0))


def test_positive_weights_share_draws_evenly_over_length_octaves() -> None:
    # 6 small items (3 px, octave 2-4), 2 large ones (10 px, octave 8-16), 2 of unknown length
    length = torch.tensor([3.0] * 6 + [10.0] * 2 + [float("nan")] * 2)
    w = positive_weights(length)
    shares = [float(w[:6].sum()), float(w[6:8].sum()), float(w[8:].sum())]
    assert shares == pytest.approx([1.0, 1.0, 1.0])
    assert torch.allclose(w[:6], w[0].expand(6)) and float(w[6]) == pytest.approx(3 * float(w[0]))


def test_draw_weights_favour_buried_items_within_their_octave() -> None:
    # four 10 px items, the last two half buried; two 3 px items, one buried
    length = torch.tensor([10.0, 10.0, 10.0, 10.0, 3.0, 3.0])
    visible = torch.tensor([1.0, 1.0, 0.5, 0.4, 1.0, 0.6])
    w = draw_weights(length, visible, True, 3.0)
    assert float(w[2] / w[0]) == pytest.approx(3.0) and float(w[5] / w[4]) == pytest.approx(3.0)
    assert torch.equal(draw_weights(length, visible, True, 1.0), positive_weights(length))
    assert draw_weights(length, visible, False, 2.0).tolist() == [1.0, 1.0, 2.0, 2.0, 1.0, 2.0]


class _Mean(torch.nn.Module):
    """Logit = mean pixel value / 32 - 4: bright patches look like items."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.float().mean(dim=(1, 2, 3)) / 32 - 4


def test_hard_negatives_weighs_a_random_pool_by_the_networks_probability() -> None:
    patches = torch.arange(10, dtype=torch.uint8).mul(25).view(10, 1, 1, 1).expand(10, 3, 4, 4).contiguous()
    negatives = torch.tensor([0, 2, 4, 6, 8])
    pool, weights = hard_negatives(_Mean(), patches, negatives, 3, torch.Generator().manual_seed(0))
    assert len(pool) == 3 and len(set(pool.tolist())) == 3 and set(pool.tolist()) <= set(negatives.tolist())
    expected = torch.sigmoid(pool.float() * 25 / 32 - 4).clamp_min(1e-3)
    assert torch.allclose(weights, expected)
    everything, _ = hard_negatives(_Mean(), patches, negatives, 100, torch.Generator().manual_seed(0))
    assert sorted(everything.tolist()) == negatives.tolist()  # a pool larger than the set is the set


class _Bright:
    """Probability = centre-pixel brightness: keeps the bright candidates."""

    patch_px = 8
    patch_gsd_m = None

    def score(self, patches: np.ndarray) -> np.ndarray:
        return patches[:, 0, 4, 4].astype(np.float32) / 255.0


def test_verify_points_rescores_and_filters() -> None:
    img = np.zeros((3, 20, 20), np.uint8)
    img[:, 5, 5] = 250
    transform = Affine(0.1, 0, 100.0, 0, -0.1, 200.0)
    pts = gpd.GeoDataFrame({"confidence": [0.2, 0.3]},
                           geometry=[Point(100.55, 199.45), Point(101.55, 198.45)], crs=CRS)
    kept = verify_points(pts, img, transform, _Bright(), 0.3)
    assert len(kept) == 1 and kept.confidence.iloc[0] == pytest.approx(250 / 255)  # the verifier decides
    assert kept.geometry.iloc[0].equals(pts.geometry.iloc[0])


def test_verify_points_cuts_from_the_flights_own_pixels_when_given() -> None:
    # a source at the flight's own resolution wins over the averaged grid, for a verifier
    # with a patch GSD; without one the grid's pixels are judged
    img = np.zeros((3, 20, 20), np.uint8)
    transform = Affine(0.1, 0, 100.0, 0, -0.1, 200.0)
    pts = gpd.GeoDataFrame({"confidence": [0.2, 0.3]},
                           geometry=[Point(100.55, 199.45), Point(101.55, 198.45)], crs=CRS)
    asked = []

    def native(xy: np.ndarray, patch_px: int, patch_gsd_m: float) -> np.ndarray:
        asked.append((xy.copy(), patch_px, patch_gsd_m))
        return np.full((len(xy), 3, patch_px, patch_px), 200, np.uint8)

    ver = _Bright()
    ver.patch_gsd_m = 0.05  # finer than the 0.1 m grid: the flight's own pixels hold more
    kept = verify_points(pts, img, transform, ver, 0.3, native)
    assert len(kept) == 2 and np.allclose(kept.confidence, 200 / 255)
    assert asked[0][1:] == (ver.patch_px, 0.05)
    assert np.allclose(asked[0][0], [[100.55, 199.45], [101.55, 198.45]])
    for gsd in (None, 0.1, 0.2):  # the grid's own resolution or coarser: the grid's pixels
        ver.patch_gsd_m = gsd
        assert verify_points(pts, img, transform, ver, 0.3, native).empty and len(asked) == 1


def test_lite_verifier_round_trip_with_its_calibration(tmp_path) -> None:
    torch.manual_seed(0)
    net = LitePatchNet(blocks=2, neck=16).eval()
    arch = {**patch_arch(net), "patch_px": 32, "patch_gsd_m": 0.01}
    assert arch["type"] == "LitePatchNet" and "pretrained" not in arch
    card = {**VERIFIER_CARD, "arch": arch, "calibration": {"slope": 0.5, "intercept": -1.0}}
    save_model(tmp_path / "lite", net, card)
    ver = Verifier.load(tmp_path / "lite", device="cpu")  # hash-checked, BatchNorm folded
    patches = np.random.default_rng(0).integers(0, 256, (16, 3, 32, 32), dtype=np.uint8)
    raw = patch_probabilities(net, patches, torch.device("cpu"))
    assert np.allclose(ver.score(patches), Platt(0.5, -1.0)(raw), atol=1e-5)
    assert ver.patch_gsd_m == 0.01


def test_detector_loads_its_verifier_and_refuses_tampering(tmp_path) -> None:
    torch.manual_seed(0)
    save_model(tmp_path / "ver", build_verifier(VERIFIER_CARD["arch"]), VERIFIER_CARD)
    save_model(tmp_path / "det", tiny_model(), {**CARD, "verifier_model": "ver"})
    det = Detector.load(tmp_path / "det", device="cpu")
    assert det.verifier is not None and det.verifier.patch_px == 16
    assert det.verifier.score(np.zeros((3, 3, 16, 16), np.uint8)).shape == (3,)
    tamper(tmp_path / "ver" / WEIGHTS_FILE)
    with pytest.raises(RamsError, match="sha256"):
        Detector.load(tmp_path / "det")
    assert Detector.load(tmp_path / "det", with_verifier=False).verifier is None  # candidates only


def test_tiny_verifier_training_writes_a_loadable_verifier(tmp_path) -> None:
    make_flight(tmp_path)
    save_model(tmp_path / "heat", tiny_model(), CARD)
    cfg = tmp_path / "v.yaml"
    cfg.write_text(
        "name: tiny-ver\nkind: verifier\ncandidates_from: heat\ncandidate_threshold: 0.01\npatch_px: 16\n"
        "train: {flights: [{tif: hand.tif, labels: hand.labels.gpkg}]}\n"
        "val: {flights: [{tif: hand.tif, labels: hand.labels.gpkg}]}\n"
        "batch_size: 8\nepochs: 2\nsteps_per_epoch: 2\nwarmup_steps: 1\ntile_px: 128\noverlap_px: 32\n"
        "arch: {widths: [8, 8, 8, 8]}\nthreads: 1\nbalance_sizes: true\n"
    )
    model_dir = train_verifier(load_config(cfg), tmp_path / "run")
    card = Detector.load(tmp_path / "heat").card  # the source is untouched
    assert card["name"] == "t"
    save_model(tmp_path / "det", tiny_model(), {**CARD, "verifier_model": str(model_dir)})
    ver = Detector.load(tmp_path / "det", device="cpu").verifier
    assert ver.card["kind"] == "verifier" and 0.0 < ver.card["postprocess"]["raw_threshold"] < 1.0
    assert 0.0 < ver.card["postprocess"]["threshold"] <= 1.0  # the same threshold, calibrated
    assert set(ver.card["calibration"]) == {"slope", "intercept"}  # fitted on the validation candidates
    assert 0 <= ver.card["metrics"]["validation_calibration"]["expected_calibration_error"] <= 1
    mined = load_file(str(tmp_path / "run" / "candidates.safetensors"))
    positive = mined["labels"] > 0.5
    assert positive.any() and (mined["length_px"][positive] > 0).all() and (mined["length_px"][~positive] == 0).all()
    fraction = mined["visible_fraction"]  # each positive's item's, 1 for negatives; the sixth item is half buried
    assert set(fraction[positive].tolist()) == {1.0, 0.5} and (fraction[~positive] == 1).all()
    assert ver.card["training"]["balance_sizes"] is True
    real_only = tmp_path / "v4.yaml"  # calibration on real ground needs a real-ground validation flight
    real_only.write_text(cfg.read_text() + "calibrate_on: real_ground\n")
    with pytest.raises(RamsError, match="no validation flight is a real-ground composite"):
        train_verifier(load_config(real_only), tmp_path / "run", resume=True)
    cfg3 = tmp_path / "v3.yaml"  # resumed: the mined candidates and the finished epochs are kept
    cfg3.write_text(cfg.read_text().replace("epochs: 2", "epochs: 3"))
    train_verifier(load_config(cfg3), tmp_path / "run", resume=True)
    history = json.loads((tmp_path / "run" / "state.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    ens_cfg = tmp_path / "v5.yaml"  # a second network trained beside the first, on rendered objects too
    ens_cfg.write_text(cfg.read_text().replace("name: tiny-ver", "name: tiny-ens") + (
        f"init_from: {model_dir}\nensemble_with: {model_dir}\norientations: 4\nprefilter_threshold: 0.3\n"
        "object_scenes: 1\nobject_first_seed: 1\nmin_positive_px: 5\nhard_negative_share: 0.5\n"
        "hard_negative_pool: 16\nburied_weight: 3\n"))
    ens_dir = train_verifier(load_config(ens_cfg), tmp_path / "ens")
    ens = Verifier.load(ens_dir, device="cpu")
    assert isinstance(ens.model, PatchEnsemble) and ens.card["arch"]["type"] == "PatchEnsemble"
    assert len(ens.card["arch"]["members"]) == 2 and ens.card["postprocess"]["prefilter_threshold"] == 0.3
    assert ens.card["training"]["object_scenes"] == 1 and ens.card["training"]["ensemble_with"] == str(model_dir)
    assert ens.card["training"]["hard_negative_share"] == 0.5 and ens.card["training"]["buried_weight"] == 3
    first, trained = load_file(str(model_dir / WEIGHTS_FILE)), load_file(str(ens_dir / WEIGHTS_FILE))
    assert all(torch.equal(trained[f"members.0.{k}"], v) for k, v in first.items())  # frozen
    assert not all(torch.equal(trained[f"members.1.{k}"], v) for k, v in first.items() if v.is_floating_point())
    rendered = load_file(str(tmp_path / "ens" / "objects.safetensors"))
    assert len(rendered["labels"]) > 10 and rendered["patches"].shape[1:] == (3, 16, 16)
    join_cfg = tmp_path / "v7.yaml"  # epochs 0: a trained network joins the ensemble untrained
    join_text = ens_cfg.read_text().replace("name: tiny-ens", "name: tiny-join").replace("epochs: 2", "epochs: 0")
    join_cfg.write_text(join_text.replace(f"ensemble_with: {model_dir}", f"ensemble_with: {ens_dir}"))
    join_dir = train_verifier(load_config(join_cfg), tmp_path / "join")
    joined = load_file(str(join_dir / WEIGHTS_FILE))
    assert set(joined) == {f"members.{i}.{k}" for i in range(3) for k in first}
    assert all(torch.equal(joined[f"members.{i}.{k}"], trained[f"members.{i}.{k}"]) for i in (0, 1) for k in first)
    assert all(torch.equal(joined[f"members.2.{k}"], v) for k, v in first.items())
    assert not (tmp_path / "join" / "candidates.safetensors").exists()  # nothing mined
    assert Verifier.load(join_dir, device="cpu").card["training"]["epoch"] == 0
    pick_cfg = tmp_path / "v8.yaml"  # init_member: one network of an ensemble, here joined untrained
    pick_cfg.write_text(join_cfg.read_text().replace(f"init_from: {model_dir}", f"init_from: {ens_dir}")
                        .replace(f"ensemble_with: {ens_dir}", f"ensemble_with: {model_dir}") + "init_member: 1\n")
    picked = load_file(str(train_verifier(load_config(pick_cfg), tmp_path / "pick") / WEIGHTS_FILE))
    assert all(torch.equal(picked[f"members.1.{k}"], trained[f"members.1.{k}"]) for k in first)
    assert Verifier.load(tmp_path / "pick" / "model", device="cpu").card["training"]["init_member"] == 1
    with pytest.raises(RamsError, match="init_member must pick one of its 2 networks"):
        pick_cfg.write_text(pick_cfg.read_text().replace("init_member: 1", "init_member: 2"))
        train_verifier(load_config(pick_cfg), tmp_path / "pick2")
    old = {k: v for k, v in rendered.items() if k != "visible_fraction"}  # a cache from before visibility
    save_file(old, str(tmp_path / "ens" / "objects.safetensors"))
    with pytest.raises(RamsError, match="objects.safetensors.*buried_weight needs"):
        train_verifier(load_config(ens_cfg), tmp_path / "ens")
    with pytest.raises(RamsError, match="buried_weight: must be > 0"):
        pick_cfg.write_text(cfg.read_text() + "buried_weight: 0\n")
        load_config(pick_cfg)
    with pytest.raises(RamsError, match="init_member: picks"):
        pick_cfg.write_text(cfg.read_text() + "init_member: 1\n")  # nothing to pick from
        load_config(pick_cfg)
    with pytest.raises(RamsError, match="epochs: 0"):
        join_cfg.write_text(join_text.replace(f"ensemble_with: {model_dir}\n", ""))
        load_config(join_cfg)
    with pytest.raises(RamsError, match="candidates_from"):
        cfg.write_text(cfg.read_text().replace("candidates_from: heat\n", ""))
        load_config(cfg)
    with pytest.raises(RamsError, match="orientations"):
        ens_cfg.write_text(ens_cfg.read_text().replace("orientations: 4", "orientations: 3"))
        load_config(ens_cfg)
    with pytest.raises(RamsError, match="both train and val"):  # rendered scenes are training seeds too
        ens_cfg.write_text(ens_cfg.read_text().replace("orientations: 3", "orientations: 4").replace(
            "val: {flights: [{tif: hand.tif, labels: hand.labels.gpkg}]}", "val: {synth: {seeds: [1]}}"))
        load_config(ens_cfg)
