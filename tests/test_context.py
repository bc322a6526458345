"""The context scale: block averaging, interpolation back, and the context model in a region."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from detector_fixtures import CARD, make_flight, tiny_model
from rasters import write_tif

from rams.detector.card import save_model
from rams.detector.context import context_factor
from rams.detector.detector import Detector
from rams.errors import RamsError
from rams.flight import open_flight
from rams.inference import predict_region
from rams.reading import read_region
from rams.resample import block_mean, upsample
from rams.tiling import TileGrid
from rams.training.data import load_labelled_flight
from rams.training.detector_trainer import detection_loss


def test_context_factor_rounds_to_the_nearest_block() -> None:
    assert context_factor(0.02, 0.12) == 6
    assert context_factor(0.03, 0.12) == 4
    assert context_factor(0.035, 0.12) == 3
    assert context_factor(0.2, 0.12) == 1


def test_block_mean_exact_and_edge_blocks_repeat_the_edge() -> None:
    img = np.arange(2 * 5 * 6, dtype=np.uint8).reshape(2, 5, 6)
    out = block_mean(img, 2)
    assert out.shape == (2, 3, 3) and out.dtype == np.uint8
    assert out[0, 0, 0] == int(np.mean(img[0, :2, :2]) + 0.5)  # halves round up
    assert out[1, 2, 1] == int(np.mean(img[1, [4, 4], 2:4]) + 0.5)  # last row repeated
    assert block_mean(img, 1) is img


def test_upsample_puts_blocks_back_on_their_pixels() -> None:
    coarse = np.zeros((1, 4, 4), np.float32)
    coarse[0, 1, 2] = 1.0
    full = upsample(coarse, 4, (15, 14))
    assert full.shape == (1, 15, 14)
    r, c = np.unravel_index(np.argmax(full[0]), full[0].shape)
    assert 4 <= r < 8 and 8 <= c < 12
    ramp = np.arange(8, dtype=np.float32)[None, None, :].repeat(8, axis=1)
    up = upsample(ramp, 4, (32, 32))[0, 0, 4:-4]
    np.testing.assert_allclose(up, (np.arange(32)[4:-4] - 1.5) / 4, atol=1e-5)  # block centres


def test_context_flight_is_block_averaged(tmp_path) -> None:
    tif, gpkg = make_flight(tmp_path)  # 256 x 320 px at 3 cm
    fl = load_labelled_flight(tif, gpkg, gsd_m=0.12)
    assert fl.shape == (64, 80) and fl.gsd_m == pytest.approx(0.12)
    assert fl.anchors["position"].max() < 80


def test_loss_ignores_maps_outside_outputs() -> None:
    logits = torch.randn(2, 3, 32, 32, requires_grad=True)
    target = torch.zeros(2, 3, 32, 32)
    target[:, 2, 10, 10] = 1.0
    loss, parts = detection_loss(logits, target, outputs=("submunition",))
    loss.backward()
    assert set(parts) == {"focal"}
    assert logits.grad[:, :2].abs().max() == 0 and logits.grad[:, 2].abs().max() > 0
    _, parts = detection_loss(logits, target, outputs=("trench", "position"))
    assert set(parts) == {"bce", "dice"}


def _pair(tmp_path, context_card: dict) -> Detector:
    save_model(tmp_path / "ctx", tiny_model(), {**CARD, **context_card})
    save_model(tmp_path / "fine", tiny_model(), {**CARD, "outputs": ["submunition"], "context_model": "ctx"})
    return Detector.load(tmp_path / "fine", device="cpu")


def test_detector_loads_its_context_model_beside_it(tmp_path) -> None:
    det = _pair(tmp_path, {"input_gsd_m": 0.12, "outputs": ["trench", "position"]})
    assert det.context is not None and det.context.outputs == ("trench", "position")
    batch = np.random.default_rng(0).integers(0, 256, (2, 3, 64, 64), dtype=np.uint8)
    prob = det.predict(batch)
    assert prob[:, :2].max() == 0 and prob[:, 2].max() > 0
    assert det.context.predict(batch)[:, 2].max() == 0


def test_context_model_without_its_gsd_is_refused(tmp_path) -> None:
    with pytest.raises(RamsError, match="input_gsd_m"):
        _pair(tmp_path, {"outputs": ["trench", "position"]})


class _Echo:
    """Probabilities = the pixels / 255: channel c echoes band c."""

    in_channels = 3

    def __init__(self, card: dict | None = None, outputs: tuple[str, ...] = ()) -> None:
        self.card, self.outputs, self.context = card or {}, outputs, None

    def predict(self, batch: np.ndarray) -> np.ndarray:
        return batch.astype(np.float32) / 255.0


def test_region_takes_context_classes_from_the_coarse_pass(tmp_path) -> None:
    h, w = 256, 512
    data = np.zeros((3, h, w), np.uint8)
    data[0] = (np.arange(w) // 2)[None, :]  # ramps: linear, so block means interpolate back
    data[1] = np.arange(h)[:, None]
    data[2] = 77
    flight = open_flight(write_tif(tmp_path / "ramp.tif", data, gsd_m=0.03))
    fine = _Echo()
    fine.context = _Echo({"input_gsd_m": 0.12, "tile_px": 64, "overlap_px": 16}, ("trench", "position"))
    (region,) = TileGrid(w, h, 128, 32, region_px=1024).regions
    canvas = predict_region(fine, read_region(flight, region), region, gsd_m=flight.gsd_m)
    inner = (slice(8, -8), slice(8, -8))
    np.testing.assert_allclose(canvas[0][inner], data[0][inner] / 255.0, atol=1.6 / 255)
    np.testing.assert_allclose(canvas[1][inner], data[1][inner] / 255.0, atol=1.6 / 255)
    np.testing.assert_allclose(canvas[2], 77 / 255.0, atol=1e-6)  # the fine model's own map
    plain = predict_region(fine, read_region(flight, region), region)  # no GSD: no context pass
    np.testing.assert_allclose(plain[0], data[0] / 255.0, atol=1e-6)


class _PixelMaps(torch.nn.Module):
    """A 'network' whose maps are its input pixels / 255: the maps a test paints into a flight."""

    def __init__(self) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))  # gives the maps a device
        self.head_full = torch.nn.Conv2d(1, 3, 1)  # the head a detector cuts to its card's outputs
        self.kept = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.logit((x.float() / 255).clamp(1e-4, 1 - 1e-4))
        return logits if self.kept is None else logits[:, self.kept]


def test_context_validation_scores_masks_at_the_configured_class_threshold(tmp_path) -> None:
    from dataclasses import replace

    from rams.training.config import TrainConfig
    from rams.training.data import rasterise_targets
    from rams.training.detector_trainer import validate

    fl = load_labelled_flight(*make_flight(tmp_path))
    prob = rasterise_targets(fl.labels, fl.transform, fl.shape) * 0.4  # masks at 0.4 only
    fl = replace(fl, image=np.round(prob * 255).astype(np.uint8))
    model = _PixelMaps()
    cfg = TrainConfig(outputs=("trench", "position"), tile_px=128, overlap_px=32,
                      evaluation={"iou_threshold": 0.5})
    summary, thr = validate(model, [fl], cfg)
    assert set(summary) == {"trench", "position"} and thr == 0.3  # no peak threshold swept
    assert summary["position"]["tp"] == 0  # the shared mask threshold, 0.5
    summary, _ = validate(model, [fl], replace(cfg, postprocess={"position_mask_threshold": 0.35}))
    assert summary["position"]["tp"] == 1 and summary["position"]["fp"] == 0
