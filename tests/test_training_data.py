"""Chip sampling, target rasterisation, augmentation, training config."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import torch
from detector_fixtures import make_flight
from shapely.geometry import Point

from rams.errors import RamsError
from rams.synthetic import generate_flight
from rams.training.augment import AugmentConfig, augment_batch
from rams.training.config import load_config, load_flights
from rams.training.data import (
    labelled_flight,
    load_labelled_flight,
    rasterise_targets,
    sample_batch,
    sample_chip,
    type_balanced,
)
from rams.training.jpeg import jpeg_batch


def test_targets_on_the_flight_grid(tmp_path) -> None:
    fl = load_labelled_flight(*make_flight(tmp_path))
    tgt = rasterise_targets(fl.labels, fl.transform, fl.shape)
    assert tgt.shape == (3, 256, 320) and tgt.dtype == np.float32
    # one exact peak per submunition, on the pixel holding its centre
    peaks = np.argwhere(tgt[2] == 1.0)
    assert sorted(map(tuple, peaks)) == sorted([(120, 160), (150, 180), (110, 200), (140, 230), (110, 270), (220, 150)])
    assert tgt[1, 180, 80] == 1 and tgt[1, 10, 10] == 0  # position centre / background
    assert tgt[0, 40, 20] == 1  # first trench vertex


def test_hidden_items_get_no_peak(tmp_path) -> None:
    fl = load_labelled_flight(*make_flight(tmp_path))
    fl.labels["submunitions"].loc[0, "visible_fraction"] = 0.0
    tgt = rasterise_targets(fl.labels, fl.transform, fl.shape)
    assert (tgt[2] == 1.0).sum() == 5


def test_sample_batch_balanced_and_deterministic(tmp_path) -> None:
    fl = load_labelled_flight(*make_flight(tmp_path))
    args = ([fl], 6, 64, {"submunition": 1.0}, (0.02, 0.04), 1.0)
    img, tgt = sample_batch(*args[:1], np.random.default_rng(3), *args[1:])
    img2, tgt2 = sample_batch(*args[:1], np.random.default_rng(3), *args[1:])
    assert img.dtype == torch.uint8 and img.shape == (6, 3, 64, 64) and tgt.shape == (6, 3, 64, 64)
    assert torch.equal(img, img2) and torch.equal(tgt, tgt2)
    # every chip is centred near a submunition, so each holds at least one peak
    assert all((t[2] >= 0.999).any() for t in tgt)


def test_augment_keeps_image_and_targets_aligned() -> None:
    img = torch.zeros(4, 3, 32, 32, dtype=torch.uint8)
    img[:, :, 5, 7] = 255
    tgt = torch.zeros(4, 3, 32, 32)
    tgt[:, :, 5, 7] = 1
    cfg = AugmentConfig(brightness=0, contrast=0, colour=0, blur_p=0, noise_std=0)
    x, y = augment_batch(img, tgt, torch.Generator().manual_seed(0), cfg)
    assert x.dtype == torch.float32 and torch.equal(x / 255, y)
    x, _ = augment_batch(img, tgt, torch.Generator().manual_seed(0), AugmentConfig())
    assert x.min() >= 0 and x.max() <= 255 and torch.equal(x, x.round())


def test_augment_compresses_rgb_only() -> None:
    img = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (3, 4, 32, 32), dtype=np.uint8))
    cfg = AugmentConfig(flip=False, rot90=False, brightness=0, contrast=0, colour=0, blur_p=0, noise_std=0,
                        jpeg_p=1.0, jpeg_quality=(30, 30))
    x, _ = augment_batch(img, torch.zeros(3, 1, 1, 1), torch.Generator().manual_seed(0), cfg)
    assert torch.equal(x[:, 3], img[:, 3].float())  # an elevation band is not an image
    assert torch.equal(x, x.round()) and (x[:, :3] != img[:, :3].float()).float().mean() > 0.5
    ref = jpeg_batch(img[:, :3].float(), torch.full((3,), 30.0), torch.ones(3))
    assert torch.equal(x[:, :3], ref)


def test_config_rejects_unknown_keys_and_seed_overlap(tmp_path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("train: {synth: {seeds: [1]}}\nlearning_rate: 1\n")
    with pytest.raises(RamsError, match="learning_rate"):
        load_config(path)
    path.write_text("train: {synth: {seeds: [1, 2]}}\nval: {synth: {seeds: [2]}}\n")
    with pytest.raises(RamsError, match="both train and val"):
        load_config(path)
    path.write_text("train: {flights: [{tif: a.tif, labels: a.gpkg}]}\nepochs: 3\n"
                    "augment: {jpeg_p: 0.5, jpeg_quality: [50, 90]}\n")
    cfg = load_config(path)
    assert cfg.epochs == 3 and cfg.train.flights == ((str(tmp_path / "a.tif"), str(tmp_path / "a.gpkg")),)
    assert cfg.augment.jpeg_p == 0.5 and cfg.augment.jpeg_quality == (50, 90)


def test_submunition_anchors_balance_munition_types() -> None:
    items = gpd.GeoDataFrame({"munition_type": ["M77"] * 9 + ["PTAB-1M"]},
                             geometry=[Point(i, 0) for i in range(10)], crs="EPSG:32638")
    p = type_balanced(items)
    assert p.sum() == pytest.approx(1.0)
    assert p[:9].sum() == pytest.approx(0.5) and p[9] == pytest.approx(0.5)


def test_chips_on_items_in_earthworks_fall_back_to_any_item(tmp_path) -> None:
    """Items in a trench or position (or at its edge) are anchors of their own sampling kind; a
    flight without any gives chips on its other items, as the plain kind does."""
    fl = load_labelled_flight(*make_flight(tmp_path))
    assert len(fl.anchors["submunition_in_earthworks"]) == 0  # the fixture's items lie in the open
    kinds = {kind: sample_chip(fl, np.random.default_rng(3), 64, kind, fl.gsd_m)
             for kind in ("submunition", "submunition_in_earthworks")}
    assert all(np.array_equal(a, b) for a, b in zip(*kinds.values(), strict=True))

    labels = {k: v.copy() for k, v in fl.labels.items()}
    on_trench = labels["trenches"].geometry.iloc[0].interpolate(2.0)
    labels["submunitions"].loc[2, "geometry"] = on_trench
    labels["submunitions"].loc[3, "geometry"] = on_trench  # also there, but hidden under canopy
    labels["submunitions"].loc[3, "visible_fraction"] = 0.0
    moved = labelled_flight(fl.path, fl.image, fl.transform, fl.crs, labels)
    col, row = ~fl.transform * (on_trench.x, on_trench.y)
    assert moved.anchors["submunition_in_earthworks"] == pytest.approx(np.array([[row, col]]))


def test_flights_rendered_in_memory_match_the_written_ones(tmp_path) -> None:
    tif, gpkg = generate_flight(tmp_path / "s7.tif", 192, 160, 0.03, 7)
    written = load_labelled_flight(tif, gpkg)
    path = tmp_path / "c.yaml"
    path.write_text("cache_dir: cache\ntrain: {synth: {in_memory: true, seeds: [7, 8], width_px: 192, "
                    "height_px: 160, gsd_m: 0.03}}\n")
    cfg = load_config(path)
    rendered = load_flights(cfg.train, Path(cfg.cache_dir))  # on a process pool
    assert [f.path for f in rendered] == ["synthetic seed 7", "synthetic seed 8"]
    assert np.array_equal(rendered[0].image, written.image) and rendered[0].transform == written.transform
    for layer, frame in written.labels.items():
        assert len(rendered[0].labels[layer]) == len(frame)
        assert rendered[0].labels[layer].geometry.geom_equals_exact(frame.geometry, 1e-6).all()
    assert not np.array_equal(rendered[1].image, written.image)
    assert not (tmp_path / "cache").exists()  # nothing written
