"""The "field" catalogue: submunitions, scatterable mines and look-alike litter as varied as a
real field's, for composites on real ground and for any scene that asks for it.

``make_scene(..., catalogue="field")`` lays strikes out as the classic catalogue does (one type
per strike, fading out towards the edge of an ellipse) but draws each strike's type from
``FIELD_MUNITIONS`` and gives every item its own appearance (:class:`FieldItem`): one of several
paints, wear, rust, dust, partial burial, tilt, a slight bend and a size within +-8 % of its
type's. It then adds the look-alike negatives of ``FIELD_NEGATIVES`` (labelled as distractors).
The classic catalogue (``MUNITIONS`` in :mod:`rams.synthetic.scene`) is left as it was, so every
existing seed gives the same flight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rams.synthetic.scene import Blob, FieldItem, Scene, Thing

CATALOGUES = ("classic", "field")


@dataclass(frozen=True)
class Munition:
    """One type of the field catalogue; sizes in metres, lying on the ground."""

    length_m: float  # overall, nose to tail (the butterfly: body plus wing)
    diameter_m: float  # body (the box: its side; the butterfly: its width)
    width_m: float  # widest part across the long axis: fins, tail or wing
    height_m: float  # how high it stands lying flat
    shape: str  # finned | tailed | ribbon | sphere | butterfly | box
    carried: int  # per rocket, shell, bomb or dispenser
    duds: tuple[float, float]  # share left on the ground (mines: left armed)
    paints: tuple[str, ...]
    accent: str = "white"  # ribbon / band colour


# Sizes are nominal and rounded, from open ordnance-recognition references: the CAT-UXO
# database (cat-uxo.com), GICHD/ORDATA recognition sheets, Armament Research Services (ARES)
# reports on cluster munitions in Syria and Ukraine, and Landmine and Cluster Munition Monitor
# carrier data. Where the references disagree (ShOAB-0.5: 60-90 mm) the middle is taken.
# Carriers: 9M55K Smerch (72 x 9N235), 9M27K Uragan (30 x 9N210), RBK-500 (108 x AO-2.5RT,
# 268 x PTAB-1M, 565 x ShOAB-0.5), M26 MLRS (644 x M77), M483A1 (88 x M42), 155 mm M395/M396
# (63 x M095/M85-type), CBU-87 (202 x BLU-97/B), 9M27K3 Uragan (312 x PFM-1S), 9M27K2 (24 x
# PTM-1).
FIELD_MUNITIONS: dict[str, Munition] = {
    "9N235": Munition(0.263, 0.065, 0.080, 0.065, "finned", 72, (0.15, 0.35),
                      ("olive", "grey", "green", "dark_green")),
    "9N210": Munition(0.263, 0.065, 0.080, 0.065, "finned", 30, (0.15, 0.35),
                      ("olive", "grey", "green", "dark_green")),
    "AO-2.5RT": Munition(0.15, 0.09, 0.09, 0.09, "finned", 108, (0.10, 0.25),
                         ("grey", "olive", "dark_green", "rust")),
    "PTAB-1M": Munition(0.26, 0.042, 0.050, 0.050, "tailed", 268, (0.06, 0.15),
                        ("grey", "olive", "green")),
    "ShOAB-0.5": Munition(0.075, 0.075, 0.075, 0.075, "sphere", 565, (0.03, 0.08),
                          ("olive", "rust", "yellow", "grey")),
    "M095": Munition(0.10, 0.040, 0.040, 0.040, "ribbon", 63, (0.03, 0.10),
                     ("olive", "khaki", "grey"), "white"),
    "M77": Munition(0.083, 0.039, 0.039, 0.039, "ribbon", 644, (0.04, 0.10),
                    ("olive", "yellow"), "white"),
    "M42": Munition(0.083, 0.039, 0.039, 0.039, "ribbon", 88, (0.04, 0.14),
                    ("olive", "yellow", "khaki"), "cream"),
    "BLU-97": Munition(0.20, 0.064, 0.058, 0.064, "tailed", 202, (0.05, 0.15),
                       ("yellow", "bright_yellow"), "olive"),
    "PFM-1": Munition(0.12, 0.061, 0.061, 0.020, "butterfly", 312, (0.4, 0.9),
                      ("green", "sand", "brown", "dark_green")),
    "PTM-1": Munition(0.34, 0.070, 0.070, 0.070, "box", 24, (0.5, 1.0),
                      ("olive", "green", "dark_green"), "black"),
}

# Linear RGB (0-1) base colours of the field catalogue's paints and plastics.
FIELD_PAINT: dict[str, tuple[float, float, float]] = {
    "olive": (0.30, 0.31, 0.19),
    "dark_green": (0.17, 0.21, 0.14),
    "green": (0.24, 0.32, 0.19),
    "grey": (0.47, 0.48, 0.46),
    "khaki": (0.52, 0.47, 0.33),
    "yellow": (0.62, 0.54, 0.24),
    "bright_yellow": (0.80, 0.68, 0.18),
    "sand": (0.66, 0.58, 0.42),
    "brown": (0.38, 0.28, 0.18),
    "rust": (0.45, 0.26, 0.14),
    "white": (0.86, 0.86, 0.83),
    "cream": (0.80, 0.76, 0.62),
    "black": (0.10, 0.10, 0.09),
}

SIZE_JITTER = 0.08  # each item's size lies within +-8 % of its type's
_RIBBON_M = (0.06, 0.16)  # length of the trailing ribbon / streamer of DPICM

# Look-alike negatives: kind -> (per ha, at least per scene). Densities of a used field.
FIELD_NEGATIVES: dict[str, tuple[float, int]] = {
    "cap": (40, 2), "pine_cone": (30, 1), "litter": (30, 1), "cartridge": (60, 2),
    "fragment": (150, 3), "clod": (300, 4), "can": (6, 1), "bottle": (5, 1),
}
_CAP = [(0.72, 0.72, 0.70), (0.70, 0.58, 0.25), (0.62, 0.15, 0.12), (0.15, 0.28, 0.60),
        (0.85, 0.85, 0.82), (0.20, 0.45, 0.20)]
_LITTER = [(0.85, 0.85, 0.82), (0.78, 0.80, 0.84), (0.72, 0.65, 0.50), (0.62, 0.70, 0.80),
           (0.30, 0.30, 0.30), (0.80, 0.40, 0.35)]
_CASE = [(0.70, 0.52, 0.22), (0.66, 0.46, 0.20), (0.38, 0.38, 0.30)]  # brass, brass, lacquered
# cartridge cases (length, rim diameter), m: 5.45x39, 7.62x39, 5.56x45, 7.62x54R, 12.7x99,
# 12.7x108 (kept within 0.04-0.1 m long)
_CASE_SIZES = ((0.039, 0.010), (0.039, 0.011), (0.045, 0.0095), (0.054, 0.0124),
               (0.099, 0.020), (0.100, 0.0215))
_CLOD = [(0.46, 0.36, 0.26), (0.40, 0.31, 0.22), (0.52, 0.43, 0.32), (0.34, 0.27, 0.20)]


def field_types() -> list[str]:
    return list(FIELD_MUNITIONS)


def field_item(rng: np.random.Generator, p: np.ndarray, mtype: str, strike_id: int
               ) -> FieldItem:
    """One item of type ``mtype`` at ``p`` with its own paint, wear, burial, pose and size."""
    m = FIELD_MUNITIONS[mtype]
    scale = rng.uniform(1 - SIZE_JITTER, 1 + SIZE_JITTER)
    base = np.array(FIELD_PAINT[m.paints[int(rng.integers(len(m.paints)))]])
    colour = np.clip(base * rng.uniform(0.85, 1.15) * rng.uniform(0.93, 1.07, 3), 0, 1)
    buried = rng.uniform() < 0.3
    flat = m.shape in ("butterfly", "sphere")
    ribbon = rng.uniform(*_RIBBON_M) * scale if m.shape == "ribbon" else 0.0
    # age: paint wear, rust and dust come together in an old strike, less in a fresh one
    age = rng.uniform()
    plastic = m.shape == "butterfly"
    return FieldItem(
        x=float(p[0]), y=float(p[1]), munition_type=mtype,
        length_m=float(m.length_m * scale), diameter_m=float(m.diameter_m * scale),
        angle_rad=float(rng.uniform(0, 2 * np.pi)),
        colour=tuple(float(c) for c in colour),
        visible_fraction=float(rng.uniform(0.35, 0.9)) if buried else 1.0,
        strike_id=strike_id, in_grass=bool(rng.uniform() < 0.35),
        shape=m.shape, width_m=float(m.width_m * scale), height_m=float(m.height_m * scale),
        tilt_rad=0.0 if flat else float(abs(rng.normal(0, np.radians(8)))),
        bend=0.0 if m.shape == "sphere" else float(rng.normal(0, 0.025)),
        wear=float(np.clip(age * rng.uniform(0.2, 1.0), 0, 1)),
        rust=0.0 if plastic else float(np.clip(age * rng.uniform(-0.3, 0.9), 0, 1)),
        dirt=float(np.clip(rng.uniform(-0.1, 0.4) + 0.3 * age, 0, 0.75)),
        accent=FIELD_PAINT[m.accent], ribbon_m=float(ribbon),
        ribbon_curl=float(rng.uniform(-1, 1)),
    )


def add_field_negatives(rng: np.random.Generator, scene: Scene, inside, count) -> None:
    """Look-alike negatives of ``FIELD_NEGATIVES`` scattered over the scene; ``inside`` and
    ``count`` are the layout's helpers (a point in the bounds, a Poisson count with minimum)."""
    xmin, ymin, xmax, ymax = scene.bounds
    area_ha = (xmax - xmin) * (ymax - ymin) / 1e4
    for kind, (per_ha, least) in FIELD_NEGATIVES.items():
        for _ in range(count(rng, per_ha, area_ha, least)):
            c = inside(rng, scene.bounds, 0.3)
            angle = float(rng.uniform(0, np.pi))
            if kind == "clod":
                r = rng.uniform(0.03, 0.12)
                col = np.array(_CLOD[int(rng.integers(len(_CLOD)))]) * rng.uniform(0.85, 1.15)
                harm = tuple((float(rng.uniform(0, 0.6) / (k + 1)), float(rng.uniform(0, 2 * np.pi)))
                             for k in range(5))
                scene.stones.append(Blob("clod", float(c[0]), float(c[1]), float(r), harm,
                                         float(r * 0.5), tuple(float(v) for v in col)))
                continue
            if kind == "cap":
                d = rng.uniform(0.026, 0.034)
                ln, wd, h, col = d, d, 0.006, _CAP[int(rng.integers(len(_CAP)))]
            elif kind == "pine_cone":
                s = rng.uniform(0.8, 1.2)
                ln, wd, h = 0.08 * s, 0.05 * s, 0.05 * s
                col = tuple(float(v) for v in np.array((0.36, 0.24, 0.13)) * rng.uniform(0.8, 1.2))
            elif kind == "litter":
                ln = rng.uniform(0.10, 0.40)
                wd, h = ln * rng.uniform(0.4, 0.9), 0.008
                col = _LITTER[int(rng.integers(len(_LITTER)))]
            elif kind == "cartridge":
                ln, wd = _CASE_SIZES[int(rng.integers(len(_CASE_SIZES)))]
                h, col = wd, _CASE[int(rng.integers(len(_CASE)))]
            elif kind == "fragment":
                ln = rng.uniform(0.03, 0.20)
                wd, h = ln * rng.uniform(0.25, 0.7), 0.01
                col = (0.42, 0.25, 0.13) if rng.uniform() < 0.5 else (0.22, 0.22, 0.21)
            elif kind == "can":
                ln, wd, h = 0.122, 0.066, 0.066
                col = ((0.70, 0.71, 0.72), (0.62, 0.16, 0.14), (0.18, 0.30, 0.55))[
                    int(rng.integers(3))]
            else:  # bottle
                ln, wd, h = rng.uniform(0.22, 0.32), 0.075, 0.075
                col = ((0.20, 0.38, 0.20), (0.40, 0.24, 0.10), (0.72, 0.76, 0.74))[
                    int(rng.integers(3))]
            scene.things.append(Thing(kind, float(c[0]), float(c[1]), float(ln), float(wd),
                                      angle, float(h), tuple(float(v) for v in col)))
