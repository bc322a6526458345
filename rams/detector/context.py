"""The context scale: imagery block-averaged to a coarse GSD, and probabilities brought back.

Positions (3-15 m) and trenches are hundreds of pixels across at 2-4 cm; a network sees them
whole only on a coarser grid. A context model runs on the flight block-averaged by an integer
factor to about its ``input_gsd_m`` (~12 cm), and its maps are interpolated back to full
resolution, where they replace the fine model's maps of the same classes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rams.detector.whole_flight import predict_flight
from rams.resample import block_mean, upsample


def context_factor(gsd_m: float, input_gsd_m: float) -> int:
    """The integer block size (px) that brings ``gsd_m`` closest to ``input_gsd_m`` (>= 1)."""
    return max(1, int(round(input_gsd_m / gsd_m)))


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
