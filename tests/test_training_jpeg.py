"""The batched JPEG of training augmentation against a real JPEG codec (Pillow's libjpeg)."""

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from rams.training.jpeg import codec_round_trip, jpeg_batch, quant_tables


def _patches(n: int = 32, size: int = 32) -> np.ndarray:
    """Ground-like uint8 patches: smooth texture, sensor noise and a bright object with sharp edges."""
    rng = np.random.default_rng(0)
    img = gaussian_filter(rng.normal(0, 1, (n, 3, size, size)), (0, 0, 1.5, 1.5)) * 40 + 120
    img += rng.normal(0, 6, img.shape)
    img[:, :, 10:18, 12:20] += 50
    return np.clip(img, 0, 255).astype(np.uint8)


def test_quality_tables_follow_the_ijg_rule() -> None:
    t = quant_tables(torch.tensor([50.0, 100.0, 10.0]))
    assert t.shape == (3, 2, 8, 8)
    assert t[0, 0, 0, 0] == 16 and t[0, 1, 0, 0] == 17  # quality 50: the standard tables
    assert torch.all(t[1] == 1)  # quality 100: no quantisation beyond rounding
    assert t[2, 0, 0, 0] == 80 and t[2, 0, 7, 7] == 255  # quality 10: five times coarser, capped


@pytest.mark.parametrize("quality", [30, 60, 95])
@pytest.mark.parametrize("scale", [1.0, 1.5, 2.0])
def test_batched_jpeg_matches_a_real_codec(quality: int, scale: float) -> None:
    img = _patches()
    real = np.stack([codec_round_trip(p, quality, scale) for p in img]).astype(float)
    ours = jpeg_batch(torch.from_numpy(img).float(), torch.full((len(img),), float(quality)),
                      torch.full((len(img),), scale)).numpy()
    assert ours.shape == img.shape and np.array_equal(ours, ours.round()) and ours.min() >= 0 and ours.max() <= 255
    err_real, err_ours = np.abs(real - img).mean(), np.abs(ours - img).mean()
    assert err_real > 3  # the codec does change these patches ...
    assert abs(err_ours - err_real) < 0.1 * err_real  # ... and ours by as much
    assert np.abs(ours - real).mean() < 1.6  # and in the same places, within rounding of the codec's own


def test_jpeg_on_the_image_or_a_coarser_grid() -> None:
    rng = np.random.default_rng(0)
    img = np.full((3, 48, 40), 120, np.uint8)  # not whole 16 px units: the edges are padded
    img[:, 10:30, 12:20] = 200  # a bright bar with sharp edges
    img = torch.from_numpy((img + rng.integers(0, 6, img.shape)).astype(np.uint8)).float()[None]

    def err(quality: float, scale: float) -> float:
        out = jpeg_batch(img, torch.tensor([quality]), torch.tensor([scale]))
        assert out.shape == img.shape
        return float((out - img).abs().mean())

    assert err(95, 1.0) < 2 < err(20, 1.0) < err(20, 2.0)  # blocks of 16 image px lose more than blocks of 8


def test_each_image_gets_its_own_quality_and_grid() -> None:
    img = torch.from_numpy(_patches(3)).float()
    out = jpeg_batch(img, torch.tensor([95.0, 20.0, 20.0]), torch.tensor([1.0, 1.0, 2.0]))
    fine, coarse, two = (float((out[k] - img[k]).abs().mean()) for k in range(3))
    assert fine < coarse < two  # blocks of 16 image px lose more than blocks of 8
    alone = jpeg_batch(img[2:], torch.tensor([20.0]), torch.tensor([2.0]))
    assert torch.equal(alone[0], out[2])  # an image's result does not depend on its batch
