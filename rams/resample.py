"""Raster resampling between a fine grid and its k x k block grid (numpy in, numpy out).

Block averaging brings imagery (or a surface model) to a coarser grid by an integer factor; bilinear
upsampling brings maps computed there back. Used by the detector's context scale and by the
elevation band's ground estimate.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def block_mean(image: np.ndarray, k: int) -> np.ndarray:
    """uint8 (C, H, W) averaged over k x k blocks -> uint8 (C, ceil(H/k), ceil(W/k)) (rounded);
    float images average to float32.

    The last partial blocks are completed by repeating the edge pixels.
    """
    if k == 1:
        return image
    c, h, w = image.shape
    ph, pw = (-h) % k, (-w) % k
    if ph or pw:
        image = np.pad(image, ((0, 0), (0, ph), (0, pw)), mode="edge")
    hk, wk = image.shape[1] // k, image.shape[2] // k
    if image.dtype != np.uint8:
        return image.reshape(c, hk, k, wk, k).mean(axis=(2, 4), dtype=np.float32)
    total = image.reshape(c, hk, k, wk, k).sum(axis=(2, 4), dtype=np.uint32)
    return ((total + (k * k) // 2) // (k * k)).astype(np.uint8)


def upsample(prob: np.ndarray, k: int, shape: tuple[int, int]) -> np.ndarray:
    """Maps (K, h, w) on the k-px block grid -> float32 (K, H, W) by bilinear interpolation.

    Block (i, j) covers pixels [i*k, (i+1)*k) x [j*k, (j+1)*k) of the full grid.
    """
    t = torch.from_numpy(np.ascontiguousarray(prob, dtype=np.float32))[None]
    if k > 1:
        t = F.interpolate(t, scale_factor=k, mode="bilinear", align_corners=False)
    return t[0, :, : shape[0], : shape[1]].numpy()
