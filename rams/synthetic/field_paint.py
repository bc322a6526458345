"""Painters of the field catalogue (see :mod:`rams.synthetic.catalogue`): submunitions and
mines of six shapes with worn paint, rust, dust, burial, tilt and bend, and the look-alike
negatives (bottle caps, pine cones, litter, cartridge cases, metal fragments, soil clods).

Shapes are signed distances in the item's own frame: u along the long axis (+u the nose or
fuze end, -u the tail, which is the end that goes under soil), v across it. The classic
painters in :mod:`rams.synthetic.objects` hand field objects over to these.
"""

from __future__ import annotations

import numpy as np

from rams.synthetic.canvas import Canvas, Patch, smoothstep
from rams.synthetic.geometry import box_sdf, capsule_sdf
from rams.synthetic.ground import SOIL
from rams.synthetic.objects import _cast, _coverage, _cylinder_light, _grass_over
from rams.synthetic.scene import FieldItem, Thing

_BARE = np.array([0.50, 0.50, 0.48], np.float32)  # steel where the paint is worn off
_RUST = np.array([0.42, 0.24, 0.12], np.float32)
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def _body_sdf(it: FieldItem, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Signed distance to the item's outline seen from above (m), in its own frame."""
    L, D, W = it.length_m, it.diameter_m, max(it.width_m, 1e-4)
    if it.tilt_rad:  # the raised nose: the whole seen foreshortened along the axis
        u = u / np.float32(np.cos(it.tilt_rad))
    if it.bend:  # a bow: the axis bends sideways, most at the ends
        v = v - np.float32(it.bend * L) * ((2 * u / L) ** 2 - 1 / 3)
    if it.shape == "finned":  # body, then a tail of fins flaring out to ``width_m``
        body = capsule_sdf(u - 0.05 * L, v, 0.9 * L, D)
        fins = np.maximum(box_sdf(u + 0.39 * L, v, 0.11 * L, W / 2),
                          (np.abs(v) - W / 2) + 0.6 * (u + 0.3 * L))
        return np.minimum(body, fins)
    if it.shape == "tailed":  # body, a thinner boom and a box tail
        body = capsule_sdf(u - 0.1 * L, v, 0.8 * L, D)
        boom = box_sdf(u + 0.32 * L, v, 0.1 * L, 0.3 * D)
        return np.minimum(np.minimum(body, boom), box_sdf(u + 0.44 * L, v, 0.06 * L, W / 2))
    if it.shape == "sphere":
        return (np.hypot(u, v) - D / 2).astype(np.float32)
    if it.shape == "butterfly":  # a thick body at -u, one wide flat wing towards +u
        r = 0.15 * W
        body = box_sdf(u + 0.3 * L, v + 0.12 * W, 0.2 * L - r, 0.38 * W - r) - r
        taper = np.clip(u / L + 0.1, 0, 0.6) * 0.25 * W  # the wing narrows towards its tip
        wing = box_sdf(u - 0.175 * L, v, 0.325 * L, W / 2) + taper
        return np.minimum(body, wing).astype(np.float32)
    if it.shape == "box":
        r = 0.12 * D
        return (box_sdf(u, v, L / 2 - r, D / 2 - r) - r).astype(np.float32)
    return capsule_sdf(u, v, L, D)  # ribbon: the DPICM body, a short cylinder


def _ribbon_sdf(it: FieldItem, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The nylon ribbon trailing from the nose, lying flat in a curl (m)."""
    L, R = it.length_m, it.ribbon_m
    if it.tilt_rad:
        u = u / np.float32(np.cos(it.tilt_rad))
    s = np.clip((u - L / 2) / max(R, 1e-3), 0, 1)  # 0 at the nose, 1 at the ribbon's end
    centre = np.float32(it.ribbon_curl * 0.35 * R) * np.sin(np.float32(np.pi) * s * 1.5) * s
    half_w = 0.2 * it.diameter_m
    along = box_sdf(u - (L / 2 + R / 2 - 0.1 * L), np.zeros_like(u), R / 2 + 0.1 * L, 1.0)
    return np.maximum(np.abs(v - centre) - half_w, along).astype(np.float32)


def _light(cv: Canvas, it: FieldItem, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Light across the item as its shape catches the sun."""
    a, D = it.angle_rad, it.diameter_m
    if it.shape == "sphere":
        return np.sqrt(_cylinder_light(cv, v, D / 2, a) *
                       _cylinder_light(cv, u, D / 2, a + np.pi / 2))
    if it.shape == "box":  # flat top, bevelled edges
        h = D / 2
        flat = np.sign(v) * np.abs(v) ** 4 / np.float32(h**3)
        return _cylinder_light(cv, flat, h, a)
    if it.shape == "butterfly":  # a pillow of a body, a flat wing
        body = u < -0.12 * it.length_m
        pillow = _cylinder_light(cv, v * 0.6, it.width_m / 2, a)
        flat = _cylinder_light(cv, np.zeros_like(v), 1.0, a)
        return np.where(body, pillow, flat * 1.08).astype(np.float32)
    return _cylinder_light(cv, v, D / 2, a)


def _weathered(cv: Canvas, it: FieldItem, p: Patch, k: int, ground: np.ndarray
               ) -> np.ndarray:
    """The item's colour (3, h, w): paint, worn to bare metal (or faded plastic), rust patches,
    then dust: desaturated and drawn towards the colour of the ground around it."""
    col = np.broadcast_to(np.array(it.colour, np.float32)[:, None, None],
                          (3, len(p.ys), len(p.xs))).copy()
    if it.wear > 0:
        n = cv.noise(p, 0.012, 2, 140 + k % 97)
        worn = smoothstep(0.9 - 1.2 * it.wear, 1.3 - 1.2 * it.wear, n) * 0.85
        # steel shows through worn paint; plastic only fades
        bare = col * 0.6 + 0.25 if it.shape == "butterfly" else _BARE[:, None, None]
        col += (bare - col) * worn[None]
    if it.rust > 0:
        n = cv.noise(p, 0.02, 2, 141 + k % 89)
        patches = smoothstep(0.8 - 1.3 * it.rust, 1.1 - 1.3 * it.rust, n)
        col += (_RUST[:, None, None] - col) * patches[None]
    if it.dirt > 0:
        lum = np.tensordot(_LUMA, col, 1)[None]
        col = lum + (col - lum) * np.float32(1 - 0.6 * it.dirt)
        dust = it.dirt * (0.55 + 0.45 * smoothstep(-0.6, 0.6, cv.noise(p, 0.015, 2, 142 + k % 83)))
        col += (ground[:, None, None] - col) * (0.8 * dust)[None]
    return col


def paint_field_item(cv: Canvas, it: FieldItem, p: Patch, k: int) -> None:
    """A field-catalogue item: shadow, weathered body with its shape's light, ribbon, soil
    heaped over the buried tail, grass over it where it lies in grass."""
    a, L = it.angle_rad, it.length_m
    ground = cv.ground_colour(p).reshape(3, -1).mean(1)

    def sdf_at(ox: float, oy: float) -> np.ndarray:
        return _body_sdf(it, *p.local(it.x + ox, it.y + oy, a))

    u, v = p.local(it.x, it.y, a)
    sdf = _body_sdf(it, u, v)
    body = _coverage(sdf, cv.gsd)
    cut = -L / 2 + (1 - it.visible_fraction) * L  # the tail end is under soil up to here
    if it.visible_fraction < 1:
        body *= smoothstep(cut - 0.01, cut + 0.01, u / np.float32(np.cos(it.tilt_rad)))
    if it.visible_fraction > 0:
        _cast(cv, p, sdf_at, it.shadow_height_m * min(it.visible_fraction * 1.5, 1.0),
              steps=2 if it.tilt_rad > 0.05 else 1)
    if it.ribbon_m > 0 and it.visible_fraction > 0:
        ribbon = _coverage(_ribbon_sdf(it, u, v), cv.gsd)
        folds = 0.9 + 0.15 * cv.noise(p, 0.01, 1, 143 + k % 79)
        flat = _cylinder_light(cv, np.zeros_like(v), 1.0, a)
        cv.mix(p, np.array(it.accent, np.float32)[:, None, None] * (flat * folds)[None],
               _grass_over(cv, p, ribbon, 144 + k % 73) if it.in_grass else ribbon * 0.95)
    col = _weathered(cv, it, p, k, ground)
    light = _light(cv, it, u, v)
    mark = np.ones_like(u)
    if it.shape in ("finned", "tailed"):  # the tail is a darker assembly
        mark = 1 - 0.25 * smoothstep(-0.28 * L, -0.32 * L, u)
    elif it.shape == "box":  # the fuze well at the nose
        mark = 1 - 0.6 * _coverage(np.hypot(u - 0.38 * L, v) - 0.22 * it.diameter_m, cv.gsd)
    elif it.shape == "ribbon":  # the fuze band at the nose
        mark = 1 - 0.3 * smoothstep(0.3 * L, 0.36 * L, u)
    texture = 1 + 0.1 * cv.noise(p, 0.02, 1, 145 + k % 97)
    alpha = body * (it.visible_fraction > 0)
    if it.in_grass:
        alpha = _grass_over(cv, p, alpha, 81 + k % 89)
    cv.mix(p, col * (light * mark * texture)[None], alpha)
    if it.visible_fraction < 1:  # soil heaped over the buried end
        r = (cut + L / 2) / 2 + 0.6 * it.diameter_m
        mound = smoothstep(r, 0.4 * r, np.hypot(u - (cut - L / 2) / 2, v))
        cv.mix(p, SOIL * np.float32(1.1), mound * 0.7)
    cv.z[p.rows, p.cols] += it.height_m * body * smoothstep(0.0, -0.3 * it.diameter_m, sdf)


def _thing_sdf(t: Thing, cv: Canvas, p: Patch, u: np.ndarray, v: np.ndarray, k: int
               ) -> np.ndarray:
    L, W = t.length_m, t.width_m
    if t.kind == "cap":
        return (np.hypot(u, v) - L / 2).astype(np.float32)
    if t.kind in ("litter", "fragment"):  # irregular: a capsule eaten into at its edge
        cell = 0.04 if t.kind == "litter" else 0.015
        ragged = cv.noise(p, cell, 2, 160 + k % 67)
        return capsule_sdf(u, v, L, W) + np.float32(0.18 * W) * (1 + ragged)
    if t.kind == "cartridge":  # case with a narrower neck at +u
        neck = capsule_sdf(u - 0.4 * L, v, 0.2 * L, 0.75 * W)
        return np.minimum(box_sdf(u + 0.08 * L, v, 0.42 * L, W / 2), neck)
    return capsule_sdf(u, v, L, W)  # pine cone


def paint_field_thing(cv: Canvas, t: Thing, p: Patch, k: int) -> None:
    """Bottle cap, pine cone, litter, cartridge case or metal fragment."""
    a = t.angle_rad
    col = np.array(t.colour, np.float32)[:, None, None]

    def sdf_at(ox: float, oy: float) -> np.ndarray:
        return _thing_sdf(t, cv, p, *p.local(t.x + ox, t.y + oy, a), k)

    u, v = p.local(t.x, t.y, a)
    sdf = _thing_sdf(t, cv, p, u, v, k)
    body = _coverage(sdf, cv.gsd)
    if t.kind != "litter":
        _cast(cv, p, sdf_at, t.height_m)
    flat = _cylinder_light(cv, np.zeros_like(v), 1.0, a)
    if t.kind == "cap":  # a crimped rim catches the light, the middle is flat
        rim = smoothstep(-0.006, -0.002, sdf)
        light = flat * (1 + 0.35 * rim * np.cos(np.arctan2(v, u) * 21))
        cv.mix(p, col * light[None], body)
    elif t.kind == "pine_cone":  # overlapping scales: a diamond pattern, dark gaps
        s = 2 * np.pi / (0.16 * t.length_m)
        scales = np.abs(np.sin(s * (u + v)) * np.sin(s * (u - v)))
        light = _cylinder_light(cv, v, t.width_m / 2, a) * (0.55 + 0.55 * scales)
        cv.mix(p, col * light[None], body)
    elif t.kind == "litter":  # thin, creased, lets a little ground show through
        creases = 1 + 0.18 * cv.noise(p, 0.03, 2, 161 + k % 59)
        cv.mix(p, col * (flat * creases)[None], body * 0.85)
    elif t.kind == "cartridge":  # shiny brass: a bright line along the top, dark rim
        light = _cylinder_light(cv, v, t.width_m / 2, a) ** 1.5
        rim = 1 - 0.35 * smoothstep(-0.42 * t.length_m, -0.46 * t.length_m, u)
        cv.mix(p, col * (light * rim)[None], body)
    else:  # fragment: jagged steel, rust and dark scale, bright torn edges
        rust = smoothstep(-0.3, 0.5, cv.noise(p, 0.02, 2, 162 + k % 71))
        shade = col * (0.8 + 0.3 * cv.noise(p, 0.01, 1, 163 + k % 61))[None]
        shade = shade + (np.array([0.40, 0.23, 0.12], np.float32)[:, None, None] - shade) * (
            0.6 * rust)[None]
        edge = smoothstep(-0.006, 0.0, sdf)
        cv.mix(p, shade * (flat * (1 + 0.35 * edge))[None], body)
    cv.z[p.rows, p.cols] += t.height_m * body

