"""Survey plumbing with a transparent stand-in detector: borders, ownership, joining.

The stand-in sees what a perfect detector would: dark ground is trench, bright red specks are
submunition centres. It isolates the pipeline (tiling, core-cropping, clipping, the reduce)
from model quality; the real model is exercised in test_survey.py.
"""

import base64
import io
import json
import re
import shutil

import numpy as np
import pyogrio
import pytest
import rasterio
import yaml
from PIL import Image
from rasters import write_tif
from scipy import ndimage

from rams.errors import RamsError
from rams.flight import open_flight
from rams.flight_view import ViewGrid, assemble_view, read_view
from rams.pipelines import survey_region
from rams.pipelines.runstore import RunStore
from rams.pipelines.survey import survey
from rams.report import write_report
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
    assert {"CMR", "FORTIFICATION"} <= set(areas["hazard_type"]) <= {"CMR", "FORTIFICATION", "CMR+FORTIFICATION"}
    assert (areas["status"] == "SHA").all() and areas.geometry.is_valid.all()
    meta = pyogrio.read_dataframe(out, layer="metadata")
    keys = dict(zip(meta["key"], meta["value"], strict=True))
    assert keys["schema_version"] == "1.0" and keys["model"] == "seeing-test-model"


def test_stage_seconds_add_up_to_the_total(tmp_path, seeing_model):
    flight = write_tif(tmp_path / "scene.tif", _scene(), gsd_m=GSD, block=256)
    out = tmp_path / "timed.gpkg"
    summary = survey(flight, out, model=str(seeing_model), report=tmp_path / "timed.html",
                     settings=SurveySettings(tiling=TilingSettings(region_px=512)))
    stages = summary["stage_seconds"]
    assert list(stages) == ["start", "open", "read", "inference", "vectorize", "chips", "hazards", "report",
                            "geopackage", "finish"]
    assert sum(stages.values()) == pytest.approx(summary["seconds"], abs=0.11)  # each rounded
    meta = pyogrio.read_dataframe(out, layer="metadata")
    keys = dict(zip(meta["key"], meta["value"], strict=True))
    written = json.loads(keys["stage_seconds"])
    assert list(written) == list(stages)[:-1]  # written before the run folder is cleared
    assert sum(written.values()) == pytest.approx(float(keys["run_seconds"]), abs=0.11)
    assert "stage_seconds" in (tmp_path / "timed.html").read_text(encoding="utf-8")


def test_the_map_view_is_a_by_product_of_the_region_pass(tmp_path, seeing_model):
    flight = write_tif(tmp_path / "scene.tif", _scene(), gsd_m=GSD, block=256)
    out = tmp_path / "kept.gpkg"
    survey(flight, out, model=str(seeing_model), report=None, keep_run=True,
           settings=SurveySettings(tiling=TilingSettings(region_px=512)))
    (run_dir,) = (tmp_path / ".rams-runs").iterdir()
    opened = open_flight(flight)
    store = RunStore(run_dir, opened.crs)
    parts = [store.load(i)[1] for i in range(store.finished())]
    assert len(parts) == 9
    grid = ViewGrid.fit(opened.width, opened.height)
    np.testing.assert_array_equal(assemble_view(grid, parts, opened.transform).rgb, read_view(opened).rgb)


@pytest.mark.parametrize("gsd_m", [0.005, 0.007])
def test_a_finer_flight_is_averaged_onto_the_models_grid(tmp_path, seeing_model, gsd_m):
    # the stand-in model reads 1-5 cm: at 0.5 cm (2 file px per grid px) and 0.7 cm (1.4) the
    # survey decodes the file at its own resolution and area-averages it
    scale = GSD / gsd_m
    crop = _scene()[:, 100:400, 200:500]  # 9 m square holding the speck at row 200, col 300
    pick = (np.arange(int(300 * scale)) / scale).astype(int)
    flight = write_tif(tmp_path / "fine.tif", crop[:, pick][:, :, pick], gsd_m=gsd_m, block=256)
    out = tmp_path / "fine.gpkg"
    summary = survey(flight, out, model=str(seeing_model), report=tmp_path / "fine.html",
                     settings=SurveySettings(tiling=TilingSettings(overlap_px=64)))
    assert summary["resampled"] and summary["processing_gsd_m"] == 0.01
    (point,) = pyogrio.read_dataframe(out, layer="submunitions").geometry
    x, y = 600000.0 + 100.5 * GSD, 4400000.0 - 100.5 * GSD
    assert np.hypot(point.x - x, point.y - y) < GSD  # within a px of the scene it was drawn at


def test_a_striped_flight_wider_than_a_region_is_refused_before_anything_is_written(tmp_path, seeing_model):
    flight = write_tif(tmp_path / "striped.tif", _scene(), gsd_m=GSD, tiled=False)
    out = tmp_path / "striped.gpkg"
    with pytest.raises(RamsError, match="striped.*gdal_translate -co TILED=YES"):
        survey(flight, out, model=str(seeing_model), report=tmp_path / "striped.html",
               settings=SurveySettings(tiling=TilingSettings(region_px=512)))
    assert not out.exists() and not (tmp_path / "striped.html").exists()
    assert not (tmp_path / ".rams-runs").exists()
    # narrow enough for one region column, the same file is read, each strip once per region row
    survey(flight, out, model=str(seeing_model), report=None)
    assert len(pyogrio.read_dataframe(out, layer="submunitions")) == 4


def _chip_pixels(page: str) -> dict[str, np.ndarray]:
    found = re.findall(r'<figure class="chip" id="(submunitions-\d+)"><div class="frame"><img class="chip-img" '
                       r'src="data:image/png;base64,([^"]+)"', page)
    return {name: np.asarray(Image.open(io.BytesIO(base64.b64decode(data)))) for name, data in found}


def test_submunition_chips_cut_in_the_pass_are_the_flights_own_pixels(tmp_path, seeing_model):
    flight = write_tif(tmp_path / "scene.tif", _scene(), gsd_m=GSD, block=256)
    out, page = tmp_path / "chips.gpkg", tmp_path / "chips.html"
    survey(flight, out, model=str(seeing_model), report=page, keep_run=True,
           settings=SurveySettings(tiling=TilingSettings(region_px=512)))
    (run_dir,) = (tmp_path / ".rams-runs").iterdir()
    store = RunStore(run_dir, open_flight(flight).crs)
    cut_in_pass = sum(len(store.load(i)[2]) for i in range(store.finished()))
    # two points sit on region borders (rows or columns 512, 1024), nearer the read's edge than
    # half a chip: those two are read afterwards, the other two were cut in the pass
    assert cut_in_pass == 2
    layers = {name: pyogrio.read_dataframe(out, layer=name) for name in ("submunitions", "positions")}
    links = layers["submunitions"]["chip"]
    assert (links != "").all() and all(f'id="{link.split("#")[1]}"' in page.read_text() for link in links)
    read_back = write_report(tmp_path / "read.html", open_flight(flight), layers, {})
    cut, read = _chip_pixels(page.read_text()), _chip_pixels(read_back.read_text())
    assert len(cut) == 4 and cut.keys() == read.keys()
    for name in cut:
        np.testing.assert_array_equal(cut[name], read[name])


def test_the_survey_date_comes_from_the_flights_tags_never_its_mtime(tmp_path, seeing_model, caplog):
    dated = write_tif(tmp_path / "dated.tif", _scene(), gsd_m=GSD, block=256)
    with rasterio.open(dated, "r+") as ds:
        ds.update_tags(TIFFTAG_DATETIME="2024:05:17 10:42:03")
    copied = tmp_path / "copy_made_today.tif"
    shutil.copy(dated, copied)  # a copy's mtime is today; its tags still date the flight
    summary = survey(copied, tmp_path / "dated.gpkg", model=str(seeing_model), report=None, flight_id="sortie-7")
    assert summary["survey_date"] == "2024-05-17" and summary["flight_id"] == "sortie-7"
    areas = pyogrio.read_dataframe(tmp_path / "dated.gpkg", layer="hazard_areas")
    assert set(areas["survey_date"]) == {"2024-05-17"} and set(areas["flight_id"]) == {"sortie-7"}

    bare = write_tif(tmp_path / "undated.tif", _scene(), gsd_m=GSD, block=256)
    with caplog.at_level("WARNING", logger="rams.survey"):
        summary = survey(bare, tmp_path / "undated.gpkg", model=str(seeing_model), report=None)
    assert summary["survey_date"] == ""
    assert len([r for r in caplog.records if "acquisition date" in r.message]) == 1
    given = survey(bare, tmp_path / "given.gpkg", model=str(seeing_model), report=None, survey_date="2025-10-02")
    assert given["survey_date"] == "2025-10-02"
    with pytest.raises(RamsError, match="not YYYY-MM-DD"):
        survey(bare, tmp_path / "bad.gpkg", model=str(seeing_model), report=None, survey_date="02/10/2025")
