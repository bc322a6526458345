"""The context scale: imagery block-averaged to a coarse GSD, and probabilities brought back.

Positions (3-15 m) and trenches are hundreds of pixels across at 2-4 cm; a network sees them
whole only on a coarser grid. A context model runs on the flight block-averaged by an integer
factor to about its ``input_gsd_m`` (~12 cm), and its maps are interpolated back to full
resolution, where they replace the fine model's maps of the same classes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from rams.detector.whole_flight import predict_flight


def context_factor(gsd_m: float, input_gsd_m: float) -> int:
    """The integer block size (px) that brings ``gsd_m`` closest to ``input_gsd_m`` (>= 1)."""
    return max(1, int(round(input_gsd_m / gsd_m)))


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


def context_probabilities(
    predict: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    k: int,
    tile_px: int,
    overlap_px: int,
    channels: list[int],
) -> np.ndarray:
    """A context model's ``channels`` (len(channels), H, W) float32 over a uint8 image (C, H, W).

    ``predict`` maps uint8 batches to probabilities; it runs on the image block-averaged by ``k``
    in core-cropped tiles of ``tile_px`` (coarse px).
    """
    coarse = block_mean(image, k)
    prob = predict_flight(predict, coarse, tile_px, overlap_px)[channels]
    return upsample(prob, k, image.shape[1:])
