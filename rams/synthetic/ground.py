"""Natural ground: soil, grass and gravel zones, ploughed fields, dirt roads, tyre tracks."""

from __future__ import annotations

import numpy as np

from rams.synthetic.canvas import Canvas, smoothstep
from rams.synthetic.geometry import polyline_distance

SOIL = np.array([0.55, 0.45, 0.34], np.float32)
DRY_GRASS = np.array([0.64, 0.58, 0.40], np.float32)
GREEN_GRASS = np.array([0.34, 0.40, 0.20], np.float32)
GRAVEL = np.array([0.60, 0.58, 0.54], np.float32)
PLOUGHED = np.array([0.46, 0.37, 0.28], np.float32)
ROAD = np.array([0.64, 0.57, 0.47], np.float32)
TRACK_RUT_M = 0.35  # width of one wheel rut of a tyre track


def paint_ground(cv: Canvas) -> None:
    """Base colour, grassiness and relief of the whole canvas."""
    p = cv.full()
    cv.z[:] = 1.5 * cv.noise(p, 90, 3, 1) + 0.15 * cv.noise(p, 6, 3, 2)
    cv.z += 0.012 * cv.noise(p, 0.3, 3, 3)
    soil_w = smoothstep(0.05, 0.35, cv.noise(p, 30, 4, 4))
    green = smoothstep(-0.35, 0.45, cv.noise(p, 45, 3, 5) + 0.3 * cv.noise(p, 3, 2, 6))
    gravel_w = smoothstep(0.32, 0.55, cv.noise(p, 22, 3, 7))
    # soil: broad moisture blotches, clods and pebbles
    soil = SOIL[:, None, None] * (
        1 + 0.08 * cv.noise(p, 2.5, 3, 8) + 0.10 * cv.noise(p, 0.12, 3, 9)
    )[None]
    pebbles = smoothstep(0.55, 0.75, cv.noise(p, 0.04, 1, 10))
    soil = soil * (1 + 0.25 * pebbles)[None]
    # grass: tufts with dark gaps between them, blades, soil showing through
    tufts = cv.noise(p, 0.35, 3, 11)
    blades = cv.noise(p, 0.03, 2, 12)
    grass = DRY_GRASS[:, None, None] * (1 - green)[None] + GREEN_GRASS[:, None, None] * green[None]
    grass = grass * (1 + 0.08 * cv.noise(p, 4, 2, 13))[None]
    grass = grass * (0.78 + 0.22 * smoothstep(-0.5, 0.4, tufts) + 0.16 * blades)[None]
    bare = smoothstep(-0.25, -0.45, tufts)
    grass = grass + (soil - grass) * (0.8 * bare)[None]
    cv.grass[:] = (1 - soil_w) * (1 - 0.8 * bare)
    cv.rgb[:] = soil * soil_w[None] + grass * (1 - soil_w)[None]
    gravel = GRAVEL[:, None, None] * (1 + 0.22 * cv.noise(p, 0.03, 2, 14))[None]
    cv.mix(p, gravel, gravel_w * (1 - soil_w * 0.5))
    cv.grass *= 1 - gravel_w
    cv.z += 0.03 * tufts * cv.grass


def paint_fields(cv: Canvas) -> None:
    """Ploughed fields: furrows along the field length, darker turned soil."""
    for i in cv.scene.near("fields", cv.box):
        f = cv.scene.fields[i]
        p = cv.patch(cv.scene.index["fields"][i])
        if p is None:
            continue
        u, v = p.local(f.x, f.y, f.angle_rad)
        edge = 1.5 * cv.noise(p, 6, 2, 20 + i)
        inside = smoothstep(0.5, -0.5, np.maximum(np.abs(u) - f.length_m / 2,
                                                   np.abs(v) - f.width_m / 2) + edge)
        if not inside.any():
            continue
        wobble = 0.15 * cv.noise(p, 5, 2, 21)
        furrow = np.cos(2 * np.pi * (v / f.row_spacing_m + wobble)).astype(np.float32)
        clods = cv.noise(p, 0.1, 2, 22)
        col = PLOUGHED[:, None, None] * (1 + 0.06 * furrow + 0.12 * clods
                                         + 0.06 * cv.noise(p, 3, 2, 23))[None]
        cv.mix(p, col, inside)
        cv.z[p.rows, p.cols] += inside * (0.06 * furrow + 0.015 * clods)
        cv.grass[p.rows, p.cols] *= 1 - inside


def paint_paths(cv: Canvas) -> None:
    """Dirt roads (compacted light soil with two ruts) and tyre tracks (two flattened ruts)."""
    for i in cv.scene.near("paths", cv.box):
        path = cv.scene.paths[i]
        p = cv.patch(cv.scene.index["paths"][i])
        if p is None:
            continue
        d, s, _, _ = polyline_distance(p, path.xy, path.width_m + 1)
        cut = cv.shrink(p, np.isfinite(d))  # out of reach nothing changes: skip those pixels
        if cut is None:
            continue
        p, win = cut
        d, s = d[win], s[win]
        if path.kind == "road":
            edge = d + 0.35 * cv.noise(p, 1.2, 2, 30)
            inside = smoothstep(path.width_m / 2 + 0.3, path.width_m / 2 - 0.3, edge)
            col = ROAD[:, None, None] * (1 + 0.07 * cv.noise(p, 0.2, 3, 31))[None]
            cv.mix(p, col, inside)
            rut = np.exp(-(((np.abs(s) - 0.85) / 0.2) ** 2)).astype(np.float32) * inside
            cv.rgb[:, p.rows, p.cols] *= (1 - 0.12 * rut)[None]
            cv.z[p.rows, p.cols] -= 0.04 * rut
            cv.grass[p.rows, p.cols] *= 1 - inside
        else:
            off = np.abs(np.abs(s) - path.width_m / 2)
            rut = smoothstep(TRACK_RUT_M / 2 + 0.04, TRACK_RUT_M / 2 - 0.04, off)
            rut *= (d < path.width_m / 2 + TRACK_RUT_M).astype(np.float32)
            soil = SOIL[:, None, None] * (1 + 0.1 * cv.noise(p, 0.08, 2, 32))[None]
            flat = cv.ground_colour(p) * np.float32(0.82)
            flat += (soil - flat) * (0.35 + 0.3 * cv.noise(p, 0.5, 2, 33))[None]
            cv.mix(p, flat, rut * 0.9)
            cv.z[p.rows, p.cols] -= 0.03 * rut


def paint_scorches(cv: Canvas) -> None:
    """Blast marks left by submunitions that went off: dark, irregular, faint."""
    for i in cv.scene.near("scorches", cv.box):
        b = cv.scene.scorches[i]
        p = cv.patch(cv.scene.index["scorches"][i])
        if p is None:
            continue
        u, v = p.local(b.x, b.y)
        rn = np.hypot(u, v) / b.radius_at(np.arctan2(v, u))
        k = smoothstep(1.0, 0.2, rn) * (0.6 + 0.4 * cv.noise(p, 0.08, 2, 40))
        cv.rgb[:, p.rows, p.cols] *= (1 - 0.45 * k)[None]
