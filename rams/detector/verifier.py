"""A second look at submunition candidates: a patch classifier run on the heatmap's peaks.

The full-resolution network ranks nearly every submunition among its heatmap peaks, but cans,
bottles and stones of the same size share those ranks. Candidates are therefore taken at a low
heatmap threshold (``candidate_threshold`` in the verifier's card) and each is judged again on a
``patch_px`` patch centred on it by :class:`PatchNet`. A point's confidence becomes the geometric
mean of its heatmap peak and the verifier's probability (two views of different extent; on the
validation flights the mean separates better than either alone), and the points at or above the
card's ``threshold`` are kept.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
import torch
from affine import Affine
from torch import nn

from rams.detector.card import load_into, read_card, resolve_model_dir
from rams.detector.model import SeparableBlock, UInt8Net, _conv_bn, arch_arguments


class PatchNet(UInt8Net):
    """uint8 patches (N, C, P, P) -> one logit each: is a submunition centred here?

    A full-resolution convolution, separable stages at strides 2, 4 and 8 px, global average and
    max pooling, a linear layer. Normalisation happens inside the model.
    """

    def __init__(self, in_channels: int = 3, widths: Sequence[int] = (16, 32, 48, 64),
                 mean: Sequence[float] = (127.5, 127.5, 127.5),
                 std: Sequence[float] = (64.0, 64.0, 64.0)) -> None:
        super().__init__(in_channels, mean, std)
        w = list(widths)
        self.widths = tuple(w)
        self.stem = _conv_bn(in_channels, w[0], 3)
        self.stages = nn.Sequential(*[
            nn.Sequential(SeparableBlock(w[i], w[i + 1], 2), SeparableBlock(w[i + 1], w[i + 1]))
            for i in range(len(w) - 1)
        ])
        self.head = nn.Linear(2 * w[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.stages(self.stem(self.normalise(x)))
        pooled = torch.cat([y.mean(dim=(2, 3)), y.amax(dim=(2, 3))], dim=1)
        return self.head(pooled)[:, 0]


def build_verifier(arch: dict | None = None) -> PatchNet:
    """The network described by a verifier card's ``arch`` entry (defaults when None)."""
    return PatchNet(**arch_arguments(arch, (16, 32, 48, 64)))


def crop_patches(image: np.ndarray, rc: np.ndarray, patch_px: int) -> np.ndarray:
    """uint8 patches (K, C, P, P) centred on pixel positions ``rc`` (K, 2) (row, col) of a uint8
    image (C, H, W); beyond the image the edge pixels are repeated."""
    half = patch_px // 2
    padded = np.pad(image, ((0, 0), (half, half), (half, half)), mode="edge")
    r = np.clip(np.floor(rc[:, 0]).astype(int), 0, image.shape[1] - 1)
    c = np.clip(np.floor(rc[:, 1]).astype(int), 0, image.shape[2] - 1)
    out = np.empty((len(rc), image.shape[0], patch_px, patch_px), np.uint8)
    for i, (ri, ci) in enumerate(zip(r, c, strict=True)):
        out[i] = padded[:, ri:ri + patch_px, ci:ci + patch_px]
    return out


class Verifier:
    """A loaded, hash-checked :class:`PatchNet` with its card (``patch_px``, thresholds)."""

    def __init__(self, model: PatchNet, card: dict[str, Any], device: str | None = None) -> None:
        self.card = card
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = model.eval().to(self.device)
        self.patch_px = int(card["arch"]["patch_px"])

    @classmethod
    def load(cls, name_or_dir: str | os.PathLike[str], device: str | None = None) -> Verifier:
        """Load a verifier folder (or name under ``models/``), refusing tampered weights."""
        model_dir = resolve_model_dir(name_or_dir)
        card = read_card(model_dir)
        return cls(load_into(build_verifier(card["arch"]), model_dir, card), card, device)

    def score(self, patches: np.ndarray) -> np.ndarray:
        """Probabilities (K,) float32 for uint8 patches (K, C, P, P)."""
        return patch_probabilities(self.model, patches, self.device)


def patch_probabilities(model: PatchNet, patches: np.ndarray, device: torch.device,
                        batch: int = 512) -> np.ndarray:
    """Probabilities (K,) float32 of ``model`` (in eval mode) for uint8 patches (K, C, P, P)."""
    out = []
    with torch.inference_mode():
        for k in range(0, len(patches), batch):
            x = torch.from_numpy(np.ascontiguousarray(patches[k:k + batch])).to(device)
            out.append(torch.sigmoid(model(x)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def pixel_positions(transform: Affine, points: gpd.GeoSeries) -> np.ndarray:
    """Fractional (row, col) (K, 2) of points on the pixel grid of ``transform``."""
    xy = points.to_numpy()
    cols, rows = ~transform * (shapely.get_x(xy), shapely.get_y(xy))
    return np.column_stack([rows, cols]).reshape(-1, 2)


def verified_confidence(peak: np.ndarray, probability: np.ndarray) -> np.ndarray:
    """A candidate's confidence (0-1): geometric mean of its heatmap peak and verifier probability."""
    return np.sqrt(np.asarray(peak, np.float64) * np.asarray(probability, np.float64))


def verify_points(points: gpd.GeoDataFrame, image: np.ndarray, transform: Affine,
                  verifier: Verifier, threshold: float) -> gpd.GeoDataFrame:
    """Candidates (``confidence`` = heatmap peak) re-scored on their patches of ``image`` (uint8
    (C, H, W) on ``transform``) by :func:`verified_confidence`; points below ``threshold`` go."""
    # sqrt(peak * p) <= sqrt(peak): a peak under threshold**2 cannot pass, so it is not scored
    points = points[points["confidence"].to_numpy(float) >= threshold**2]
    if len(points) == 0:
        return points.reset_index(drop=True)
    prob = verifier.score(crop_patches(image, pixel_positions(transform, points.geometry), verifier.patch_px))
    scored = points.assign(confidence=verified_confidence(points["confidence"].to_numpy(), prob))
    return scored[scored["confidence"] >= threshold].reset_index(drop=True)
