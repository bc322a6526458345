"""Dug features: trenches, military positions and shell craters (relief + colour)."""

from __future__ import annotations

import numpy as np

from rams.synthetic.canvas import Canvas, Patch, smoothstep
from rams.synthetic.geometry import box_sdf, polyline_distance
from rams.synthetic.ground import GREEN_GRASS, SOIL
from rams.synthetic.scene import Position

SPOIL = np.array([0.68, 0.58, 0.43], np.float32)  # freshly dug subsoil, lighter than topsoil
FLOOR = np.array([0.43, 0.36, 0.28], np.float32)
LOGS = np.array([0.36, 0.27, 0.18], np.float32)


def _spoil(cv: Canvas, p: Patch, k: int) -> np.ndarray:
    return SPOIL[:, None, None] * (1 + 0.09 * cv.noise(p, 0.09, 2, k) +
                                   0.05 * cv.noise(p, 1.0, 2, k + 1))[None]


def _floor(cv: Canvas, p: Patch, k: int) -> np.ndarray:
    return FLOOR[:, None, None] * (1 + 0.12 * cv.noise(p, 0.1, 2, k)
                                   + 0.08 * cv.noise(p, 0.6, 2, k + 1))[None]


def _overgrow(cv: Canvas, p: Patch, alpha: np.ndarray, k: int) -> None:
    cover = smoothstep(-0.3, 0.3, cv.noise(p, 0.4, 3, k)) * alpha
    grass = GREEN_GRASS[:, None, None] * (0.8 + 0.3 * cv.noise(p, 0.04, 2, k + 1))[None]
    cv.mix(p, grass, cover * 0.85)


def paint_trenches(cv: Canvas) -> None:
    """Trench floor (dark, in shadow on the sun side), spoil berm along one side."""
    sun = cv.scene.sun_vector
    tan_e = sun[2] / np.hypot(sun[0], sun[1])
    for i in cv.scene.near("trenches", cv.box):
        t = cv.scene.trenches[i]
        p = cv.patch(cv.scene.index["trenches"][i])
        if p is None:
            continue
        half = t.width_m / 2
        d, s, nx, ny = polyline_distance(p, t.xy, half + t.berm_width_m + 0.5)
        if not (d < half + t.berm_width_m + 0.3).any():
            continue
        db, _, _, _ = polyline_distance(p, t.berm_xy, t.berm_width_m)
        # beyond reach of both lines every term below is zero: paint only their bounding box
        cut = cv.shrink(p, np.isfinite(d) | np.isfinite(db))
        if cut is None:
            continue
        p, win = cut
        d, s, nx, ny, db = d[win], s[win], nx[win], ny[win], db[win]
        depth = np.full(d.shape, t.depth_m, np.float32)
        if t.condition == "collapsed":
            depth *= 0.3 + 0.7 * smoothstep(-0.2, 0.3, cv.noise(p, 4, 2, 50 + i))
        a = smoothstep(half + 0.5 * cv.gsd, half - 0.5 * cv.gsd, d)
        wall = smoothstep(half, half - 0.1, d)
        cv.mix(p, _floor(cv, p, 51), a)
        if t.condition == "collapsed":
            slump = smoothstep(0.8, 0.3, depth / t.depth_m) * a
            cv.mix(p, _spoil(cv, p, 52) * np.float32(0.85), slump)
        # the wall facing away from the sun throws its shadow across the floor
        cs = sun[0] * nx + sun[1] * ny
        reach = depth / tan_e * np.abs(cs) / np.hypot(sun[0], sun[1])
        from_wall = half - s * np.sign(cs)
        shadow = smoothstep(0.02, -0.02, from_wall - reach) * a
        cv.shade[p.rows, p.cols] *= 1 - 0.6 * shadow
        cv.z[p.rows, p.cols] -= depth * wall
        # berm: spoil heaped along one side (distance to its offset crest line), sun-lit slopes
        wob = 1 + 0.3 * cv.noise(p, 1.5, 2, 53)
        berm = np.clip(1 - (2 * db / (t.berm_width_m * wob)) ** 2, 0, 1) * (d > half)
        cv.z[p.rows, p.cols] += t.berm_height_m * berm * wob
        cover = np.sqrt(berm) * smoothstep(-0.6, 0.1, cv.noise(p, 0.5, 2, 54) + berm)
        cv.mix(p, _spoil(cv, p, 55), cover * (0.5 if t.condition == "overgrown" else 0.9))
        cv.grass[p.rows, p.cols] *= 1 - np.maximum(a, cover)
        if t.condition == "overgrown":
            _overgrow(cv, p, np.maximum(a, berm), 56)


def _position_shape(pos: Position, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, ...]:
    """(pit depth fraction 0-1, berm 0-1, roof 0-1) of a position in its local frame."""
    zero = np.zeros_like(u)
    if pos.kind.startswith("firing"):
        big = pos.length_m / 2
        pit_r = 0.55 * big
        rho = np.hypot(u, v)
        pit = smoothstep(pit_r, pit_r - 0.25, rho)
        tb = np.clip((rho - pit_r) / (big - pit_r), 0, 1)
        berm = np.maximum(np.sin(np.pi * tb), 0) * (rho > pit_r) * (rho < big)
        if pos.kind == "firing_horseshoe":  # open towards -u, where the trench comes in
            gap = smoothstep(0.75, 0.9, -u / np.maximum(rho, 1e-6)) * (rho < big)
            berm = berm * (1 - gap)
            pit = np.maximum(pit, gap * np.clip(1 - tb, 0, 1))
        return pit, berm.astype(np.float32), zero
    hl, hw = pos.length_m / 2, pos.width_m / 2
    b = 1.8 if pos.kind == "revetment" else 1.0
    outer = box_sdf(u, v, hl, hw)
    if pos.kind == "revetment":  # open at +u: a vehicle ramp rising to ground level
        inner = box_sdf(u - b / 2, v, hl - b / 2 + 0.5, hw - b)
        ramp = np.clip((hl - u) / (0.6 * pos.length_m), 0, 1)
        pit = smoothstep(0.1, -0.15, inner) * ramp
        roof = zero
    else:
        inner = box_sdf(u, v, hl - b, hw - b)
        pit = smoothstep(0.1, -0.15, inner)
        roof = pit * (u < 0.2 * hl)
    tb = np.clip(inner / np.maximum(inner - outer, 1e-3), 0, 1)
    berm = np.maximum(np.sin(np.pi * tb), 0) * (inner > 0) * (outer < 0)
    if pos.kind == "revetment":
        berm = berm * smoothstep(hl - 0.2, hl - 1.2, u)
    return pit.astype(np.float32), berm.astype(np.float32), roof.astype(np.float32)


def paint_positions(cv: Canvas) -> None:
    """Pits with dark floors, spoil berms, log roofs over dugouts."""
    for i in cv.scene.near("positions", cv.box):
        pos = cv.scene.positions[i]
        p = cv.patch(cv.scene.index["positions"][i])
        if p is None:
            continue
        u, v = p.local(pos.x, pos.y, pos.angle_rad)
        jitter = 0.15 * cv.noise(p, 1.0, 2, 60 + i)
        pit, berm, roof = _position_shape(pos, u + jitter, v - jitter)
        cv.mix(p, _floor(cv, p, 61), pit * (1 - roof))
        cv.mix(p, _spoil(cv, p, 62), np.sqrt(berm) * 0.9)
        logs = LOGS[:, None, None] * (0.8 + 0.3 * np.cos(2 * np.pi * v / 0.22) ** 2
                                      + 0.1 * cv.noise(p, 0.05, 2, 63))[None]
        cv.mix(p, logs, roof)
        cv.mix(p, _spoil(cv, p, 64), roof * smoothstep(0.0, 0.5, cv.noise(p, 0.4, 2, 65)))
        cv.z[p.rows, p.cols] += -pos.depth_m * pit * (1 - roof) + 0.5 * pos.depth_m * berm
        cv.shade[p.rows, p.cols] *= 1 - 0.35 * pit * (1 - roof)
        cv.grass[p.rows, p.cols] *= 1 - np.maximum(pit, np.sqrt(berm))


def crater_profile(rn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bowl depth fraction, rim height fraction) at normalised radius ``rn``."""
    bowl = np.clip(1 - rn * rn, 0, 1)
    rim = np.exp(-(((rn - 1) / 0.25) ** 2)) * 0.35
    return bowl.astype(np.float32), rim.astype(np.float32)


def paint_craters(cv: Canvas) -> None:
    """Shell craters: scorched bowl, raised rim, spattered ejecta of fresh soil."""
    for i in cv.scene.near("craters", cv.box):
        c = cv.scene.craters[i]
        p = cv.patch(cv.scene.index["craters"][i])
        if p is None:
            continue
        u, v = p.local(c.x, c.y)
        rn = np.hypot(u, v) / c.radius_at(np.arctan2(v, u))
        bowl, rim = crater_profile(rn)
        inside = smoothstep(1.05, 0.9, rn)
        burnt = SOIL[:, None, None] * (0.72 + 0.12 * cv.noise(p, 0.1, 2, 70)
                                   + 0.1 * cv.noise(p, 0.6, 2, 73))[None]
        cv.mix(p, burnt, inside * 0.8)
        ejecta = smoothstep(1.6, 1.0, rn) * smoothstep(0.0, 0.4, cv.noise(p, 0.12, 2, 71))
        cv.mix(p, _spoil(cv, p, 72), ejecta * (1 - inside) * 0.8)
        cv.z[p.rows, p.cols] += c.height_m * (rim - bowl)
        cv.grass[p.rows, p.cols] *= 1 - smoothstep(1.4, 0.9, rn)
