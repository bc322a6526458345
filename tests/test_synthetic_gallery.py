"""The picture test: crops of every object class render and stay small enough for the docs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from rams.synthetic import DEMO, generate_scene
from rams.synthetic.gallery import render_crop, write_gallery


def test_crop_equals_the_same_pixels_of_a_bigger_crop() -> None:
    scene = generate_scene(1200, 1200, 0.03, 5)
    big = render_crop(scene, 400, 300, 400, 500)
    assert np.array_equal(render_crop(scene, 450, 510, 100, 120), big[50:150, 210:330])


def test_gallery_has_every_class(tmp_path: Path) -> None:
    scene = generate_scene(2048, 2048, DEMO.gsd_m, DEMO.seed)
    paths = write_gallery(scene, tmp_path)
    names = {p.stem for p in paths}
    assert {"submunitions", "trench", "vegetation", "strike_overview"} <= names
    assert sum(n.startswith("distractor_") for n in names) == 8
    for p in paths:
        assert p.stat().st_size < 300_000
        img = np.asarray(Image.open(p))
        assert img.std() > 3  # not a flat colour
