"""Smooth value noise evaluated in global map coordinates (metres).

Lattice values come from an integer hash of (lattice x, lattice y, salt), so a texture is
a pure function of map position: blocks rendered separately join without seams.
"""

from __future__ import annotations

import numpy as np

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xC2B2AE3D27D4EB4F)
_M3 = np.uint64(0xFF51AFD7ED558CCD)
_M4 = np.uint64(0xC4CEB9FE1A85EC53)


def hash01(ix: np.ndarray, iy: np.ndarray, salt: int) -> np.ndarray:
    """Uniform [0, 1) float32 from integer lattice coordinates (broadcast) and a salt."""
    with np.errstate(over="ignore"):
        h = (ix.astype(np.int64).view(np.uint64) * _M1) ^ (
            iy.astype(np.int64).view(np.uint64) * _M2
        )
        h ^= np.uint64(salt & 0xFFFFFFFFFFFF) * _M3
        h ^= h >> np.uint64(33)
        h *= _M3
        h ^= h >> np.uint64(33)
        h *= _M4
        h ^= h >> np.uint64(33)
    return ((h >> np.uint64(40)).astype(np.float32)) * np.float32(2.0**-24)


def _axis(coords_m: np.ndarray, cell_m: float) -> tuple[np.ndarray, np.ndarray, int]:
    g = coords_m / cell_m
    i0 = np.floor(g).astype(np.int64)
    f = (g - i0).astype(np.float32)
    w = f * f * (3.0 - 2.0 * f)
    lo = int(i0.min())
    return i0 - lo, w, lo


def value_noise(xs_m: np.ndarray, ys_m: np.ndarray, cell_m: float, salt: int) -> np.ndarray:
    """Value noise in [-1, 1] on the grid ``xs_m`` (columns) x ``ys_m`` (rows), float32 (H, W)."""
    ci, wx, xlo = _axis(xs_m, cell_m)
    ri, wy, ylo = _axis(ys_m, cell_m)
    lx = np.arange(xlo, xlo + int(ci.max()) + 2)
    ly = np.arange(ylo, ylo + int(ri.max()) + 2)
    lat = hash01(lx[None, :], ly[:, None], salt) * 2.0 - 1.0
    # separable: along x for every lattice row first, then along y
    rows = lat[:, ci] * (1 - wx) + lat[:, ci + 1] * wx
    return rows[ri] * (1 - wy)[:, None] + rows[ri + 1] * wy[:, None]


def fbm(
    xs_m: np.ndarray,
    ys_m: np.ndarray,
    cell_m: float,
    octaves: int,
    salt: int,
    min_cell_m: float = 0.0,
    gain: float = 0.5,
) -> np.ndarray:
    """Multi-octave value noise, roughly in [-1, 1]; octaves finer than ``min_cell_m`` skipped."""
    out = np.zeros((len(ys_m), len(xs_m)), np.float32)
    amp, total = 1.0, 0.0
    for k in range(octaves):
        cell = cell_m / 2**k
        if cell < min_cell_m and k > 0:
            break
        out += np.float32(amp) * value_noise(xs_m, ys_m, cell, salt * 131 + k)
        total += amp
        amp *= gain
    return out / np.float32(total)
