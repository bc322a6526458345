"""The optional elevation band: relief encoding, DSMs on other grids, training and surveying with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio
import torch
from affine import Affine
from rasterio.enums import Resampling
from rasterio.transform import from_bounds
from rasterio.warp import reproject, transform_bounds
from rasterio.windows import Window

from rams.detector.detector import Detector
from rams.elevation import ENCODING, METRES_PER_LEVEL, RELIEF_ZERO_LEVEL, read_relief, relief_levels, with_dsm
from rams.errors import RamsError
from rams.flight import open_flight
from rams.pipelines.survey import survey
from rams.synthetic import dsm_path, generate_flight
from rams.training.augment import AugmentConfig, augment_batch
from rams.training.config import load_config
from rams.training.data import load_labelled_flight, synth_labelled_flight
from rams.training.detector_trainer import train

GSD = 0.03


def _ground(shape: tuple[int, int]) -> np.ndarray:
    """A surface 250 m up, rising 2 m across the window (metres)."""
    return (250 + np.linspace(0, 2, shape[1], dtype=np.float32)[None] + np.zeros(shape, np.float32))


def test_relief_is_height_above_local_ground_in_levels() -> None:
    z = _ground((400, 600))
    z[:, 295:325] -= 1.0  # a trench 1 m deep
    z[50:60, 100:110] += 0.5  # a 0.5 m mound
    valid = np.ones(z.shape, bool)
    valid[:, :20] = False
    r = relief_levels(z, valid, GSD)
    assert r.dtype == np.uint8 and r.shape == z.shape
    ground = np.abs(r[200:, 150:250].astype(int) - RELIEF_ZERO_LEVEL)
    # the 250 m and the 11 % slope drop out; a median ground beside a trench is off by centimetres
    assert ground.max() <= round(0.15 / METRES_PER_LEVEL)
    assert abs(int(r[200, 310]) - (RELIEF_ZERO_LEVEL - 1.0 / METRES_PER_LEVEL)) <= 0.15 / METRES_PER_LEVEL
    assert abs(int(r[55, 105]) - (RELIEF_ZERO_LEVEL + 0.5 / METRES_PER_LEVEL)) <= 0.1 / METRES_PER_LEVEL
    assert (r[:, :20] == RELIEF_ZERO_LEVEL).all()  # no data reads as ground level
    assert (relief_levels(z, np.zeros(z.shape, bool), GSD) == RELIEF_ZERO_LEVEL).all()


def _write(path: Path, data: np.ndarray, transform: Affine, nodata: float | None = None) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[-1], height=data.shape[-2],
                       count=1 if data.ndim == 2 else data.shape[0], dtype=data.dtype, crs="EPSG:32638",
                       transform=transform, nodata=nodata) as dst:
        dst.write(data if data.ndim == 3 else data[None])
    return path


def test_a_dsm_on_another_grid_is_warped_onto_the_flights(tmp_path) -> None:
    x0, y0 = 500_000.0, 4_400_000.0
    rgb = np.full((3, 300, 300), 120, np.uint8)
    tif = _write(tmp_path / "f.tif", rgb, Affine(GSD, 0, x0, 0, -GSD, y0))
    z = _ground((200, 200))  # 6 cm cells, 12 m square, shifted 1.2 m east and south of the flight
    z[90:110, 90:110] -= 0.8  # a pit 1.2 m square, 5.4-6.6 m from the DSM's corner
    dsm = _write(tmp_path / "d.tif", z, Affine(0.06, 0, x0 + 1.2, 0, -0.06, y0 - 1.2), nodata=-9999.0)
    flight = with_dsm(open_flight(tif), dsm)
    relief = read_relief(flight, Window(0, 0, 300, 300))
    assert relief.shape == (300, 300)
    pit = (1.2 + 5.4 + 0.6) / GSD  # the pit's centre in flight px (row and column)
    assert relief[round(pit), round(pit)] < RELIEF_ZERO_LEVEL - 0.6 / METRES_PER_LEVEL
    assert (relief[:30, :30] == RELIEF_ZERO_LEVEL).all()  # outside the DSM: ground level
    geographic = tmp_path / "d4326.tif"  # the same DSM delivered in longitude / latitude
    left, bottom, right, top = transform_bounds("EPSG:32638", "EPSG:4326", x0 + 1.2, y0 - 1.2 - 12, x0 + 13.2, y0 - 1.2)
    lonlat = from_bounds(left, bottom, right, top, 300, 300)
    warped = np.full((300, 300), np.nan, np.float32)
    reproject(z, warped, src_transform=Affine(0.06, 0, x0 + 1.2, 0, -0.06, y0 - 1.2), src_crs="EPSG:32638",
              dst_transform=lonlat, dst_crs="EPSG:4326", resampling=Resampling.bilinear, dst_nodata=np.nan)
    with rasterio.open(geographic, "w", driver="GTiff", width=300, height=300, count=1, dtype="float32",
                       crs="EPSG:4326", transform=lonlat, nodata=np.nan) as dst:
        dst.write(warped[None])
    relief4326 = read_relief(with_dsm(open_flight(tif), geographic), Window(0, 0, 300, 300))
    assert relief4326[round(pit), round(pit)] < RELIEF_ZERO_LEVEL - 0.6 / METRES_PER_LEVEL
    assert np.abs(relief4326[100:150, 100:150].astype(int) - RELIEF_ZERO_LEVEL).max() <= 0.1 / METRES_PER_LEVEL
    with pytest.raises(RamsError, match="does not overlap"):
        with_dsm(open_flight(tif), _write(tmp_path / "far.tif", z, Affine(0.06, 0, x0 + 900, 0, -0.06, y0)))
    with pytest.raises(RamsError, match="no such DSM"):
        with_dsm(open_flight(tif), tmp_path / "missing.tif")


def test_photometric_augmentation_leaves_the_elevation_band_alone() -> None:
    img = torch.randint(0, 256, (4, 4, 32, 32), dtype=torch.uint8)
    cfg = AugmentConfig(flip=False, rot90=False, blur_p=0.0, brightness=0.3, contrast=0.4, colour=0.2)
    x, _ = augment_batch(img, torch.zeros(4, 3, 32, 32), torch.Generator().manual_seed(1), cfg)
    assert torch.equal(x[:, 3], img[:, 3].float())
    assert not torch.equal(x[:, :3], img[:, :3].float())


def test_train_and_survey_with_an_elevation_band(tmp_path) -> None:
    tif, gpkg = generate_flight(tmp_path / "e.tif", 256, 256, GSD, 11, bands="rgb+dsm")
    written = load_labelled_flight(tif, gpkg, elevation=True)
    rendered = synth_labelled_flight(11, 256, 256, GSD, "EPSG:32638", elevation=True)
    assert written.image.shape == rendered.image.shape == (4, 256, 256)
    assert np.abs(written.image[3].astype(int) - rendered.image[3]).max() <= 1
    assert np.array_equal(written.image[:3], rendered.image[:3])
    cfg = tmp_path / "t.yaml"
    cfg.write_text(
        "name: tiny-dsm\ninput_bands: [red, green, blue, elevation]\n"
        "train: {flights: [{tif: e.tif, labels: e.labels.gpkg}]}\n"
        "val: {flights: [{tif: e.tif, labels: e.labels.gpkg}]}\nchip_px: 64\nbatch_size: 2\nepochs: 1\n"
        "steps_per_epoch: 1\nwarmup_steps: 1\ntile_px: 128\noverlap_px: 32\n"
        "arch: {widths: [8, 8, 8, 8, 8]}\nthreads: 1\n")
    model_dir = train(load_config(cfg), tmp_path / "run")
    det = Detector.load(model_dir, device="cpu")
    assert det.card["input_bands"] == ["red", "green", "blue", "elevation"] and det.in_channels == 4
    assert det.uses_elevation and det.card["elevation_encoding"] == ENCODING
    out = tmp_path / "out" / "e.gpkg"
    summary = survey(tif, out, model=str(model_dir), report=None)  # the sidecar e.dsm.tif is found
    assert out.is_file() and summary["model"] == "tiny-dsm" and summary["dsm"] == str(dsm_path(tif))
    metadata = pyogrio.read_dataframe(out, layer="metadata")
    assert dict(zip(metadata["key"], metadata["value"], strict=True))["dsm_path"] == str(dsm_path(tif))
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "e.tif").write_bytes(Path(tif).read_bytes())
    with pytest.raises(RamsError, match="elevation band"):
        survey(bare / "e.tif", tmp_path / "out" / "bare.gpkg", model=str(model_dir), report=None)
    again = survey(bare / "e.tif", tmp_path / "out" / "given.gpkg", model=str(model_dir), report=None,
                   dsm=dsm_path(tif))  # the DSM given explicitly
    assert again["model"] == "tiny-dsm"
    card = (model_dir / "card.yaml").read_text()
    (model_dir / "card.yaml").write_text(card.replace("metres_per_level: 0.02", "metres_per_level: 0.05"))
    with pytest.raises(RamsError, match="elevation band encoded"):
        Detector.load(model_dir)
