"""RamsNet forward contract, Detector load/predict and the sha256 check."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from detector_fixtures import CARD, tamper, tiny_model

from rams.detector.card import WEIGHTS_FILE, read_card, save_model
from rams.detector.detector import Detector
from rams.detector.model import fuse_batchnorm, keep_maps
from rams.errors import RamsError


def test_forward_shapes_and_dtypes() -> None:
    x = torch.randint(0, 256, (2, 3, 64, 96), dtype=torch.uint8)
    with torch.inference_mode():
        y = tiny_model()(x)
    assert y.shape == (2, 3, 64, 96)
    assert y.dtype == torch.float32


def test_uint8_input_equals_float_normalised_outside() -> None:
    model = tiny_model()
    x = torch.randint(0, 256, (1, 3, 64, 64), dtype=torch.uint8)
    z = (x.float() - model.mean) / model.std
    with torch.inference_mode():
        assert torch.allclose(model(x), model.forward_normalised(z), atol=1e-5)
        assert torch.allclose(model(x), model(x.float()), atol=1e-5)


def test_fused_batchnorm_matches() -> None:
    model = tiny_model()
    for m in model.modules():  # non-trivial running statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    x = torch.randint(0, 256, (1, 3, 64, 64), dtype=torch.uint8)
    with torch.inference_mode():
        ref = model(x)
        assert torch.allclose(fuse_batchnorm(model)(x), ref, atol=1e-4)


def test_cut_head_returns_the_kept_maps_unchanged() -> None:
    model = tiny_model()
    x = torch.randint(0, 256, (1, 3, 64, 64), dtype=torch.uint8)
    with torch.inference_mode():
        ref = model(x)
        cut = keep_maps(model, [2, 0])(x)
    assert cut.shape == (1, 2, 64, 64)
    assert torch.allclose(cut, ref[:, [2, 0]], atol=1e-6)
    with pytest.raises(ValueError, match="already cut"):
        keep_maps(model, [0])


def test_detector_computes_only_the_cards_outputs_on_the_cpu_layout() -> None:
    """A card listing one output gets that map as the whole model computes it (the CPU's
    channels-last layout sums in another order: equal to float32 rounding) and zeros elsewhere."""
    batch = np.random.default_rng(1).integers(0, 256, (2, 3, 64, 64), dtype=np.uint8)
    with torch.inference_mode():
        ref = torch.sigmoid(fuse_batchnorm(tiny_model())(torch.from_numpy(batch))).numpy()
    det = Detector(tiny_model(), {**CARD, "outputs": ["submunition"]}, device="cpu")
    prob = det.predict(batch)
    assert det.model.head_full.out_channels == 1
    np.testing.assert_allclose(prob[:, 2], ref[:, 2], atol=1e-5)
    assert not prob[:, :2].any()


def test_save_load_predict(tmp_path) -> None:
    card = save_model(tmp_path / "m", tiny_model(), CARD)
    assert read_card(tmp_path / "m")["sha256"] == card["sha256"]
    det = Detector.load(tmp_path / "m", device="cpu")
    batch = np.random.default_rng(0).integers(0, 256, (3, 3, 50, 70), dtype=np.uint8)
    prob = det.predict(batch)
    assert prob.shape == (3, 3, 50, 70) and prob.dtype == np.float32
    assert 0.0 <= prob.min() and prob.max() <= 1.0
    with pytest.raises(RamsError):
        det.predict(batch.astype(np.float32))


def test_load_by_name_from_models_dir(tmp_path, monkeypatch) -> None:
    save_model(tmp_path / "named", tiny_model(), CARD)
    monkeypatch.setenv("RAMS_MODELS_DIR", str(tmp_path))
    assert Detector.load("named", device="cpu").card["name"] == "t"
    with pytest.raises(RamsError, match="no model"):
        Detector.load("absent")


def test_load_refuses_tampered_weights(tmp_path) -> None:
    save_model(tmp_path / "m", tiny_model(), CARD)
    tamper(tmp_path / "m" / WEIGHTS_FILE)
    with pytest.raises(RamsError, match="sha256"):
        Detector.load(tmp_path / "m")


def test_orientations_average_the_turned_looks_and_make_the_maps_turn_with_the_image(tmp_path) -> None:
    save_model(tmp_path / "one", tiny_model(), CARD)
    save_model(tmp_path / "eight", tiny_model(), {**CARD, "orientations": 8})
    one, eight = Detector.load(tmp_path / "one", device="cpu"), Detector.load(tmp_path / "eight", device="cpu")
    batch = np.random.default_rng(1).integers(0, 256, (2, 3, 64, 96), dtype=np.uint8)
    looks = [np.rot90(one.predict(np.ascontiguousarray(np.rot90(b, k, (2, 3)))), -k, (2, 3))
             for b in (batch, batch[..., ::-1]) for k in range(4)]
    looks[4:] = [p[..., ::-1] for p in looks[4:]]
    prob = eight.predict(batch)
    assert np.allclose(prob, np.mean(looks, axis=0), atol=1e-5)
    assert not np.allclose(prob, looks[0], atol=1e-3)  # the turns do see different things
    turned_back = np.rot90(eight.predict(np.ascontiguousarray(np.rot90(batch, 1, (2, 3)))), -1, (2, 3))
    assert np.allclose(turned_back, prob, atol=1e-5)
    assert eight.predict(batch[..., :50, :70]).shape == (2, 3, 50, 70)  # padded to 32 px, cropped back


def test_load_refuses_an_unknown_number_of_orientations(tmp_path) -> None:
    with pytest.raises(RamsError, match=r"card\.yaml: orientations: must be 1, 4 or 8"):
        save_model(tmp_path / "m", tiny_model(), {**CARD, "orientations": 3})  # never written
    save_model(tmp_path / "m", tiny_model(), {**CARD, "orientations": 4})
    card = tmp_path / "m" / "card.yaml"
    card.write_text(card.read_text().replace("orientations: 4", "orientations: 3"))
    with pytest.raises(RamsError, match=r"card\.yaml: orientations: must be 1, 4 or 8"):
        Detector.load(tmp_path / "m")
