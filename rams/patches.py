"""Square patches of an image centred on points, at one ground resolution whatever the image's.

The verifier judges each candidate on a patch cut around it; training cuts its patches the same
way, from whole flights held in memory, and a survey of a flight finer than its read grid cuts
them from the file at its own resolution (:meth:`rams.flight.Flight.native_patches`).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def crop_patches(image: np.ndarray, rc: np.ndarray, patch_px: int, scale: float = 1.0) -> np.ndarray:
    """uint8 patches (K, C, P, P) of a uint8 image (C, H, W) centred on the pixels holding the
    positions ``rc`` (K, 2) (row, col, continuous); beyond the image the edge pixels are repeated.

    Each patch covers ``round(P * scale)`` image pixels, resized (bilinear) to P when that differs
    from P. At ``scale`` 1 the patch holds the image's own pixels, the centre pixel at (P//2, P//2).
    """
    side = max(1, round(patch_px * scale))
    r = np.clip(np.floor(rc[:, 0]).astype(int), 0, image.shape[1] - 1)
    c = np.clip(np.floor(rc[:, 1]).astype(int), 0, image.shape[2] - 1)
    offsets = np.arange(side) - side // 2
    rows = np.clip(r[:, None] + offsets, 0, image.shape[1] - 1)  # (K, side): edge rows repeated
    cols = np.clip(c[:, None] + offsets, 0, image.shape[2] - 1)
    crops = np.ascontiguousarray(image[:, rows[:, :, None], cols[:, None, :]].transpose(1, 0, 2, 3))
    if side == patch_px or len(rc) == 0:
        return crops
    resized = F.interpolate(torch.from_numpy(crops).float(), size=(patch_px, patch_px), mode="bilinear",
                            align_corners=False, antialias=side > patch_px)
    return resized.round().clamp(0, 255).to(torch.uint8).numpy()


def patch_scale(patch_gsd_m: float | None, gsd_m: float) -> float:
    """Image pixels per patch pixel: patches at ``patch_gsd_m`` metres per pixel (whatever the
    flight's ``gsd_m``), or at the flight's own resolution when None."""
    return float(patch_gsd_m) / gsd_m if patch_gsd_m else 1.0
