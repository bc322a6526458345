"""A second look at submunition candidates: a patch classifier run on the heatmap's peaks.

The full-resolution network ranks nearly every submunition among its heatmap peaks, but cans,
bottles and stones of the same size share those ranks. Candidates are therefore taken at a low
heatmap threshold (``candidate_threshold`` in the verifier's card), where the heatmap still finds
nearly every item, and each is judged again on a ``patch_px`` patch centred on it by
:class:`PatchNet`. With ``patch_gsd_m`` in the card the patch is resampled to that many metres
per pixel, so that an object has the same size in patch pixels at every flight GSD (a 12 cm can at
2 cm and a 26 cm submunition at 4 cm are both 6 px in the flight, but not in the patches). The
verifier's probability becomes the point's confidence, and the points at or above the card's
``threshold`` are kept: the heatmap only proposes, the verifier decides.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
import torch
from affine import Affine
from torch import nn

from rams.detector.backbone import Lite0Features, lite0_features
from rams.detector.calibration import Platt
from rams.detector.card import load_model
from rams.detector.model import (
    ORIENTATIONS,
    SeparableBlock,
    UInt8Net,
    _conv_bn,
    arch_arguments,
    fuse_batchnorm,
    on_device,
    turned,
)
from rams.patches import crop_patches, patch_scale


class PatchNet(UInt8Net):
    """uint8 patches (N, C, P, P) -> one logit each: is a submunition centred here?

    A 3x3 convolution over every pixel (output at ``stem_stride`` px), separable stages that halve
    the resolution each, global average and max pooling, a linear layer. Normalisation happens
    inside the model. A stride-2 stem costs a quarter of a stride-1 one and still sees every pixel.
    """

    def __init__(self, in_channels: int = 3, widths: Sequence[int] = (16, 32, 48, 64),
                 mean: Sequence[float] = (127.5, 127.5, 127.5),
                 std: Sequence[float] = (64.0, 64.0, 64.0), stem_stride: int = 1) -> None:
        super().__init__(in_channels, mean, std)
        w = list(widths)
        self.widths = tuple(w)
        self.stem_stride = stem_stride
        self.stem = _conv_bn(in_channels, w[0], 3, stem_stride)
        self.stages = nn.Sequential(*[
            nn.Sequential(SeparableBlock(w[i], w[i + 1], 2), SeparableBlock(w[i + 1], w[i + 1]))
            for i in range(len(w) - 1)
        ])
        self.head = nn.Linear(2 * w[-1], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.stages(self.stem(self.normalise(x)))
        pooled = torch.cat([y.mean(dim=(2, 3)), y.amax(dim=(2, 3))], dim=1)
        return self.head(pooled)[:, 0]


class LitePatchNet(UInt8Net):
    """uint8 patches (N, 3, P, P) -> one logit each, on ImageNet-pretrained features: the stages
    of EfficientNet-Lite0 down to 1/8 of the patch (:class:`rams.detector.backbone.Lite0Features`,
    ``blocks`` of its blocks), one separable stage to 1/16 of ``neck`` channels, global average and
    max pooling, a linear layer. ``pretrained`` copies the ImageNet weights into the features (only
    when training starts: a saved verifier carries its own weights)."""

    def __init__(self, blocks: int = 5, neck: int = 96, mean: Sequence[float] = (127.0, 127.0, 127.0),
                 std: Sequence[float] = (128.0, 128.0, 128.0), pretrained: bool = False) -> None:
        super().__init__(3, mean, std)
        self.blocks, self.neck_width = blocks, neck
        self.features = lite0_features(blocks, pretrained=True) if pretrained else Lite0Features(blocks)
        self.neck = SeparableBlock(self.features.out_channels, neck, 2)
        self.head = nn.Linear(2 * neck, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.neck(self.features(self.normalise(x)))
        pooled = torch.cat([y.mean(dim=(2, 3)), y.amax(dim=(2, 3))], dim=1)
        return self.head(pooled)[:, 0]


Member = PatchNet | LitePatchNet


class PatchEnsemble(nn.Module):
    """Several :class:`PatchNet` members judging each patch in several ``orientations``: the
    mean of their logits. Orientations are 1, 4 (the quarter turns) or 8 (and their mirror
    images): a submunition lying on the ground has no preferred orientation, so each turn is one
    more look at the same evidence. ``members[0]`` alone serves as the cheap first pass of a
    cascade (:func:`cascade_probabilities`)."""

    def __init__(self, members: Sequence[Member], orientations: int = 1) -> None:
        super().__init__()
        if orientations not in ORIENTATIONS:
            raise ValueError(f"orientations must be 1, 4 or 8, not {orientations}")
        self.members = nn.ModuleList(members)
        self.orientations = orientations

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        total = torch.zeros(x.shape[0], device=x.device)
        for k in range(self.orientations):
            look = turned(x, k)
            for member in self.members:
                total = total + member(look).float()
        return total / (self.orientations * len(self.members))


class GatedVerifier(nn.Module):
    """A verifier fine-tuned on reviews (rams.training.from_reviews): its base verifier,
    unchanged, as the ``gate`` that decides which candidates are judged at all (those its own
    cascade puts at or above the card's ``gate_threshold``: what people could have been shown),
    and the fine-tuned ``judge``, whose logits are this verifier's (see :func:`gated_probabilities`)."""

    def __init__(self, gate: Member | PatchEnsemble, judge: Member | PatchEnsemble) -> None:
        super().__init__()
        self.gate = gate
        self.judge = judge

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.judge(x)


def _patch_net(arch: dict) -> Member:
    if arch.get("type") == "LitePatchNet":
        return LitePatchNet(int(arch.get("blocks", 5)), int(arch.get("neck", 96)),
                            tuple(arch.get("mean", (127.0,) * 3)), tuple(arch.get("std", (128.0,) * 3)),
                            bool(arch.get("pretrained", False)))
    return PatchNet(**arch_arguments(arch, (16, 32, 48, 64)), stem_stride=int(arch.get("stem_stride", 1)))


def build_verifier(arch: dict | None = None) -> Member | PatchEnsemble | GatedVerifier:
    """The network described by a verifier card's ``arch`` entry (defaults when None): a
    :class:`PatchNet`, a :class:`PatchEnsemble` when ``arch`` lists ``members``, a
    :class:`GatedVerifier` when its type says so."""
    arch = arch or {}
    if arch.get("type") == "GatedVerifier":
        return GatedVerifier(build_verifier(arch["gate"]), build_verifier(arch["judge"]))
    if "members" in arch:
        return PatchEnsemble([_patch_net(m) for m in arch["members"]], int(arch.get("orientations", 1)))
    return _patch_net(arch)


def patch_arch(model: Member | PatchEnsemble | GatedVerifier) -> dict[str, Any]:
    """The card's ``arch`` entry of a verifier network (without the patch size and GSD)."""
    if isinstance(model, GatedVerifier):
        return {"type": "GatedVerifier", "gate": patch_arch(model.gate), "judge": patch_arch(model.judge)}
    if isinstance(model, PatchEnsemble):
        return {"type": "PatchEnsemble", "orientations": model.orientations,
                "members": [patch_arch(m) for m in model.members]}
    if isinstance(model, LitePatchNet):
        return {"type": "LitePatchNet", "blocks": model.blocks, "neck": model.neck_width,
                "mean": model.mean.flatten().tolist(), "std": model.std.flatten().tolist()}
    return {"type": "PatchNet", "in_channels": model.in_channels, "widths": list(model.widths),
            "mean": model.mean.flatten().tolist(), "std": model.std.flatten().tolist(),
            "stem_stride": model.stem_stride}


class Verifier:
    """A loaded, hash-checked verifier network with its card (``patch_px``, thresholds)."""

    def __init__(self, model: Member | PatchEnsemble | GatedVerifier, card: dict[str, Any],
                 device: str | None = None) -> None:
        self.card = card
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.model = on_device(model.eval(), self.device)
        self.patch_px = int(card["arch"]["patch_px"])
        self.patch_gsd_m = card["arch"].get("patch_gsd_m")
        self.prefilter = card.get("postprocess", {}).get("prefilter_threshold")
        self.first_sure = card.get("postprocess", {}).get("first_sure_threshold")
        self.calibration = Platt.from_card(card.get("calibration"))

    @classmethod
    def load(cls, name_or_dir: str | os.PathLike[str], device: str | None = None) -> Verifier:
        """Load a verifier folder (or name under ``models/``), refusing tampered weights."""
        model, _, card = load_model(name_or_dir, build_verifier)
        return cls(fuse_batchnorm(model), card, device)

    def score(self, patches: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (K,) float32 for uint8 patches (K, C, P, P) (see
        :mod:`rams.detector.calibration`; the identity for a card without ``calibration``)."""
        if isinstance(self.model, GatedVerifier):
            raw = gated_probabilities(self.model, patches, self.device, self.card["postprocess"])
        else:
            raw = cascade_probabilities(self.model, patches, self.device, self.prefilter, self.first_sure)
        return self.calibration(raw).astype(np.float32)


def patch_probabilities(model: nn.Module, patches: np.ndarray, device: torch.device,
                        batch: int = 512) -> np.ndarray:
    """Probabilities (K,) float32 of ``model`` (in eval mode) for uint8 patches (K, C, P, P)."""
    out = []
    with torch.inference_mode():
        for k in range(0, len(patches), batch):
            x = torch.from_numpy(np.ascontiguousarray(patches[k:k + batch])).to(device)
            out.append(torch.sigmoid(model(x)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def cascade_probabilities(model: Member | PatchEnsemble, patches: np.ndarray, device: torch.device,
                          prefilter: float | None = None, first_sure: float | None = None) -> np.ndarray:
    """Probabilities (K,) of a verifier; with a ``prefilter`` an ensemble's first member scores
    every patch once, and only the patches it puts at or above ``prefilter`` get the whole
    ensemble's judgement (the others keep the first member's probability, below ``prefilter``).
    With ``first_sure``, a patch the first member puts at or above it keeps the higher of its
    probability and the ensemble's: the first member alone vouches for it."""
    if prefilter is None or not isinstance(model, PatchEnsemble):
        return patch_probabilities(model, patches, device)
    first = patch_probabilities(model.members[0], patches, device)
    prob = first.copy()
    keep = np.flatnonzero(first >= prefilter)
    prob[keep] = patch_probabilities(model, patches[keep], device)
    if first_sure is not None:
        prob = np.where(first >= first_sure, np.maximum(prob, first), prob)
    return prob


def gated_probabilities(model: GatedVerifier, patches: np.ndarray, device: torch.device,
                        post: dict[str, Any]) -> np.ndarray:
    """Raw probabilities (K,) of a :class:`GatedVerifier` whose card's post-processing is
    ``post``: its judge's for the patches its gate (with the base's cascade,
    ``gate_prefilter_threshold`` and ``gate_first_sure_threshold``) puts at or above
    ``gate_threshold``, 0 for the others."""
    gate = cascade_probabilities(model.gate, patches, device, post.get("gate_prefilter_threshold"),
                                 post.get("gate_first_sure_threshold"))
    prob = np.zeros(len(patches), np.float32)
    through = np.flatnonzero(gate >= float(post["gate_threshold"]))
    prob[through] = patch_probabilities(model.judge, patches[through], device)
    return prob


def pixel_positions(transform: Affine, points: gpd.GeoSeries) -> np.ndarray:
    """Fractional (row, col) (K, 2) of points on the pixel grid of ``transform``."""
    xy = points.to_numpy()
    cols, rows = ~transform @ (shapely.get_x(xy), shapely.get_y(xy))
    return np.column_stack([rows, cols]).reshape(-1, 2)


#: Cuts verifier patches from a flight's own pixels: (map points (K, 2) in metres, patch px,
#: patch GSD in metres) -> uint8 (K, 3, P, P); see :meth:`rams.flight.Flight.native_patches`.
PatchSource = Callable[[np.ndarray, int, float], np.ndarray]


def verify_points(points: gpd.GeoDataFrame, image: np.ndarray, transform: Affine,
                  verifier: Verifier, threshold: float, native: PatchSource | None = None
                  ) -> gpd.GeoDataFrame:
    """Candidates re-scored on their patches: ``confidence`` becomes the verifier's probability;
    points below ``threshold`` go. Patches are cut from ``image`` (uint8 (C, H, W) on
    ``transform``), or from ``native`` (the flight's own pixels, finer than ``image``) when the
    verifier's patch GSD is finer than ``image``'s: only there do the flight's own pixels hold
    more than the grid, and each native patch is a read of the file."""
    if len(points) == 0:
        return points.reset_index(drop=True)
    if native is not None and verifier.patch_gsd_m and verifier.patch_gsd_m < abs(transform.a) * 0.999:
        xy = np.column_stack([points.geometry.x.to_numpy(), points.geometry.y.to_numpy()])
        patches = native(xy, verifier.patch_px, float(verifier.patch_gsd_m))
    else:
        scale = patch_scale(verifier.patch_gsd_m, abs(transform.a))
        patches = crop_patches(image, pixel_positions(transform, points.geometry), verifier.patch_px, scale)
    scored = points.assign(confidence=verifier.score(patches).astype(np.float64))
    return scored[scored["confidence"] >= threshold].reset_index(drop=True)
