"""Rams' objects composited onto real drone frames: labels on the objects, sizes in metres,
determinism, the frame untouched elsewhere, the camera estimates, and a survey over the result."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio
from rasterio.features import geometry_mask
from scipy.ndimage import gaussian_filter

from rams.errors import RamsError
from rams.pipelines.synth import synth
from rams.synthetic.real_frames import (
    FLIGHTS,
    estimate_blur_px,
    estimate_noise,
    frames,
    read_frame,
    resample,
)
from rams.synthetic.real_ground import composite, generate_real_ground_flight

DATA = Path(__file__).parent / "data" / "real_ground"
CROPS = {  # crop -> (flight, frame GSD in m)
    "caliterra_IMG_9387_1920_1472.jpg": ("caliterra", 0.015),
    "caliterra_IMG_9387_2560_768.jpg": ("caliterra", 0.015),
    "brighton_DJI_0018_3480_520.jpg": ("brighton", 0.017),
}


def _composite(crop: str, gsd_m: float, seed: int = 11, jpeg_quality: int | None = None):
    flight, frame_gsd = CROPS[crop]
    return composite(read_frame(DATA / crop), frame_gsd, gsd_m, seed, flight=FLIGHTS[flight],
                     jpeg_quality=jpeg_quality)


@pytest.fixture(scope="module", params=sorted(CROPS))
def at_1cm(request):
    return _composite(request.param, 0.01)


def _diff(comp) -> np.ndarray:
    """Largest change over the bands, 0-255 levels (H, W)."""
    return np.abs(comp.rgb.astype(np.int16) - comp.ground.astype(np.int16)).max(0)


def _far_from_labels(comp) -> np.ndarray:
    """True where no object can have reached: beyond every label, its shadow and the blur."""
    scene, g = comp.scene, comp.scene.gsd_m
    shadow_m = 1.0 / np.tan(np.radians(scene.sun_elevation_deg))  # per metre of height
    blur_m = (4 * comp.blur_px + 3) * g
    # an item reaches past half its length by its ribbon (up to 0.17 m) and by the shadow of
    # a raised nose (up to 0.2 m high)
    shapes = [geom.buffer(0.5 * length + 0.2 + 0.2 * shadow_m + 0.1 + blur_m) for geom, length in
              zip(comp.labels["submunitions"].geometry, comp.labels["submunitions"].length_m,
                  strict=True)]
    for geom, kind in zip(comp.labels["distractors"].geometry, comp.labels["distractors"].kind,
                          strict=True):
        height = 1.5 if kind == "fence_post" else 0.2
        shapes.append(geom.buffer(height * shadow_m + 0.1 + blur_m))
    return geometry_mask(shapes, out_shape=comp.rgb.shape[1:], transform=comp.transform)


def test_every_labelled_item_centre_shows_the_object(at_1cm):
    items = at_1cm.labels["submunitions"]
    assert len(items) >= 3
    diff, inverse = _diff(at_1cm), ~at_1cm.transform
    for x, y in zip(items.geometry.x, items.geometry.y, strict=True):
        col, row = (int(v) for v in inverse @ (x, y))
        assert diff[max(row - 1, 0):row + 2, max(col - 1, 0):col + 2].max() >= 4, (x, y)


def test_frame_is_untouched_away_from_the_labels(at_1cm):
    far = _far_from_labels(at_1cm)
    assert far.mean() > 0.3  # the test must look at a good part of the frame
    assert (_diff(at_1cm)[far] == 0).all()


def test_the_jpeg_pass_changes_the_frame_only_a_little():
    crop = "caliterra_IMG_9387_2560_768.jpg"
    comp = _composite(crop, 0.02, jpeg_quality=90)
    far = _far_from_labels(comp)
    change = np.abs(comp.rgb.astype(np.int16) - comp.ground.astype(np.int16))[:, far]
    assert 0 < change.mean() < 1.5


def test_objects_keep_their_size_in_metres_at_any_gsd():
    crop = "caliterra_IMG_9387_2560_768.jpg"
    ratios = []
    for seed in range(11, 17):  # the field's litter crowds the items: seeds enough for three
        if len(ratios) >= 3:
            break
        fine, coarse = _composite(crop, 0.01, seed), _composite(crop, 0.02, seed)
        a, b = fine.labels["submunitions"], coarse.labels["submunitions"]
        assert np.allclose(a.geometry.x, b.geometry.x) and np.allclose(a.geometry.y, b.geometry.y)
        others = [*a.geometry, *fine.labels["distractors"].geometry]
        for p in a.geometry:
            if sum(o.distance(p) < 0.6 for o in others) > 1:  # itself only
                continue
            ink = []
            for comp in (fine, coarse):
                col, row = ~comp.transform @ (p.x, p.y)
                r = int(round(0.4 / comp.scene.gsd_m))
                win = np.s_[:, max(int(row) - r, 0):int(row) + r,
                            max(int(col) - r, 0):int(col) + r]
                ink.append(np.abs(comp.rgb[win].astype(np.float32) - comp.ground[win]).sum())
            ratios.append(ink[0] / ink[1])
    assert len(ratios) >= 2
    assert 3.2 < float(np.median(ratios)) < 4.8, ratios


def test_the_same_seed_gives_the_same_files(tmp_path):
    frame = DATA / "brighton_DJI_0018_3480_520.jpg"
    paths = [generate_real_ground_flight(tmp_path / f"{k}.tif", frame, 0.02, seed, frame_gsd_m=0.017)
             for k, seed in ((0, 3), (1, 3), (2, 4))]
    (t0, l0), (t1, l1), (t2, l2) = paths
    assert t0.read_bytes() == t1.read_bytes() and l0.read_bytes() == l1.read_bytes()
    assert t0.read_bytes() != t2.read_bytes()
    with rasterio.open(t0) as ds:
        assert ds.crs.is_projected and ds.transform.a == 0.02 and ds.transform.e == -0.02
        assert ds.count == 3 and ds.tags()["REAL_GROUND_FRAME"] == frame.name
        assert ds.width == int(512 * 0.017 / 0.02)
    layers = {name for name, _ in pyogrio.list_layers(l0)}
    assert {"submunitions", "strike_footprints", "distractors", "trenches", "positions"} <= layers


def test_resampling_keeps_the_ground():
    rgb = read_frame(DATA / "caliterra_IMG_9387_1920_1472.jpg")
    for gsd in (0.005, 0.01, 0.03):
        out = resample(rgb, 0.015, gsd)
        assert out.shape == (3, int(512 * 0.015 / gsd), int(512 * 0.015 / gsd))
        assert abs(float(out.mean()) - float(rgb.mean())) < 1.0


def test_blur_and_noise_estimates_recover_a_known_camera():
    rng = np.random.default_rng(0)
    scene = np.full((768, 768), 60.0, np.float32)
    for _ in range(150):
        r, c = rng.integers(0, 740, 2)
        h, w = rng.integers(20, 200, 2)
        scene[r:r + h, c:c + w] = rng.uniform(60, 200)
    for sigma in (0.6, 1.2, 2.5):
        img = gaussian_filter(scene, sigma) + rng.normal(0, 2.0, scene.shape)
        rgb = np.repeat(np.clip(img + 0.5, 0, 255).astype(np.uint8)[None], 3, 0)
        assert abs(estimate_blur_px(rgb) - sigma) < 0.25 * sigma + 0.1
        assert abs(estimate_noise(rgb) - 2.0) < 0.3


def test_splits_hold_out_runs_of_consecutive_frames(tmp_path):
    names = [f"IMG_{n}.jpg" for n in range(9400, 9431)]
    (tmp_path / "caliterra").mkdir()
    for n in names:
        (tmp_path / "caliterra" / n).touch()
    split = {s: [p.stem for p in frames(tmp_path, "caliterra", s)]
             for s in ("train", "validation", "test")}
    assert split["validation"] == ["IMG_9425", "IMG_9426", "IMG_9427"]
    assert split["test"] == ["IMG_9428", "IMG_9429", "IMG_9430"]
    assert len(split["train"]) == len(names) - 6 and split["train"][-1] == "IMG_9424"
    with pytest.raises(RamsError, match="unknown split"):
        frames(tmp_path, "caliterra", "val")
    with pytest.raises(RamsError, match="held-out frame IMG_9425 is missing"):
        (tmp_path / "caliterra" / "IMG_9425.jpg").unlink()
        frames(tmp_path, "caliterra", "train")


def test_synth_with_a_frame_refuses_a_size_and_needs_the_frame_gsd(tmp_path):
    frame = DATA / "caliterra_IMG_9387_2560_768.jpg"
    with pytest.raises(RamsError, match="drop --size-px"):
        synth(tmp_path / "a.tif", 100, 100, 0.02, 1, frame=frame)
    with pytest.raises(RamsError, match="frame-gsd"):
        synth(tmp_path / "a.tif", gsd_m=0.02, seed=1, frame=frame)
    with pytest.raises(RamsError, match="outside"):
        synth(tmp_path / "a.tif", gsd_m=0.06, seed=1, frame=frame, frame_gsd_m=0.015)


def test_a_survey_runs_on_a_composite(tmp_path):
    from rams.pipelines.survey import survey

    tif, _ = synth(tmp_path / "f.tif", gsd_m=0.01, seed=2, frame=DATA / "caliterra_IMG_9387_1920_1472.jpg",
                   frame_gsd_m=0.015)
    summary = survey(tif, tmp_path / "out.gpkg", report=None)
    layers = {name for name, _ in pyogrio.list_layers(tmp_path / "out.gpkg")}
    assert {"submunitions", "hazard_areas", "coverage"} <= layers
    assert summary
