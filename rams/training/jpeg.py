"""Baseline JPEG compression of a batch of images, on whatever device the batch is on.

Training augmentation compresses a share of every batch's patches to teach the networks the
artefacts of JPEG orthomosaics. Done one patch at a time through an image library, it ran on the
CPU whatever the batch's device; here the whole batch goes through the codec's lossy
steps as tensor operations: RGB to YCbCr (JFIF), 4:2:0 chroma averaging, 8 x 8 DCT, quantisation
with the standard tables scaled by the IJG quality rule, and back (chroma upsampled with the
triangle filter libjpeg uses). Entropy coding is lossless and left out.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

# the standard JPEG quantisation tables (ITU-T T.81, annex K), luminance and chrominance
_LUMA = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
         14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
         49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99]
_CHROMA = [17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
           47, 66, 99, 99, 99, 99, 99, 99] + [99] * 32
_TO_YCC = [[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]]
_TO_RGB = [[1.0, 0.0, 1.402], [1.0, -0.344136, -0.714136], [1.0, 1.772, 0.0]]


def quant_tables(quality: torch.Tensor) -> torch.Tensor:
    """Luminance and chrominance tables (N, 2, 8, 8) for qualities (N,) in 1-100 (IJG scaling)."""
    q = quality.float().clamp(1, 100)[:, None, None]
    factor = torch.where(q < 50, 5000 / q, 200 - 2 * q)
    base = torch.tensor([_LUMA, _CHROMA], dtype=torch.float32, device=quality.device)
    return ((base[None] * factor + 50) / 100).floor().clamp(1, 255).view(-1, 2, 8, 8)


def _dct_matrix(device: torch.device) -> torch.Tensor:
    k = torch.arange(8, dtype=torch.float32, device=device)
    m = torch.cos((2 * k[None] + 1) * k[:, None] * math.pi / 16) * math.sqrt(2 / 8)
    m[0] /= math.sqrt(2)
    return m  # orthonormal: rows are the basis functions


def _quantised(plane: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """One component (N, H, W), H and W multiples of 8, through the 8 x 8 DCT, rounding to the
    table (N, 8, 8) and back, rounded and clipped to 0-255 as a decoder's output is."""
    n, h, w = plane.shape
    d = _dct_matrix(plane.device)
    blocks = (plane - 128).view(n, h // 8, 8, w // 8, 8).permute(0, 1, 3, 2, 4)
    coef = d @ blocks @ d.T
    t = table[:, None, None]
    back = d.T @ (torch.round(coef / t) * t) @ d
    return (back + 128).round().clamp(0, 255).permute(0, 1, 3, 2, 4).reshape(n, h, w)


def jpeg_round_trip(rgb: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """0-255 RGB images (N, 3, H, W), float, after baseline JPEG at qualities (N,) with 4:2:0
    chroma; returns float 0-255 integers of the same shape."""
    n, _, h, w = rgb.shape
    ph, pw = -h % 16, -w % 16  # whole 16 x 16 units, edges repeated as encoders pad them
    x = F.pad(rgb.float(), (0, pw, 0, ph), mode="replicate") if ph or pw else rgb.float()
    ycc = torch.einsum("ij,njhw->nihw", torch.tensor(_TO_YCC, device=x.device), x)
    ycc[:, 1:] += 128
    ycc = ycc.round().clamp(0, 255)
    tables = quant_tables(quality.to(x.device))
    y = _quantised(ycc[:, 0], tables[:, 0])
    chroma = F.avg_pool2d(ycc[:, 1:], 2)
    hc, wc = chroma.shape[-2:]
    cpad = (0, -wc % 8, 0, -hc % 8)
    chroma = F.pad(chroma, cpad, mode="replicate")
    cb = _quantised(chroma[:, 0], tables[:, 1])[:, :hc, :wc]
    cr = _quantised(chroma[:, 1], tables[:, 1])[:, :hc, :wc]
    up = F.interpolate(torch.stack([cb, cr], 1), scale_factor=2, mode="bilinear", align_corners=False)
    ycc = torch.cat([y[:, None], up], 1)
    ycc[:, 1:] -= 128
    out = torch.einsum("ij,njhw->nihw", torch.tensor(_TO_RGB, device=x.device), ycc)
    return out.round().clamp(0, 255)[:, :, :h, :w]


def _box_matrix(out: int, size: int, device: torch.device) -> torch.Tensor:
    """(out, size) weights averaging ``size`` samples onto ``out`` coarser ones: each output
    sample the mean of the input samples whose centres fall within its footprint (as an image
    library's box filter resamples)."""
    scale = size / out
    centre = (torch.arange(out, dtype=torch.float32, device=device)[:, None] + 0.5) * scale
    x = (torch.arange(size, dtype=torch.float32, device=device)[None] + 0.5 - centre) / scale
    inside = ((x >= -0.5) & (x < 0.5)).float()
    return inside / inside.sum(dim=1, keepdim=True)


def jpeg_batch(rgb: torch.Tensor, quality: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """0-255 RGB images (N, 3, H, W) after JPEG at qualities (N,) on a grid ``scale`` (N,) times
    coarser than the images' (box-averaged down, JPEG, bilinear back up; 1 keeps the grid)."""
    h, w = rgb.shape[-2:]
    sizes = torch.stack([(h / scale).round().clamp_min(1), (w / scale).round().clamp_min(1)], 1).long().tolist()
    out = torch.empty_like(rgb, dtype=torch.float32)
    for size in {tuple(s) for s in sizes}:  # one pass per coarser grid size
        idx = torch.tensor([k for k, s in enumerate(sizes) if tuple(s) == size], device=rgb.device)
        x = rgb[idx].float()
        if size != (h, w):
            x = _box_matrix(size[0], h, x.device) @ x @ _box_matrix(size[1], w, x.device).T
        x = jpeg_round_trip(x, quality[idx.to(quality.device)])
        if size != (h, w):
            x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False).round().clamp(0, 255)
        out[idx] = x
    return out


def codec_round_trip(rgb: np.ndarray, quality: int, scale: float = 1.0) -> np.ndarray:
    """One uint8 RGB image (3, H, W) the same way through a real JPEG codec (Pillow's libjpeg):
    the reference :func:`jpeg_batch` is tested and benchmarked against."""
    h, w = rgb.shape[1:]
    img = Image.fromarray(np.ascontiguousarray(rgb.transpose(1, 2, 0)))
    if scale > 1:
        img = img.resize((max(1, round(w / scale)), max(1, round(h / scale))), Image.Resampling.BOX)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(quality), subsampling=2)
    out = Image.open(buf).convert("RGB")
    if out.size != (w, h):
        out = out.resize((w, h), Image.Resampling.BILINEAR)
    return np.asarray(out).transpose(2, 0, 1)
