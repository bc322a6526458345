"""Survey plumbing with a transparent stand-in detector: borders, ownership, joining.

The stand-in sees what a perfect detector would: dark ground is trench, bright red specks are
submunition centres. It isolates the pipeline (tiling, core-cropping, clipping, the reduce)
from model quality; the real model is exercised in test_survey.py.
"""

import numpy as np
import pyogrio
import pytest
import yaml
from rasters import write_tif
from scipy import ndimage

from rams.pipelines import survey_region
from rams.pipelines.survey import survey
from rams.settings import SurveySettings, TilingSettings

GSD = 0.03


class SeeingModel:
    card = {
        "name": "seeing-test-model",
        "sha256": "0" * 64,
        "gsd_range_m": [0.01, 0.05],
        "tile_px": 256,
        "overlap_px": 32,
    }
    context = None  # no context model, no verifier, no elevation band: every map comes from predict
    verifier = None
    in_channels = 3
    uses_elevation = False

    def predict(self, batch):
        rgb = batch.astype(np.float32)
        out = np.zeros((batch.shape[0], 3, *batch.shape[2:]), np.float32)
        out[:, 0] = (rgb.mean(axis=1) < 60).astype(np.float32)  # dark trench floor
        red = (rgb[:, 0] > 200) & (rgb[:, 1] < 80)
        for i in range(len(batch)):
            out[i, 2] = ndimage.gaussian_filter(red[i].astype(np.float32), 2.0)
        return out


@pytest.fixture
def seeing_model(tmp_path, monkeypatch):
    model_dir = tmp_path / "seeing-model"
    model_dir.mkdir()
    (model_dir / "card.yaml").write_text(yaml.safe_dump(SeeingModel.card))
    monkeypatch.setitem(survey_region._detectors, str(model_dir), SeeingModel())
    return model_dir


def _scene(height=1500, width=1500):
    img = np.full((3, height, width), 170, np.uint8)
    img[1] = 150
    img[2] = 120
    # a zig-zag trench crossing several 512-px regions, 30 px (0.9 m) wide
    xs = np.arange(60, width - 60)
    ys = (700 + 300 * np.abs(((xs / 250.0) % 2) - 1)).astype(int)
    for x, y in zip(xs, ys, strict=True):
        img[:, y - 15 : y + 15, x] = 30
    # submunitions: one exactly on a region border (row/col 1024), others inside
    for r, c in [(1024, 1024), (200, 300), (512, 900), (1300, 1400)]:
        img[:, r - 3 : r + 4, c - 3 : c + 4] = np.array([230, 40, 40], np.uint8)[:, None, None]
    return img


def _run(tmp_path, model_dir, region_px, name):
    flight = tmp_path / "scene.tif"
    if not flight.exists():
        write_tif(flight, _scene(), gsd_m=GSD, block=256)
    settings = SurveySettings(tiling=TilingSettings(region_px=region_px))
    out = tmp_path / f"{name}.gpkg"
    survey(flight, out, model=str(model_dir), settings=settings, report=None)
    return out


def test_borders_do_not_split_or_duplicate(tmp_path, seeing_model):
    out = _run(tmp_path, seeing_model, 512, "small_regions")
    points = pyogrio.read_dataframe(out, layer="submunitions")
    assert len(points) == 4
    lines = pyogrio.read_dataframe(out, layer="trenches")
    assert len(lines) == 1, lines
    expected = None
    one = _run(tmp_path, seeing_model, 4096, "one_region")
    expected = pyogrio.read_dataframe(one, layer="trenches")
    assert lines.length.iloc[0] == pytest.approx(expected.length.iloc[0], rel=0.03)
    ref = pyogrio.read_dataframe(one, layer="submunitions")
    d = np.hypot(
        np.sort(points.geometry.x.to_numpy()) - np.sort(ref.geometry.x.to_numpy()),
        np.sort(points.geometry.y.to_numpy()) - np.sort(ref.geometry.y.to_numpy()),
    )
    assert d.max() < GSD


def test_output_has_contract_layers_and_hazards(tmp_path, seeing_model):
    out = _run(tmp_path, seeing_model, 1024, "contract")
    layers = {name for name, _ in pyogrio.list_layers(out)}
    assert {"submunitions", "trenches", "positions", "coverage", "not_assessable"} <= layers
    assert {"strike_footprints", "hazard_areas", "metadata"} <= layers
    areas = pyogrio.read_dataframe(out, layer="hazard_areas")
    assert set(areas["hazard_type"]) == {"CMR", "FORTIFICATION"}
    assert (areas["status"] == "SHA").all() and areas.geometry.is_valid.all()
    meta = pyogrio.read_dataframe(out, layer="metadata")
    keys = dict(zip(meta["key"], meta["value"], strict=True))
    assert keys["schema_version"] == "1.0" and keys["model"] == "seeing-test-model"
