"""Imaging shifts a detector must survive: another camera's colour, a softer lens, a resampled mosaic.

A detector trained on one generator's imagery meets others in the field: white balance, colour
saturation and exposure differ between cameras, and orthomosaics are resampled (softer) and
often JPEG-compressed. These pure functions apply such a shift to RGB pixels so that a labelled
flight can be measured again under it (``rams degrade``, then ``rams evaluate``); JPEG
compression is left to the GeoTIFF writer, as a real mosaic's is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class ImagingShift:
    """One shift of a flight's RGB pixels; the defaults change nothing."""

    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)  # per-band factors (white balance)
    saturation: float = 1.0  # 0 grey, 1 unchanged, > 1 more colourful
    gamma: float = 1.0  # < 1 brightens the mid-tones, > 1 darkens them
    blur_px: float = 0.0  # gaussian sigma (px of the flight)

    @property
    def halo_px(self) -> int:
        """Pixels a block needs on each side to be shifted as the whole flight would be."""
        return int(np.ceil(4 * self.blur_px))


def shift_rgb(rgb: np.ndarray, shift: ImagingShift) -> np.ndarray:
    """``rgb`` uint8 (3, H, W) under ``shift``: blurred, then colour, saturation and gamma; uint8."""
    x = rgb.astype(np.float32)
    if shift.blur_px > 0:
        x = ndimage.gaussian_filter(x, (0, shift.blur_px, shift.blur_px), mode="nearest")
    x = x * np.asarray(shift.gains, np.float32)[:, None, None]
    if shift.saturation != 1.0:
        grey = x.mean(axis=0, keepdims=True)
        x = grey + (x - grey) * shift.saturation
    if shift.gamma != 1.0:
        x = 255.0 * (np.clip(x, 0, 255) / 255.0) ** shift.gamma
    return np.clip(np.round(x), 0, 255).astype(np.uint8)
