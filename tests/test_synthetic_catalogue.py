"""The field catalogue: the classic scenes are unchanged, field scenes hold the new types and
look-alikes, every type is painted at its size in metres, and field composites on real ground
are deterministic with labels on the painted objects."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from rams.synthetic import DEMO, generate_scene, render_flight
from rams.synthetic.canvas import Canvas
from rams.synthetic.catalogue import FIELD_MUNITIONS, FIELD_NEGATIVES, field_item
from rams.synthetic.layout import make_scene
from rams.synthetic.objects import paint_item, paint_thing
from rams.synthetic.real_frames import FLIGHTS, read_frame
from rams.synthetic.real_ground import composite
from rams.synthetic.scene import FieldItem, Scene, Thing

CROP = Path(__file__).parent / "data" / "real_ground" / "caliterra_IMG_9387_2560_768.jpg"


def test_the_classic_catalogue_gives_the_scenes_and_pixels_it_gave_before() -> None:
    # computed with the code before the field catalogue existed
    sc = generate_scene(DEMO.width_px, DEMO.height_px, DEMO.gsd_m, DEMO.seed, DEMO.crs)
    layout = repr((sc.sun_azimuth_deg, sc.sun_elevation_deg, sc.strikes, sc.items, sc.stones,
                   sc.things, sc.craters, sc.scorches, sc.vegetation, sc.fields))
    assert (len(sc.items), len(sc.things), len(sc.stones)) == (66, 61, 192)
    assert hashlib.sha256(layout.encode()).hexdigest() == (
        "b4da096be66d53a33a6fb6ca8bf3e1afd91bc5af796cdda0fa6d51e1dcf3210d")
    assert not any(isinstance(i, FieldItem) for i in sc.items)
    rgb, _, _, labels, _ = render_flight(256, 256, 0.02, 1)
    assert hashlib.sha256(rgb.tobytes()).hexdigest() == (
        "e2e200f08d0c2064b2254ba810f2114021f32ec44e6514897aeb2fb26af5defa")
    items = labels["submunitions"]
    assert list(items.munition_type) == ["M77", "AO-2.5RT", "9N235", "M77"]
    assert list(items.strike_id) == [1, -1, -1, -1]
    assert np.allclose(items.length_m, [0.08384301440800368, 0.15406497111910158,
                                        0.25981213177812185, 0.08293255090895849], rtol=0, atol=1e-15)


def test_an_unknown_catalogue_is_refused() -> None:
    with pytest.raises(ValueError, match="catalogue"):
        make_scene(1, (0, 0, 10, 10), 0.02, catalogue="fancy")


def test_field_scenes_hold_the_new_types_and_look_alikes() -> None:
    types, kinds = set(), set()
    for seed in range(1, 6):
        sc = generate_scene(1024, 1024, 0.01, seed, catalogue="field")
        assert sc.items and all(isinstance(i, FieldItem) for i in sc.items)
        assert {i.munition_type for i in sc.items} <= set(FIELD_MUNITIONS)
        types |= {i.munition_type for i in sc.items}
        kinds |= {t.kind for t in sc.things} | {b.kind for b in sc.stones}
        assert {s.munition_type for s in sc.strikes} <= set(FIELD_MUNITIONS)
        # one type per strike: its items carry it
        for s in sc.strikes:
            assert {i.munition_type for i in sc.items if i.strike_id == s.strike_id} <= {
                s.munition_type}
    assert len(types - {"9N235", "M77", "PTAB-1M", "AO-2.5RT", "ShOAB-0.5"}) >= 3, types
    assert len(types) >= 7, types
    assert set(FIELD_NEGATIVES) <= kinds | {"stone"}
    # items vary in their own look: paint, pose, size within +-8 % of the type's
    sc = generate_scene(4000, 4000, 0.03, 3, catalogue="field")
    by_type: dict[str, list[FieldItem]] = {}
    for it in sc.items:
        by_type.setdefault(it.munition_type, []).append(it)
    for mtype, its in by_type.items():
        ratio = np.array([i.length_m for i in its]) / FIELD_MUNITIONS[mtype].length_m
        assert ((ratio > 0.919) & (ratio < 1.081)).all()
        if len(its) >= 10:
            assert len({i.colour for i in its}) == len(its)
            assert np.std([i.dirt for i in its]) > 0.05 and np.std([i.wear for i in its]) > 0.05
            assert any(i.visible_fraction < 1 for i in its)


def _painted(obj, gsd: float, paint) -> np.ndarray:
    """Changed pixels (H, W) of ``obj`` painted at (0, 0) on plain ground under a high sun."""
    half = 0.3
    sc = Scene(1, (-half, -half, half, half), gsd, 0.0, 90.0)
    layer = "items" if paint is paint_item else "things"
    getattr(sc, layer).append(obj)
    n = int(round(2 * half / gsd))
    xs = -half + (np.arange(n) + 0.5) * gsd
    cv = Canvas(sc, xs, xs[::-1].copy())
    cv.rgb[:] = np.array([0.5, 0.43, 0.33], np.float32)[:, None, None]
    before = cv.rgb.copy()
    paint(cv, obj, cv.patch(sc.index[layer][0]), 0)
    return np.abs(cv.rgb - before).max(0) > 0.02


def _extent(mask: np.ndarray) -> tuple[int, int]:
    cols, rows = np.flatnonzero(mask.any(0)), np.flatnonzero(mask.any(1))
    return int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


@pytest.mark.parametrize("gsd", [0.01, 0.03])
def test_every_type_is_painted_at_its_size_in_metres(gsd: float) -> None:
    rng = np.random.default_rng(0)
    for mtype in FIELD_MUNITIONS:
        it = replace(field_item(rng, np.zeros(2), mtype, 0), angle_rad=0.0, tilt_rad=0.0,
                     bend=0.0, visible_fraction=1.0, in_grass=False, ribbon_m=0.0)
        along, across = _extent(_painted(it, gsd, paint_item))
        assert abs(along * gsd - it.length_m) <= 2 * gsd + 0.002, (mtype, along, it.length_m)
        wide = max(it.diameter_m, it.width_m)
        assert abs(across * gsd - wide) <= 2 * gsd + 0.002, (mtype, across, wide)
    ribbon = replace(field_item(rng, np.zeros(2), "M77", 0), angle_rad=0.0, tilt_rad=0.0,
                     bend=0.0, visible_fraction=1.0, in_grass=False, ribbon_m=0.12)
    along, _ = _extent(_painted(ribbon, gsd, paint_item))
    assert along * gsd > ribbon.length_m + 0.08  # the ribbon trails from the nose


@pytest.mark.parametrize("gsd", [0.01, 0.03])
def test_look_alikes_are_painted_at_their_size(gsd: float) -> None:
    for kind, length, width in (("cap", 0.03, 0.03), ("pine_cone", 0.08, 0.05),
                                ("cartridge", 0.054, 0.0124), ("litter", 0.3, 0.2),
                                ("fragment", 0.15, 0.08)):
        t = Thing(kind, 0.0, 0.0, length, width, 0.0, 0.01, (0.8, 0.75, 0.7))
        along, across = _extent(_painted(t, gsd, paint_thing))
        slack = 2 * gsd + (0.25 * width if kind in ("litter", "fragment") else 0.002)
        assert length - slack - 0.4 * width * (kind in ("litter", "fragment")) <= along * gsd
        assert along * gsd <= length + 2 * gsd + 0.002, (kind, along)
        assert across * gsd <= width + 2 * gsd + 0.002, (kind, across)


def test_a_field_composite_is_deterministic_with_labels_on_the_objects() -> None:
    frame = read_frame(CROP)
    a = composite(frame, 0.015, 0.02, 5, flight=FLIGHTS["caliterra"], jpeg_quality=None)
    b = composite(frame, 0.015, 0.02, 5, flight=FLIGHTS["caliterra"], jpeg_quality=None)
    c = composite(frame, 0.015, 0.02, 6, flight=FLIGHTS["caliterra"], jpeg_quality=None)
    assert np.array_equal(a.rgb, b.rgb) and not np.array_equal(a.rgb, c.rgb)
    items, distractors = a.labels["submunitions"], a.labels["distractors"]
    assert items.equals(b.labels["submunitions"])
    assert len(items) >= 3 and set(items.munition_type) <= set(FIELD_MUNITIONS)
    assert set(distractors.kind).isdisjoint(FIELD_MUNITIONS)
    assert {"cap", "cartridge", "fragment", "clod"} <= set(distractors.kind)
    diff = np.abs(a.rgb.astype(np.int16) - a.ground.astype(np.int16)).max(0)
    inverse = ~a.transform
    for x, y in zip(items.geometry.x, items.geometry.y, strict=True):
        col, row = (int(v) for v in inverse @ (x, y))
        assert diff[max(row - 1, 0):row + 2, max(col - 1, 0):col + 2].max() >= 4, (x, y)
    shown = 0
    for g in distractors.geometry:
        col, row = (int(v) for v in inverse @ (g.centroid.x, g.centroid.y))
        shown += diff[max(row - 1, 0):row + 2, max(col - 1, 0):col + 2].max() >= 4
    assert shown >= 0.9 * len(distractors)
    classic = composite(frame, 0.015, 0.02, 5, flight=FLIGHTS["caliterra"], jpeg_quality=None,
                        catalogue="classic")
    assert set(classic.labels["submunitions"].munition_type) <= {
        "9N235", "M77", "PTAB-1M", "AO-2.5RT", "ShOAB-0.5"}
