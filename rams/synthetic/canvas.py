"""A block being rendered: pixel-centre coordinates, colour, height and shade buffers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rams.synthetic.noise import fbm, value_noise
from rams.synthetic.scene import Scene


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 at ``e0`` to 1 at ``e1`` (either order), float32."""
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


@dataclass
class Patch:
    """A sub-window of a canvas: slices and map coordinates (m) of its pixel centres."""

    rows: slice
    cols: slice
    xs: np.ndarray
    ys: np.ndarray

    def local(self, x0: float, y0: float, angle: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates (m) relative to (x0, y0), rotated so ``angle`` is the +u axis."""
        dx = (self.xs - x0)[None, :]
        dy = (self.ys - y0)[:, None]
        c, s = np.cos(angle), np.sin(angle)
        return (dx * c + dy * s).astype(np.float32), (-dx * s + dy * c).astype(np.float32)


class Canvas:
    """Float buffers of one block plus its margin; ``rgb`` (3, H, W) display values 0-1,
    ``z`` (H, W) ground height (m), ``shade`` (H, W) multiplicative light."""

    def __init__(self, scene: Scene, xs: np.ndarray, ys: np.ndarray) -> None:
        self.scene, self.xs, self.ys = scene, xs, ys
        self.gsd = scene.gsd_m
        h, w = len(ys), len(xs)
        self.rgb = np.zeros((3, h, w), np.float32)
        self.z = np.zeros((h, w), np.float32)
        self.shade = np.ones((h, w), np.float32)
        self.grass = np.zeros((h, w), np.float32)  # 0-1 how grassy the ground is
        half = 0.5 * self.gsd
        self.box = (xs[0] - half, ys[-1] - half, xs[-1] + half, ys[0] + half)

    def salt(self, k: int) -> int:
        return self.scene.seed * 7919 + k

    def noise(self, p: Patch, cell_m: float, octaves: int, k: int) -> np.ndarray:
        """Seamless fbm over a patch; octaves below the pixel size are dropped."""
        if octaves == 1:
            return value_noise(p.xs, p.ys, max(cell_m, 0.7 * self.gsd), self.salt(k))
        return fbm(p.xs, p.ys, cell_m, octaves, self.salt(k), 0.7 * self.gsd)

    def patch(self, box: tuple[float, float, float, float]) -> Patch | None:
        """The part of the canvas inside map box (xmin, ymin, xmax, ymax), or None."""
        x0, y0, g = self.xs[0], self.ys[0], self.gsd
        c0 = max(0, int(np.floor((box[0] - x0) / g)))
        c1 = min(len(self.xs), int(np.ceil((box[2] - x0) / g)) + 1)
        r0 = max(0, int(np.floor((y0 - box[3]) / g)))
        r1 = min(len(self.ys), int(np.ceil((y0 - box[1]) / g)) + 1)
        if c0 >= c1 or r0 >= r1:
            return None
        return Patch(slice(r0, r1), slice(c0, c1), self.xs[c0:c1], self.ys[r0:r1])

    def shrink(self, p: Patch, mask: np.ndarray) -> tuple[Patch, tuple[slice, slice]] | None:
        """The sub-patch of ``p`` bounding the true pixels of ``mask`` (h, w), and the slices
        that cut arrays over ``p`` down to it; None if ``mask`` is empty. Textures are functions
        of map position, so painting the sub-patch gives the same pixels for less work."""
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        if not len(rows):
            return None
        r, c = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
        r0, c0 = p.rows.start or 0, p.cols.start or 0
        sub = Patch(slice(r0 + r.start, r0 + r.stop), slice(c0 + c.start, c0 + c.stop),
                    p.xs[c], p.ys[r])
        return sub, (r, c)

    def full(self) -> Patch:
        return Patch(slice(None), slice(None), self.xs, self.ys)

    def mix(self, p: Patch, colour: np.ndarray, alpha: np.ndarray) -> None:
        """Blend ``colour`` ((3,) or (3, h, w)) over the patch with coverage ``alpha`` (h, w)."""
        view = self.rgb[:, p.rows, p.cols]
        col = np.asarray(colour, np.float32)
        if col.ndim == 1:
            col = col[:, None, None]
        view += (col - view) * alpha[None]

    def ground_colour(self, p: Patch) -> np.ndarray:
        """The current colour under a patch (3, h, w), a copy."""
        return self.rgb[:, p.rows, p.cols].copy()
