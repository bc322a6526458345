"""Raster resampling between grids of one CRS that share their origin (numpy in, numpy out).

Block averaging brings imagery (or a surface model) to a coarser grid by an integer factor; bilinear
upsampling brings maps computed there back. Used by the detector's context scale and by the
elevation band's ground estimate.

Area averaging brings a flight finer than the detector's range onto its grid: the flight is read
at its own resolution (decoding is cheap) and averaged here, several times faster than GDAL's
warper or its resampling RasterIO for the same pixels. Each output pixel is the mean of the valid
input pixels under it, weighted by the share of each input pixel it covers (exact for any ratio,
2 or 4/3 alike).
"""

from __future__ import annotations

import math

import numpy as np


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
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(prob, dtype=np.float32))[None]
    if k > 1:
        t = F.interpolate(t, scale_factor=k, mode="bilinear", align_corners=False)
    return t[0, :, : shape[0], : shape[1]].numpy()


#: An output pixel with less than this share of valid input under it is invalid.
MIN_VALID_SHARE = 0.5


def source_span(start: int, stop: int, ratio: float, limit: int) -> tuple[int, int]:
    """Input px [a, b) under output px [start, stop) when one output px spans ``ratio`` input px
    and both grids share their origin; clipped to [0, limit)."""
    return max(0, math.floor(start * ratio + 1e-9)), min(limit, math.ceil(stop * ratio - 1e-9))


def _area_sums(values: np.ndarray, bounds: np.ndarray, axis: int) -> np.ndarray:
    """float32 sums of ``values`` along ``axis`` between consecutive fractional px positions
    ``bounds`` (increasing, at least one px apart, within the axis): whole px in full, a px that
    a bound cuts by the share on each side."""
    n = values.shape[axis]
    starts = np.minimum(np.ceil(bounds - 1e-9).astype(np.intp), n)
    lengths = np.diff(starts)
    along = [-1 if d == axis else 1 for d in range(values.ndim)]
    sums = None
    for m in range(int(lengths.max(initial=0))):  # a segment's m-th px, for every segment at once
        part = values.take(np.minimum(starts[:-1] + m, n - 1), axis=axis).astype(np.float32)
        part *= (m < lengths).astype(np.float32).reshape(along)
        sums = part if sums is None else sums + part
    # the px a bound cuts: reduceat gave it wholly to the segment after the bound; give that
    # segment its share right of the bound and the segment before the rest
    cut = np.minimum(np.floor(bounds + 1e-9).astype(np.intp), n - 1)
    right = (starts - bounds).astype(np.float32).reshape(along)  # 0 where a bound is whole
    edge = right * values.take(cut, axis=axis).astype(np.float32)
    lead = [slice(None)] * values.ndim
    lead[axis] = slice(None, -1)
    rest = [slice(None)] * values.ndim
    rest[axis] = slice(1, None)
    return sums + edge[tuple(lead)] - edge[tuple(rest)]


def area_average(
    rgb: np.ndarray, valid: np.ndarray, row_span: tuple[int, int, float, int],
    col_span: tuple[int, int, float, int], out: np.ndarray,
) -> np.ndarray:
    """Average uint8 ``rgb`` (3, H, W) over its ``valid`` (H, W) px onto a grid ``ratio`` times
    coarser sharing the input's origin, writing ``out`` (uint8 (3, h, w)); returns the output's
    valid mask (h, w): at least ``MIN_VALID_SHARE`` of it valid input.

    ``row_span`` and ``col_span`` are (first output px, count, ratio, first input px): the input
    covers input px from its first on, the output px from theirs (both in the shared grid's px).
    """
    stack = np.concatenate([valid[None], rgb * valid[None]])  # uint8 (4, H, W)
    for axis, (start, count, ratio, src_start) in ((1, row_span), (2, col_span)):
        bounds = (start + np.arange(count + 1)) * ratio - src_start
        stack = _area_sums(stack, np.clip(bounds, 0, stack.shape[axis]), axis)
    share = stack[0] / (row_span[2] * col_span[2])
    seen = stack[0] > 1e-6
    mean = np.divide(stack[1:], stack[0], out=np.zeros_like(stack[1:]), where=seen)
    out[...] = np.clip(mean + 0.5, 0, 255).astype(np.uint8)
    return share >= MIN_VALID_SHARE


def averaged(rgb: np.ndarray, ratio: float) -> np.ndarray:
    """uint8 (3, H, W) averaged onto a grid ``ratio`` (> 1) times coarser sharing its top-left
    corner: uint8 (3, floor(H / ratio), floor(W / ratio)), the whole output px its ground covers,
    each the exact area average of the input px under it."""
    h, w = max(1, math.floor(rgb.shape[1] / ratio + 1e-6)), max(1, math.floor(rgb.shape[2] / ratio + 1e-6))
    out = np.empty((3, h, w), np.uint8)
    area_average(rgb, np.ones(rgb.shape[1:], np.uint8), (0, h, ratio, 0), (0, w, ratio, 0), out)
    return out
