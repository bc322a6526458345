"""Small objects on the ground (submunitions, stones, litter, posts) and vegetation."""

from __future__ import annotations

import numpy as np

from rams.synthetic.canvas import Canvas, Patch, smoothstep
from rams.synthetic.geometry import box_sdf, capsule_sdf
from rams.synthetic.ground import DRY_GRASS, SOIL
from rams.synthetic.scene import Blob, FieldItem, Item, Thing

_SHADOW = 0.5  # fraction of light left in a cast shadow (sky light)
# the field catalogue's look-alikes, painted by rams.synthetic.field_paint
_FIELD_THINGS = frozenset({"cap", "pine_cone", "litter", "cartridge", "fragment"})


def _coverage(sdf: np.ndarray, gsd: float) -> np.ndarray:
    """Anti-aliased pixel coverage of a shape from its signed distance (m)."""
    return np.clip(0.5 - sdf / gsd, 0, 1).astype(np.float32)


def _cylinder_light(cv: Canvas, v: np.ndarray, radius: float, angle: float) -> np.ndarray:
    """Lambert + specular light across a lying cylinder; v = across-axis offset (m)."""
    sun = cv.scene.sun_vector
    t = np.clip(v / radius, -1, 1)
    up = np.sqrt(1 - t * t)
    # the cylinder's across-axis unit vector in map coordinates is (-sin a, cos a)
    lam = np.maximum(t * (-np.sin(angle) * sun[0] + np.cos(angle) * sun[1]) + up * sun[2], 0)
    return (0.35 + 0.75 * lam + 0.35 * lam**12).astype(np.float32)


def _cast(cv: Canvas, p: Patch, sdf_at, height: float, steps: int = 1) -> None:
    """Darken ground where the footprint, swept up to ``height``, throws its shadow."""
    sx, sy = cv.scene.shadow_offset(height)
    sdf = sdf_at(sx, sy)
    for k in range(1, steps):  # tall objects: the shadow starts at the foot
        sdf = np.minimum(sdf, sdf_at(sx * k / steps, sy * k / steps))
    shadow = _coverage(sdf, cv.gsd)
    cv.rgb[:, p.rows, p.cols] *= (1 - (1 - _SHADOW) * shadow)[None]


def _grass_over(cv: Canvas, p: Patch, alpha: np.ndarray, k: int) -> np.ndarray:
    """Blades of grass hiding part of an object lying in grass."""
    blades = smoothstep(0.0, 0.5, cv.noise(p, 0.025, 2, k))
    return alpha * (1 - 0.75 * blades)


def paint_item(cv: Canvas, it: Item, p: Patch, k: int) -> None:
    """A submunition: painted cylinder (or ball), small shadow, partly buried, maybe in grass."""
    if isinstance(it, FieldItem):
        from rams.synthetic.field_paint import paint_field_item  # it builds on these helpers

        paint_field_item(cv, it, p, k)
        return
    L, D, a = it.length_m, it.diameter_m, it.angle_rad

    def sdf_at(ox: float, oy: float) -> np.ndarray:
        u, v = p.local(it.x + ox, it.y + oy, a)
        if it.munition_type == "AO-2.5RT":  # tail fins wider than the body
            return np.minimum(capsule_sdf(u, v, L, D), box_sdf(u + 0.4 * L, v, 0.1 * L, 0.6 * D))
        return capsule_sdf(u, v, L, D)

    u, v = p.local(it.x, it.y, a)
    body = _coverage(sdf_at(0, 0), cv.gsd)
    cut = -L / 2 + (1 - it.visible_fraction) * L  # the -u end is under soil up to here
    if it.visible_fraction < 1:
        body *= smoothstep(cut - 0.01, cut + 0.01, u)
    if it.visible_fraction > 0:
        _cast(cv, p, sdf_at, D * min(it.visible_fraction * 1.5, 1.0))
    col = np.array(it.colour, np.float32)[:, None, None]
    if it.munition_type == "ShOAB-0.5":
        light = _cylinder_light(cv, v, D / 2, a) * _cylinder_light(cv, u, D / 2, a + np.pi / 2)
        light = np.sqrt(light)
    else:
        light = _cylinder_light(cv, v, D / 2, a)
    tail = smoothstep(0.3 * L, 0.34 * L, u)  # tail end: fins, fuze or band, darker
    wear = 1 + 0.12 * cv.noise(p, 0.02, 1, 80 + k % 97)
    shading = (light * wear * (1 - 0.3 * tail))[None]
    alpha = body * (it.visible_fraction > 0)
    if it.in_grass:
        alpha = _grass_over(cv, p, alpha, 81 + k % 89)
    cv.mix(p, col * shading, alpha)
    if it.visible_fraction < 1:  # soil heaped over the buried end
        r = (cut + L / 2) / 2 + 0.6 * D
        mound = smoothstep(r, 0.4 * r, np.hypot(u - (cut - L / 2) / 2, v))
        cv.mix(p, SOIL * np.float32(1.1), mound * 0.7)
    cv.z[p.rows, p.cols] += D * body * np.sqrt(np.clip(1 - (2 * v / D) ** 2, 0, 1))


#: How a stone-like blob looks, by kind: (crumbly edge as a share of its radius, light at no sun,
#: light from the sun, mottling, mottling cell in metres, noise seed). A soil clod of the field
#: catalogue is lumpy and matte; a stone smooth and lit.
_BLOB_LOOKS = {"stone": (0.0, 0.4, 0.7, 0.1, 0.03, 90), "clod": (0.25, 0.45, 0.55, 0.25, 0.008, 151)}


def paint_stone(cv: Canvas, b: Blob, p: Patch, k: int) -> None:
    """A stone (rounded, lit from the sun, with a shadow, mottled surface) or a soil clod."""
    crumbly, dark, lit, mottle, cell, seed = _BLOB_LOOKS.get(b.kind, _BLOB_LOOKS["stone"])

    def sdf_at(ox: float, oy: float) -> np.ndarray:
        u, v = p.local(b.x + ox, b.y + oy)
        return (np.hypot(u, v) - b.radius_at(np.arctan2(v, u))).astype(np.float32)

    _cast(cv, p, sdf_at, b.height_m * 0.8)
    u, v = p.local(b.x, b.y)
    r = b.radius_at(np.arctan2(v, u))
    edge = np.hypot(u, v) - r
    if crumbly:
        edge = edge + crumbly * b.radius_m * cv.noise(p, 0.01, 2, 150 + k % 53)
    body = _coverage(edge, cv.gsd)
    sun = cv.scene.sun_vector
    tu, tv = np.clip(u / r, -1, 1), np.clip(v / r, -1, 1)
    up = np.sqrt(np.clip(1 - tu * tu - tv * tv, 0, 1))
    lam = np.maximum(tu * sun[0] + tv * sun[1] + up * sun[2], 0)
    light = dark + lit * lam + mottle * cv.noise(p, cell, 2, seed + k % 53)
    cv.mix(p, np.array(b.colour, np.float32)[:, None, None] * light[None], body)
    cv.z[p.rows, p.cols] += b.height_m * up * body


def paint_thing(cv: Canvas, t: Thing, p: Patch, k: int) -> None:
    """Litter and fence posts: scrap plate, tin can, bottle, post with a long shadow."""
    if t.kind in _FIELD_THINGS:
        from rams.synthetic.field_paint import paint_field_thing

        paint_field_thing(cv, t, p, k)
        return
    a = t.angle_rad
    col = np.array(t.colour, np.float32)[:, None, None]
    u, v = p.local(t.x, t.y, a)
    if t.kind == "fence_post":  # a vertical post: its shadow is the footprint swept to the tip
        sx, sy = cv.scene.shadow_offset(t.height_m)
        su, sv = p.local(t.x + sx / 2, t.y + sy / 2, np.arctan2(sy, sx))
        shadow = _coverage(capsule_sdf(su, sv, np.hypot(sx, sy) + t.width_m, t.width_m), cv.gsd)
        cv.rgb[:, p.rows, p.cols] *= (1 - (1 - _SHADOW) * shadow)[None]
        body = _coverage(box_sdf(u, v, t.length_m / 2, t.width_m / 2), cv.gsd)
        rings = 1 + 0.15 * cv.noise(p, 0.02, 1, 100 + k % 61)
        cv.mix(p, col * rings[None], body)
        cv.z[p.rows, p.cols] += t.height_m * body
        return

    def sdf_at(ox: float, oy: float) -> np.ndarray:
        uu, vv = p.local(t.x + ox, t.y + oy, a)
        if t.kind == "scrap":
            bend = 0.15 * t.width_m * np.sin(uu / max(t.length_m, 0.1) * 3 + k)
            return box_sdf(uu, vv + bend, t.length_m / 2, t.width_m / 2)
        if t.kind == "bottle":  # body plus a narrower neck at +u
            neck = capsule_sdf(uu - 0.38 * t.length_m, vv, 0.3 * t.length_m, 0.35 * t.width_m)
            return np.minimum(capsule_sdf(uu + 0.1 * t.length_m, vv, 0.75 * t.length_m,
                                          t.width_m), neck)
        return capsule_sdf(uu, vv, t.length_m, t.width_m)

    _cast(cv, p, sdf_at, t.height_m)
    body = _coverage(sdf_at(0, 0), cv.gsd)
    if t.kind == "scrap":
        rust = smoothstep(-0.2, 0.4, cv.noise(p, 0.05, 2, 110 + k % 71))
        shade = col * (0.8 + 0.3 * cv.noise(p, 0.03, 1, 111))[None]
        shade = shade + (np.array([0.42, 0.24, 0.12], np.float32)[:, None, None] - shade) * rust
        edge = smoothstep(-0.02, 0.0, sdf_at(0, 0))
        cv.mix(p, shade * (1 + 0.4 * edge)[None], body)
    elif t.kind == "can":
        light = _cylinder_light(cv, v, t.width_m / 2, a)
        metal = light**2.0 * (0.8 + 0.6 * smoothstep(0.35 * t.length_m, 0.4 * t.length_m,
                                                     np.abs(u)))
        cv.mix(p, col * metal[None], body)
    else:  # glass: ground tinted through it, a bright glint along the top
        light = _cylinder_light(cv, v, t.width_m / 2, a)
        seen = cv.ground_colour(p) * 0.5 + col * 0.6
        glint = smoothstep(1.0, 1.3, light)
        cv.mix(p, seen * light[None] + glint[None] * 0.5, body * 0.9)
    cv.z[p.rows, p.cols] += t.height_m * body


def paint_vegetation(cv: Canvas, b: Blob, p: Patch, k: int) -> None:
    """Tree clump, scrub or bush: lumpy lit canopy with leaf texture and a cast shadow."""
    fuzz = 0.08 * b.radius_m * cv.noise(p, 0.25, 2, 120)

    def sdf_at(ox: float, oy: float) -> np.ndarray:
        u, v = p.local(b.x + ox, b.y + oy)
        return (np.hypot(u, v) - b.radius_at(np.arctan2(v, u))).astype(np.float32) + fuzz

    _cast(cv, p, sdf_at, b.height_m * 0.75, steps=4)
    sdf = sdf_at(0, 0)
    body = _coverage(sdf, cv.gsd)
    crown_cell = {"tree_clump": 1.4, "scrub": 0.6, "bush": 0.25}[b.kind]
    # canopy height: dome towards the middle plus crowns of separate plants
    dome = np.sqrt(np.clip(-sdf / max(b.radius_m, 0.1), 0, 1))
    crowns = cv.noise(p, crown_cell, 3, 121 + k % 7)
    h = b.height_m * (0.6 * dome + 0.4 * smoothstep(-0.6, 0.6, crowns) * dome)
    gy, gx = np.gradient(h, cv.gsd) if min(h.shape) > 1 else (0 * h, 0 * h)
    sun = cv.scene.sun_vector
    lam = (-gx * sun[0] + gy * sun[1] + sun[2]) / np.sqrt(1 + gx * gx + gy * gy)
    light = 0.35 + 0.9 * np.clip(lam, 0, 1.2) / sun[2] * 0.6
    leaves = 1 + 0.25 * cv.noise(p, 0.05, 2, 122) + 0.1 * cv.noise(p, 0.5, 2, 123)
    col = np.array(b.colour, np.float32)[:, None, None]
    dry = DRY_GRASS[:, None, None] * 0.55
    tint = smoothstep(0.2, 0.8, cv.noise(p, 3, 2, 124))[None] * (0.3 if b.kind == "scrub" else 0.1)
    canopy = (col + (dry - col) * tint) * (light * leaves)[None]
    cv.mix(p, canopy, body)
    cv.z[p.rows, p.cols] += h * body


def paint_objects(cv: Canvas) -> None:
    """Everything standing on the ground, in drawing order (vegetation last: it hides the rest)."""
    sc = cv.scene
    for layer, paint in (("stones", paint_stone), ("things", paint_thing),
                         ("items", paint_item), ("vegetation", paint_vegetation)):
        objs = getattr(sc, layer)
        for i in sc.near(layer, cv.box):
            p = cv.patch(sc.index[layer][i])
            if p is not None:
                paint(cv, objs[i], p, i)
