"""Lay out a scene from a seed: where strikes, trenches, positions and clutter go (metres)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import shapely
from shapely.geometry import LineString

from rams.synthetic.catalogue import (
    CATALOGUES,
    FIELD_MUNITIONS,
    add_field_negatives,
    field_item,
    field_types,
)
from rams.synthetic.scene import (
    MUNITIONS,
    PAINT,
    Blob,
    Field,
    Item,
    Path,
    Position,
    Scene,
    Strike,
    Thing,
    Trench,
)

_STONE = [(0.50, 0.49, 0.46), (0.58, 0.54, 0.47), (0.42, 0.40, 0.37), (0.62, 0.60, 0.56)]
_CAN = [(0.70, 0.71, 0.72), (0.62, 0.16, 0.14), (0.18, 0.30, 0.55), (0.75, 0.72, 0.60)]
_BOTTLE = [(0.20, 0.38, 0.20), (0.40, 0.24, 0.10), (0.72, 0.76, 0.74)]
_POST = [(0.40, 0.31, 0.22), (0.55, 0.54, 0.50), (0.30, 0.25, 0.19)]


def _count(rng: np.random.Generator, per_ha: float, area_ha: float, minimum: int) -> int:
    return max(minimum, int(rng.poisson(per_ha * area_ha)))


def _harmonics(rng: np.random.Generator, n: int, amp: float) -> tuple[tuple[float, float], ...]:
    return tuple(
        (float(rng.uniform(0, amp) / (k + 1)), float(rng.uniform(0, 2 * np.pi))) for k in range(n)
    )


def _inside(rng: np.random.Generator, bounds: tuple[float, ...], inset: float = 0.0) -> np.ndarray:
    xmin, ymin, xmax, ymax = bounds
    ix = min(inset, (xmax - xmin) / 3)
    iy = min(inset, (ymax - ymin) / 3)
    return np.array([rng.uniform(xmin + ix, xmax - ix), rng.uniform(ymin + iy, ymax - iy)])


def _trench_line(rng: np.random.Generator, centre: np.ndarray, shape: str) -> np.ndarray:
    """Zig-zag (alternating +-35..50 deg legs) or sawtooth (long leg then short jog back)."""
    length = rng.uniform(40, 300)
    heading = rng.uniform(0, 2 * np.pi)
    pts = [np.zeros(2)]
    travelled, k = 0.0, 0
    while travelled < length:
        heading += rng.normal(0, 0.06)
        if shape == "zigzag":
            turn = (1 if k % 2 == 0 else -1) * np.radians(rng.uniform(35, 50))
            leg = rng.uniform(5, 11)
        else:
            turn = np.radians(rng.uniform(15, 25)) if k % 2 == 0 else -np.pi / 2
            leg = rng.uniform(7, 13) if k % 2 == 0 else rng.uniform(1.8, 3.0)
        step = leg * np.array([np.cos(heading + turn), np.sin(heading + turn)])
        pts.append(pts[-1] + step)
        travelled += leg * abs(np.cos(turn)) if shape == "zigzag" else leg * 0.6
        k += 1
    xy = np.array(pts)
    # place a random point of the line on the chosen centre so the trench crosses the scene
    return xy - xy[rng.integers(1, len(xy))] + centre


def _strike_items(rng: np.random.Generator, s: Strike, bounds: tuple[float, ...],
                  make: Callable[[np.random.Generator, np.ndarray], Item] | None = None
                  ) -> list[Item]:
    """The items a strike left, fading out towards its ellipse's edge; ``make`` draws one at
    a point (default: the classic catalogue's)."""
    if make is None:
        length, diameter, _, _, paints = MUNITIONS[s.munition_type]

        def make(rng: np.random.Generator, p: np.ndarray) -> Item:
            return _item(rng, p, s.munition_type, s.strike_id, length, diameter, paints)
    az = np.radians(s.azimuth_deg)
    major = np.array([np.sin(az), np.cos(az)])
    minor = np.array([np.cos(az), -np.sin(az)])
    items = []
    while len(items) < s.n_items:
        u, v = rng.uniform(-1, 1, 2)
        rho2 = u * u + v * v
        # density falls off towards the ellipse edge: the fade-out of a real footprint
        if rho2 > 1 or rng.uniform() > (1 - rho2) ** 1.5:
            continue
        p = np.array([s.x, s.y]) + u * s.major_m / 2 * major + v * s.minor_m / 2 * minor
        items.append(make(rng, p))
    xmin, ymin, xmax, ymax = bounds
    return [i for i in items if xmin <= i.x < xmax and ymin <= i.y < ymax]


def _item(
    rng: np.random.Generator,
    p: np.ndarray,
    mtype: str,
    strike_id: int,
    length: float,
    diameter: float,
    paints: tuple[str, ...],
) -> Item:
    base = np.array(PAINT[paints[int(rng.integers(len(paints)))]])
    colour = np.clip(base * rng.uniform(0.85, 1.15) * rng.uniform(0.93, 1.07, 3), 0, 1)
    buried = rng.uniform() < 0.3
    return Item(
        x=float(p[0]),
        y=float(p[1]),
        munition_type=mtype,
        length_m=float(length * rng.uniform(0.97, 1.03)),
        diameter_m=float(diameter * rng.uniform(0.97, 1.03)),
        angle_rad=float(rng.uniform(0, np.pi)),
        colour=tuple(float(c) for c in colour),
        visible_fraction=float(rng.uniform(0.35, 0.9)) if buried else 1.0,
        strike_id=strike_id,
        in_grass=bool(rng.uniform() < 0.35),
    )


def make_scene(seed: int, bounds: tuple[float, float, float, float], gsd_m: float,
               catalogue: str = "classic") -> Scene:
    """Lay out every object of a flight covering ``bounds`` (xmin, ymin, xmax, ymax), metres.

    ``catalogue`` "classic" (the default: the five types of ``MUNITIONS``, the same scene for a
    seed as ever) or "field": the types, per-item appearance and look-alike negatives of
    :mod:`rams.synthetic.catalogue`, in the same strike layout."""
    if catalogue not in CATALOGUES:
        raise ValueError(f"unknown catalogue {catalogue!r}: one of {', '.join(CATALOGUES)}")
    field_cat = catalogue == "field"
    rng = np.random.default_rng([seed, 0x5CE7E])
    xmin, ymin, xmax, ymax = bounds
    area_ha = (xmax - xmin) * (ymax - ymin) / 1e4
    scene = Scene(seed, bounds, gsd_m, float(rng.uniform(110, 250)), float(rng.uniform(32, 58)))
    span = np.hypot(xmax - xmin, ymax - ymin)

    for _ in range(int(rng.poisson(area_ha / 5))):
        c = _inside(rng, bounds)
        scene.fields.append(
            Field(c[0], c[1], rng.uniform(60, 200), rng.uniform(40, 120), rng.uniform(0, np.pi),
                  rng.uniform(0.55, 0.85))
        )
    for k in range(_count(rng, 1 / 8, area_ha, 1) + _count(rng, 1 / 4, area_ha, 1)):
        kind = "road" if k == 0 or rng.uniform() < 0.3 else "tyre_track"
        c, heading = _inside(rng, bounds, 5), rng.uniform(0, np.pi)
        n = 24
        t = np.linspace(-0.5, 0.5, n) * (span * 1.3 if kind == "road" else rng.uniform(20, 80))
        bend = np.cumsum(rng.normal(0, 0.04, n))
        ang = heading + bend - bend.mean()
        xy = c + np.cumsum(np.stack([np.cos(ang), np.sin(ang)], 1), 0) * (t[1] - t[0])
        xy -= xy[n // 2] - c
        width = rng.uniform(3, 4.5) if kind == "road" else rng.uniform(1.5, 2.1)
        scene.paths.append(Path(kind, xy, float(width)))

    for tid in range(_count(rng, 1 / 3, area_ha, 2)):
        shape = "zigzag" if tid % 2 == 0 else "sawtooth"
        width = rng.uniform(0.6, 2.0)
        condition = str(rng.choice(["intact", "intact", "collapsed", "overgrown"]))
        xy = _trench_line(rng, _inside(rng, bounds, 10), shape)
        side, berm_w = int(rng.choice([-1, 1])), float(width * rng.uniform(1.2, 2.0))
        crest = shapely.offset_curve(LineString(xy), side * (width / 2 + 0.15 + berm_w / 2),
                                     join_style="mitre", mitre_limit=2.0)
        crest_xy = np.asarray(max(getattr(crest, "geoms", [crest]), key=lambda g: g.length).coords)
        scene.trenches.append(
            Trench(tid, xy, float(width), float(rng.uniform(1.0, 1.8)), shape, condition, side,
                   berm_w, float(rng.uniform(0.25, 0.5)), crest_xy)
        )
    kinds = ("firing_circular", "firing_horseshoe", "revetment", "dugout")
    for pid in range(_count(rng, 1 / 2, area_ha, 4)):
        kind = kinds[pid % 4] if pid < 4 else kinds[int(rng.integers(4))]
        if kind.startswith("firing"):
            length = width = rng.uniform(5, 12)
        elif kind == "revetment":
            length, width = rng.uniform(9, 15), rng.uniform(6, 8)
        else:
            length, width = rng.uniform(3.5, 6.5), rng.uniform(3, 4.5)
        angle = rng.uniform(0, 2 * np.pi)
        if pid % 2 == 0 and scene.trenches:  # connected: the trench ends at its edge
            t = scene.trenches[pid // 2 % len(scene.trenches)]
            d = t.xy[-1] - t.xy[-2]
            angle = float(np.arctan2(d[1], d[0]))
            c = t.xy[-1] + d / np.linalg.norm(d) * (length / 2 - 0.6)
        else:
            c = _inside(rng, bounds, 8)
        scene.positions.append(
            Position(pid, kind, float(c[0]), float(c[1]), float(length), float(width),
                     float(angle), float(rng.uniform(0.9, 1.6)))
        )

    types = field_types() if field_cat else list(MUNITIONS)
    for sid in range(_count(rng, 1 / 5, area_ha, 2)):
        if field_cat:
            mtype = types[int(rng.integers(len(types)))]
            carried, duds = FIELD_MUNITIONS[mtype].carried, FIELD_MUNITIONS[mtype].duds
        else:
            mtype = types[int(rng.integers(len(types)))] if sid else "M77"
            _, _, carried, duds, _ = MUNITIONS[mtype]
        major = rng.uniform(50, 200)
        c = _inside(rng, bounds, 0) if sid else np.array(bounds[:2]) + (
            np.array([xmax - xmin, ymax - ymin]) * rng.uniform(0.35, 0.65, 2))
        n = max(8, int(round(carried * rng.uniform(*duds))))
        s = Strike(sid, mtype, float(c[0]), float(c[1]), float(major),
                   float(major * rng.uniform(0.4, 0.6)), float(rng.uniform(0, 180)), n)
        scene.strikes.append(s)
        make = None
        if field_cat:
            def make(rng: np.random.Generator, p: np.ndarray, s: Strike = s) -> Item:
                return field_item(rng, p, s.munition_type, s.strike_id)
        scene.items.extend(_strike_items(rng, s, bounds, make))
        for _ in range(min(int(carried * 0.25), int(n * 3))):  # blast marks of those that went off
            p = np.array([s.x, s.y]) + rng.normal(0, 0.22, 2) * [s.major_m, s.minor_m]
            if xmin - 2 < p[0] < xmax + 2 and ymin - 2 < p[1] < ymax + 2:
                scene.scorches.append(Blob("scorch", p[0], p[1], rng.uniform(0.15, 0.5),
                                           _harmonics(rng, 3, 0.4), 0.0, (0.16, 0.14, 0.12)))
    for _ in range(_count(rng, 2, area_ha, 3)):
        mtype = types[int(rng.integers(len(types)))]
        if field_cat:
            scene.items.append(field_item(rng, _inside(rng, bounds, 1), mtype, -1))
            continue
        length, diameter, _, _, paints = MUNITIONS[mtype]
        scene.items.append(_item(rng, _inside(rng, bounds, 1), mtype, -1, length, diameter, paints))

    for kind, per_ha, lo, hi, hlo, hhi in (("tree_clump", 1.0, 3, 9, 4, 9),
                                           ("scrub", 1.5, 1.5, 4.5, 0.8, 2.0),
                                           ("bush", 8, 0.3, 1.0, 0.4, 1.2)):
        for _ in range(_count(rng, per_ha, area_ha, 2)):
            c = _inside(rng, bounds, 2)
            g = rng.uniform(0.85, 1.15)
            scene.vegetation.append(Blob(kind, c[0], c[1], rng.uniform(lo, hi),
                                         _harmonics(rng, 5, 0.5 if kind != "bush" else 0.3),
                                         rng.uniform(hlo, hhi),
                                         (0.15 * g, 0.22 * g, 0.09 * g)))
    for _ in range(_count(rng, 3, area_ha, 2)):
        c = _inside(rng, bounds, 3)
        scene.craters.append(Blob("crater", c[0], c[1], rng.uniform(0.6, 2.5),
                                  _harmonics(rng, 3, 0.25), rng.uniform(0.2, 0.8), (0, 0, 0)))
    for _ in range(_count(rng, 60, area_ha, 8)):
        c = _inside(rng, bounds, 0.5)
        r = rng.uniform(0.04, 0.3)
        col = np.array(_STONE[int(rng.integers(len(_STONE)))]) * rng.uniform(0.85, 1.15)
        scene.stones.append(Blob("stone", c[0], c[1], r, _harmonics(rng, 4, 0.5), r * 0.6,
                                 tuple(float(v) for v in col)))
    for kind, per_ha, palette in (("scrap", 6, None), ("can", 6, _CAN), ("bottle", 5, _BOTTLE)):
        for _ in range(_count(rng, per_ha, area_ha, 2)):
            c = _inside(rng, bounds, 0.5)
            if kind == "scrap":
                ln, wd, h = rng.uniform(0.2, 1.2), rng.uniform(0.08, 0.45), 0.03
                col = PAINT["rust"] if rng.uniform() < 0.6 else PAINT["grey"]
            elif kind == "can":
                ln, wd, h = 0.122, 0.066, 0.066
                col = palette[int(rng.integers(len(palette)))]
            else:
                ln, wd, h = rng.uniform(0.22, 0.32), 0.075, 0.075
                col = palette[int(rng.integers(len(palette)))]
            scene.things.append(Thing(kind, c[0], c[1], ln, wd, rng.uniform(0, np.pi), h, col))
    for _ in range(_count(rng, 1 / 5, area_ha, 1)):
        a, heading = _inside(rng, bounds, 3), rng.uniform(0, 2 * np.pi)
        step, col = rng.uniform(2.5, 3.5), _POST[int(rng.integers(len(_POST)))]
        side = rng.uniform(0.08, 0.14)
        for k in range(int(rng.integers(8, 30))):
            p = a + k * step * np.array([np.cos(heading), np.sin(heading)]) + rng.normal(0, 0.05, 2)
            if xmin < p[0] < xmax and ymin < p[1] < ymax:
                scene.things.append(Thing("fence_post", p[0], p[1], side, side,
                                          heading + rng.normal(0, 0.1), rng.uniform(1.0, 1.5), col))
    if field_cat:
        add_field_negatives(rng, scene, _inside, _count)
    _hide_items_under_canopy(scene)
    return scene


def _hide_items_under_canopy(scene: Scene) -> None:
    """Items under tree clumps and scrub cannot be seen: visible_fraction 0."""
    if not scene.items or not scene.vegetation:
        return
    xy = np.array([(it.x, it.y) for it in scene.items])
    hidden = np.zeros(len(xy), bool)
    order = np.argsort(xy[:, 0], kind="stable")
    xs_sorted = xy[order, 0]
    for v in scene.vegetation:
        # only the items within the blob's largest radius, found by bisection along x
        reach = v.radius_m * (1 + sum(abs(a) for a, _ in v.harmonics))
        lo, hi = np.searchsorted(xs_sorted, [v.x - reach, v.x + reach], side="left")
        near = order[lo:hi]
        near = near[np.abs(xy[near, 1] - v.y) <= reach]
        if not len(near):
            continue
        dx, dy = xy[near, 0] - v.x, xy[near, 1] - v.y
        hidden[near[np.hypot(dx, dy) < v.radius_at(np.arctan2(dy, dx))]] = True
    scene.items[:] = [replace(it, visible_fraction=0.0)
                      if h and it.visible_fraction != 0.0 else it
                      for it, h in zip(scene.items, hidden, strict=True)]
