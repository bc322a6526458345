"""Real drone frames as ground for synthetic objects: the known flights, their splits, and what a
frame's pixels say about its camera (sharpness, noise), measured so objects can be made to match.

Two public nadir flights hold no munitions, so every object on them is a true negative:

- ``caliterra`` (CC0; OpenDroneMap "caliterra", Dennis Baldwin): 40 frames IMG_9364-IMG_9430,
  4000 x 3000 px, about 1.5 cm per px, overcast construction site;
- ``brighton`` (BSD-2, (c) 2017 Piero Toffanin): 14 frames DJI_0018-DJI_0031, 4000 x 2250 px,
  1.7 cm per px, park in bright sun.

Frames overlap their neighbours, so each flight holds out one run of consecutive frames:

- caliterra validation IMG_9425, IMG_9426, IMG_9427; test IMG_9428, IMG_9429, IMG_9430;
- brighton validation DJI_0029; test DJI_0030, DJI_0031;

every other frame is training ground. A held-out frame still sees some ground a training frame
sees (a frame covers about 60 x 45 m of a site about 165 m across): held-out numbers measure new
photographs and new object placements, not new places.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from scipy.ndimage import convolve, gaussian_filter, gaussian_filter1d, maximum_filter, sobel
from scipy.special import erf

from rams.errors import RamsError
from rams.resample import averaged

SPLITS = ("train", "validation", "test")
PIXEL_SIGMA_PX = 0.3  # blur of a rendered pixel's own area (a box one pixel wide: 1/sqrt(12))


@dataclass(frozen=True)
class RealFlight:
    """A public drone flight whose frames serve as ground: folder, GSD, held-out frames and the
    sun objects composited onto it are lit by (azimuth clockwise from the frame's top, which the
    composite writes as north; degrees)."""

    name: str
    gsd_m: float
    validation: tuple[str, ...]
    test: tuple[str, ...]
    sun_azimuth_deg: tuple[float, float]
    sun_elevation_deg: tuple[float, float]


FLIGHTS: dict[str, RealFlight] = {
    # overcast: light from high above, shadows under the objects
    "caliterra": RealFlight("caliterra", 0.015, ("IMG_9425", "IMG_9426", "IMG_9427"),
                            ("IMG_9428", "IMG_9429", "IMG_9430"), (0.0, 360.0), (75.0, 85.0)),
    # the stones' and trees' shadows fall towards the frames' top: sun below, 45-60 deg high
    "brighton": RealFlight("brighton", 0.017, ("DJI_0029",), ("DJI_0030", "DJI_0031"),
                           (180.0, 210.0), (45.0, 60.0)),
}


def flight_of(frame: str | Path) -> RealFlight | None:
    """The known flight a frame belongs to, by its folder's name; None for any other frame."""
    return FLIGHTS.get(Path(frame).parent.name)


def frames(root: str | Path, flight: str, split: str) -> list[Path]:
    """The frames of ``flight`` under ``root`` (the folder holding ``caliterra/`` and
    ``brighton/``) in ``split`` ("train", "validation" or "test"), in flight order."""
    if flight not in FLIGHTS:
        raise RamsError(root, f"unknown real-ground flight {flight!r} (known: {', '.join(FLIGHTS)})")
    if split not in SPLITS:
        raise RamsError(root, f"unknown split {split!r} (known: {', '.join(SPLITS)})")
    f = FLIGHTS[flight]
    folder = Path(root) / flight
    every = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    missing = [s for s in f.validation + f.test if s not in {p.stem for p in every}]
    if missing:
        raise RamsError(folder, f"held-out frame {missing[0]} is missing")
    held = {"validation": f.validation, "test": f.test}
    if split == "train":
        return [p for p in every if p.stem not in f.validation + f.test]
    return [p for p in every if p.stem in held[split]]


def read_frame(path: str | Path) -> np.ndarray:
    """A frame as uint8 RGB (3, H, W), turned upright by its EXIF orientation."""
    try:
        with Image.open(path) as im:
            rgb = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    except OSError as err:
        raise RamsError(path, f"cannot read the frame: {err}") from err
    return np.ascontiguousarray(rgb.transpose(2, 0, 1))


def resampled_shape(shape: tuple[int, int], frame_gsd_m: float, gsd_m: float) -> tuple[int, int]:
    """(H, W) of a frame of ``shape`` brought from ``frame_gsd_m`` to ``gsd_m``: the whole pixels
    its ground covers."""
    k = frame_gsd_m / gsd_m
    return max(1, int(np.floor(shape[0] * k + 1e-6))), max(1, int(np.floor(shape[1] * k + 1e-6)))


def resample(rgb: np.ndarray, frame_gsd_m: float, gsd_m: float) -> np.ndarray:
    """uint8 RGB (3, H, W) at ``frame_gsd_m`` -> the same ground at ``gsd_m`` (both sharing the
    top-left corner): area averaging to a coarser grid, bicubic interpolation to a finer one."""
    h, w = resampled_shape(rgb.shape[1:], frame_gsd_m, gsd_m)
    ratio = gsd_m / frame_gsd_m
    if abs(ratio - 1) < 1e-9:
        return rgb
    if ratio > 1:
        return averaged(rgb, ratio)
    # the output's ground is whole output pixels: cut the input to exactly that ground
    box = (0.0, 0.0, w * ratio, h * ratio)
    im = Image.fromarray(rgb.transpose(1, 2, 0))
    return np.ascontiguousarray(
        np.asarray(im.resize((w, h), Image.Resampling.BICUBIC, box=box)).transpose(2, 0, 1))


def _luma(rgb: np.ndarray, side_px: int = 2048) -> np.ndarray:
    """Float32 luminance (0-255) of the frame's central ``side_px`` square."""
    _, h, w = rgb.shape
    r0, c0 = max(0, (h - side_px) // 2), max(0, (w - side_px) // 2)
    win = rgb[:, r0:r0 + side_px, c0:c0 + side_px].astype(np.float32)
    return 0.299 * win[0] + 0.587 * win[1] + 0.114 * win[2]


@lru_cache(maxsize=4)
def _reblur_table(sigma_a_px: float, sigma_b_px: float) -> tuple[np.ndarray, np.ndarray]:
    """(r, sigma) of sampled step edges blurred by sigma: the peak-gradient ratio the estimator
    sees, computed on the pixel grid itself (its discrete gradients and small blurs included)."""
    sigmas = np.geomspace(0.15, 12.0, 64)
    x = np.arange(-64, 65, dtype=np.float64)
    offsets = np.linspace(-0.5, 0.5, 9)[:, None]
    ratios = []
    for s in sigmas:
        edge = 0.5 * (1 + erf((x[None] - offsets) / (s * np.sqrt(2))))
        peak = [np.abs(np.gradient(gaussian_filter1d(edge, g, axis=1), axis=1)).max(1)
                for g in (sigma_a_px, sigma_b_px)]
        ratios.append(float(np.mean(peak[0] / peak[1])))
    return np.asarray(ratios)[::-1], sigmas[::-1]  # ratios rise as sigma falls


def estimate_blur_px(rgb: np.ndarray, sigma_a_px: float = 1.0, sigma_b_px: float = 3.0) -> float:
    """The Gaussian sigma (px) of the frame's blur, from how much its strongest edges soften when
    blurred again (re-blur ratio, Hu and de Haan 2006).

    A step edge blurred by sigma has a peak gradient proportional to 1 / sigma; blurred again by
    sigma_a and by sigma_b its peaks keep the ratio r = sqrt(s^2 + b^2) / sqrt(s^2 + a^2), which
    gives s (read off the same ratio computed for sampled edges, so the pixel grid's own
    discretisation does not bias small blurs). Measured at the local peaks of the most contrasted
    2 % of edges, median over them. Cameras sharpen: their finest edges look crisper than the
    detail they resolve, so the re-blurs start at 1 px, the scale of a small object's outline.
    """
    y = _luma(rgb)
    ya, yb = gaussian_filter(y, sigma_a_px), gaussian_filter(y, sigma_b_px)
    ga = np.hypot(sobel(ya, 0), sobel(ya, 1))
    gb = np.hypot(sobel(yb, 0), sobel(yb, 1))
    reach = int(np.ceil(2 * sigma_b_px)) * 2 + 1
    peaks = (gb == maximum_filter(gb, reach)) & (gb >= np.quantile(gb, 0.98)) & (gb > 0)
    if not peaks.any():
        return sigma_b_px
    r = float(np.median(maximum_filter(ga, reach)[peaks] / gb[peaks]))
    ratios, sigmas = _reblur_table(sigma_a_px, sigma_b_px)
    return float(np.interp(r, ratios, sigmas))


_LAPLACE = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def estimate_noise(rgb: np.ndarray) -> float:
    """The standard deviation (0-255 levels) of the frame's pixel noise (Immerkaer 1996), over
    its flattest half: the difference of Laplacians cancels smooth ground, texture is left out."""
    y = _luma(rgb)
    response = np.abs(convolve(y, _LAPLACE, mode="reflect"))[1:-1, 1:-1]
    smooth = gaussian_filter(y, 2.0)
    grad = np.hypot(sobel(smooth, 0), sobel(smooth, 1))[1:-1, 1:-1]
    flat = grad <= np.quantile(grad, 0.5)
    return float(np.sqrt(np.pi / 2) / 6 * response[flat].mean())


__all__ = ["FLIGHTS", "PIXEL_SIGMA_PX", "SPLITS", "RealFlight", "estimate_blur_px",
           "estimate_noise", "flight_of", "frames", "read_frame", "resample", "resampled_shape"]
