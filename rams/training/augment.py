"""Batch augmentation for training chips (torch, CPU or GPU).

Geometric (applied to images and targets alike): flips and 90° rotations. Photometric (the RGB
bands only, not an elevation band): brightness, contrast, per-channel colour gain, gaussian
noise; gaussian blur (every band); then re-quantisation to 0-255 integers as a uint8 sensor
would deliver, and JPEG compression of the RGB bands as orthomosaics are often stored. Scale
jitter happens when chips are sampled (:func:`rams.training.data.sample_batch`), where targets
are redrawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from rams.config import FloatRange, IntRange, bounded
from rams.training.jpeg import jpeg_batch


@dataclass(frozen=True)
class AugmentConfig:
    """How strongly chips are augmented (probabilities 0-1; shifts and gains as fractions)."""

    flip: bool = True
    rot90: bool = True
    brightness: float = bounded(0.15, 0.0, 1.0)  # max additive shift, fraction of 255
    contrast: float = bounded(0.25, 0.0, 1.0)  # max relative contrast change
    colour: float = bounded(0.08, 0.0, 1.0)  # max relative per-channel gain change
    blur_p: float = bounded(0.25, 0.0, 1.0)  # probability of a gaussian blur
    blur_sigma_px: FloatRange = bounded((0.4, 1.2), 0.0)  # its sigma, drawn uniformly (px)
    noise_std: float = bounded(5.0, 0.0, 255.0)  # max gaussian noise std, grey levels
    jpeg_p: float = bounded(0.0, 0.0, 1.0)  # probability of JPEG compression of the RGB bands
    jpeg_quality: IntRange = bounded((40, 95), 1, 100)  # its quality, drawn uniformly
    # image px per JPEG px, drawn uniformly: a verifier's patches (2 cm) come from flights of
    # 2-4 cm, whose 8 x 8 px JPEG blocks are 8-16 patch px
    jpeg_scale: FloatRange = bounded((1.0, 1.0), 0.0, low_open=True)


def _geometric(img: torch.Tensor, tgt: torch.Tensor, g: torch.Generator,
               cfg: AugmentConfig) -> tuple[torch.Tensor, torch.Tensor]:
    n = img.shape[0]
    flip = (torch.rand(n, generator=g, device=g.device) < 0.5) if cfg.flip \
        else torch.zeros(n, dtype=torch.bool, device=g.device)
    turns = torch.randint(4, (n,), generator=g, device=g.device) if cfg.rot90 \
        else torch.zeros(n, dtype=torch.long, device=g.device)
    img, tgt = img.clone(), tgt.clone()
    for f in (False, True):  # one batched transform per (flip, turns) group
        for k in range(4):
            idx = torch.nonzero((flip == f) & (turns == k)).flatten().to(img.device)
            if len(idx) == 0 or (not f and k == 0):
                continue
            a, b = img[idx], tgt[idx]
            if f:
                a, b = a.flip(-1), b.flip(-1)
            img[idx], tgt[idx] = torch.rot90(a, k, (-2, -1)), torch.rot90(b, k, (-2, -1))
    return img, tgt


def _blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Separable gaussian blur of each image (N, C, H, W) with its own ``sigma`` (N,) px."""
    rad = max(1, int(round(2.5 * float(sigma.max()))))
    t = torch.arange(-rad, rad + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-(t[None] ** 2) / (2 * sigma[:, None].to(x) ** 2))
    k = k / k.sum(dim=1, keepdim=True)  # (N, 2 rad + 1)
    n, c, h, w = x.shape
    kk = k.repeat_interleave(c, dim=0)  # one kernel per (image, band)
    y = F.conv2d(F.pad(x.reshape(1, n * c, h, w), (rad, rad, 0, 0), mode="reflect"),
                 kk.view(n * c, 1, 1, -1), groups=n * c)
    y = F.conv2d(F.pad(y, (0, 0, rad, rad), mode="reflect"), kk.view(n * c, 1, -1, 1), groups=n * c)
    return y.reshape(n, c, h, w)


def _compress(x: torch.Tensor, g: torch.Generator, cfg: AugmentConfig) -> None:
    """JPEG-compress the RGB bands of some of the 0-255 integer images ``x`` (N, C, H, W) in place,
    on their device (:func:`rams.training.jpeg.jpeg_batch`)."""
    n = x.shape[0]
    pick = torch.nonzero(torch.rand(n, generator=g, device=g.device) < cfg.jpeg_p).flatten()
    if len(pick) == 0:
        return
    r = torch.rand(len(pick), 2, generator=g, device=g.device).to(x.device)
    pick = pick.to(x.device)
    quality = torch.round(cfg.jpeg_quality[0] + r[:, 0] * (cfg.jpeg_quality[1] - cfg.jpeg_quality[0]))
    scale = cfg.jpeg_scale[0] + r[:, 1] * (cfg.jpeg_scale[1] - cfg.jpeg_scale[0])
    x[pick, :3] = jpeg_batch(x[pick, :3], quality, scale)


def augment_batch(img: torch.Tensor, tgt: torch.Tensor, g: torch.Generator,
                  cfg: AugmentConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Augment uint8 images (N,C,H,W) and targets (N,K,H,W); returns float 0-255 images, targets.

    Random numbers come from ``g``, which must be on the images' device (CPU or CUDA).
    """
    img, tgt = _geometric(img, tgt, g, cfg)
    x = img.float()
    n = x.shape[0]
    rgb = x[:, :3]  # a view: the photometric changes below go to the RGB bands only

    def u(*shape: int) -> torch.Tensor:  # uniform in [-1, 1)
        return (torch.rand(*shape, generator=g, device=g.device) * 2 - 1).to(x.device)

    mean = rgb.mean(dim=(1, 2, 3), keepdim=True)
    rgb[:] = (rgb - mean) * (1 + cfg.contrast * u(n, 1, 1, 1)) + mean
    rgb[:] = rgb * (1 + cfg.colour * u(n, 3, 1, 1)) + 255 * cfg.brightness * u(n, 1, 1, 1)
    blur = (torch.rand(n, generator=g, device=g.device) < cfg.blur_p).to(x.device)
    lo, hi = cfg.blur_sigma_px
    sigmas = (lo + (hi - lo) * torch.rand(n, generator=g, device=g.device)).to(x.device)
    if bool(blur.any()):
        x[blur] = _blur(x[blur], sigmas[blur])
    if cfg.noise_std > 0:
        std = cfg.noise_std * (torch.rand(n, 1, 1, 1, generator=g, device=g.device)).to(x.device)
        x[:, :3] += std * torch.randn(rgb.shape, generator=g, device=g.device).to(x.device)
    x = x.clamp(0, 255).round()
    if cfg.jpeg_p > 0:
        _compress(x, g, cfg)
    return x, tgt.contiguous()
