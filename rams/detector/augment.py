"""Batch augmentation for training chips (torch, CPU or GPU).

Geometric (applied to images and targets alike): flips and 90° rotations. Photometric (images
only): brightness, contrast, per-channel colour gain, gaussian blur, gaussian noise, then
re-quantisation to 0-255 integers as a uint8 sensor would deliver. Scale jitter happens when
chips are sampled (:func:`rams.detector.data.sample_batch`), where targets are redrawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    flip: bool = True
    rot90: bool = True
    brightness: float = 0.15  # max additive shift, fraction of 255
    contrast: float = 0.25  # max relative contrast change
    colour: float = 0.08  # max relative per-channel gain change
    blur_p: float = 0.25  # probability of a gaussian blur with sigma 0.4-1.2 px
    noise_std: float = 5.0  # max gaussian noise std, grey levels


def _geometric(img: torch.Tensor, tgt: torch.Tensor, g: torch.Generator,
               cfg: AugmentConfig) -> tuple[torch.Tensor, torch.Tensor]:
    imgs, tgts = [], []
    for i in range(img.shape[0]):
        a, b = img[i], tgt[i]
        if cfg.flip and torch.rand(1, generator=g).item() < 0.5:
            a, b = a.flip(-1), b.flip(-1)
        if cfg.rot90:
            k = int(torch.randint(4, (1,), generator=g).item())
            a, b = torch.rot90(a, k, (-2, -1)), torch.rot90(b, k, (-2, -1))
        imgs.append(a)
        tgts.append(b)
    return torch.stack(imgs), torch.stack(tgts)


def _blur(img: torch.Tensor, sigma: float) -> torch.Tensor:
    rad = max(1, int(round(2.5 * sigma)))
    x = torch.arange(-rad, rad + 1, dtype=img.dtype, device=img.device)
    k = torch.exp(-(x * x) / (2 * sigma * sigma))
    k = k / k.sum()
    c = img.shape[0]
    out = F.conv2d(F.pad(img[None], (rad, rad, 0, 0), mode="reflect"), k.view(1, 1, 1, -1)
                   .expand(c, 1, 1, -1), groups=c)
    out = F.conv2d(F.pad(out, (0, 0, rad, rad), mode="reflect"), k.view(1, 1, -1, 1)
                   .expand(c, 1, -1, 1), groups=c)
    return out[0]


def augment_batch(img: torch.Tensor, tgt: torch.Tensor, g: torch.Generator,
                  cfg: AugmentConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Augment uint8 images (N,C,H,W) and targets (N,3,H,W); returns float 0-255 images, targets."""
    img, tgt = _geometric(img, tgt, g, cfg)
    x = img.float()
    n, c = x.shape[:2]

    def u(*shape: int) -> torch.Tensor:  # uniform in [-1, 1)
        return torch.rand(*shape, generator=g) * 2 - 1

    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * (1 + cfg.contrast * u(n, 1, 1, 1)) + mean
    x = x * (1 + cfg.colour * u(n, c, 1, 1)) + 255 * cfg.brightness * u(n, 1, 1, 1)
    blur = torch.rand(n, generator=g) < cfg.blur_p
    sigmas = 0.4 + 0.8 * torch.rand(n, generator=g)
    for i in torch.nonzero(blur).flatten().tolist():
        x[i] = _blur(x[i], float(sigmas[i]))
    if cfg.noise_std > 0:
        std = cfg.noise_std * torch.rand(n, 1, 1, 1, generator=g)
        x = x + std * torch.randn(x.shape, generator=g)
    return x.clamp(0, 255).round(), tgt.contiguous()
