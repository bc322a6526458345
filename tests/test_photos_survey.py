"""`rams survey PHOTOS/`: a survey straight from tagged photographs (the photos preset)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from PIL import Image

from rams.errors import RamsError
from rams.pipelines.photos import is_photo_set, photo_paths, survey_photos


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from rams.synthetic.photos import TINY, generate_photos

    return generate_photos(tmp_path_factory.mktemp("photos") / "tiny", gps_noise_m=0.0, survey=TINY)


def _points(path: Path):
    return pyogrio.read_dataframe(path, layer="submunitions")


def test_photographs_are_told_from_an_orthomosaic(tiny, tmp_path):
    assert is_photo_set([tiny.folder / "photos"]) and is_photo_set(tiny.photos[:2])
    assert is_photo_set([tiny.photos[0]]) and not is_photo_set([tiny.ortho])
    assert photo_paths([tiny.folder / "photos"]) == sorted(tiny.photos)
    with pytest.raises(RamsError, match="holds no photographs"):
        photo_paths([tmp_path])


def test_the_photographs_are_surveyed_into_one_picture(tiny, tmp_path):
    out = tmp_path / "photos.gpkg"
    summary = survey_photos([tiny.folder / "photos"], out, report=tmp_path / "photos.html")
    assert summary["photos"] == len(tiny.photos) and summary["photos_refused"] == 0
    points = _points(out)
    assert {"n_views", "n_visible", "photos", "view_spread_m", "position_error_m"} <= set(points.columns)
    coverage = pyogrio.read_dataframe(out, layer="coverage")
    assert len(coverage) == len(tiny.photos)
    union = shapely.union_all(coverage.geometry.to_numpy())
    assert union.area == pytest.approx(coverage["area_m2"].sum(), rel=1e-6)  # planar
    truth = pyogrio.read_dataframe(tiny.truth, layer="submunitions")
    assert shapely.contains(union.buffer(0.01), truth.geometry.to_numpy()).mean() > 0.9  # the scene is imaged
    assert len(points) >= 2 and (points["n_views"] >= 2).sum() >= 2  # items seen in several photographs
    xy = points.geometry.to_numpy()
    left, right = shapely.STRtree(xy).query(xy, predicate="dwithin", distance=0.5)
    assert not (left < right).any()  # one item, one point
    assert (points["n_views"] <= points["n_visible"]).all()
    areas = pyogrio.read_dataframe(out, layer="hazard_areas")
    cmr = shapely.union_all(areas[areas["hazard_type"].str.contains("CMR")].geometry.to_numpy())
    assert shapely.contains(cmr, xy).all()
    meta = pyogrio.read_dataframe(out, layer="metadata")
    meta = dict(zip(meta["key"], meta["value"], strict=True))
    assert meta["crs"].startswith("EPSG:326") and meta["registration"] == "true"
    assert not (tmp_path / ".rams-runs").exists()  # nothing left beside the output
    page = (tmp_path / "photos.html").read_text()
    assert "Survey from photographs" in page and f"{len(tiny.photos)} photographs" in page


def test_an_oblique_or_untagged_photograph_is_refused_and_the_others_go_on(tiny, tmp_path, caplog):
    folder = tmp_path / "photos"
    shutil.copytree(tiny.folder / "photos", folder)
    first = sorted(folder.iterdir())[0]
    with Image.open(first) as image:
        pixels = image.copy()
    pixels.save(first, "JPEG")  # the tags are gone
    survey_photos([folder], tmp_path / "out.gpkg", registration=False)
    assert f"{first}: no GPS position" in caplog.text
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(first, bare / first.name)
    run = subprocess.run([sys.executable, "-m", "rams.cli.main", "survey", str(bare), "-o", str(tmp_path / "b.gpkg")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "no usable photograph" in run.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "b.gpkg").exists()


@pytest.mark.slow
def test_the_photos_preset_against_its_orthomosaic_and_truth(tmp_path):
    """The issue's targets on the preset without GPS noise: recall within 0.02 of the
    orthomosaic's survey, no two points within 0.5 m, median position error at most 0.05 m,
    every true item inside a CMR hazard area."""
    import rams
    from rams.evaluation.metrics import submunition_counts
    from rams.synthetic.photos import generate_photos

    files = generate_photos(tmp_path / "preset", gps_noise_m=0.0)
    photos, ortho = tmp_path / "photos.gpkg", tmp_path / "ortho.gpkg"
    survey_photos([files.folder / "photos"], photos)
    rams.survey(files.ortho, ortho, report=None)
    truth = pyogrio.read_dataframe(files.truth, layer="submunitions")
    recall = {}
    for name, path in (("photos", photos), ("ortho", ortho)):
        counts = submunition_counts(_points(path), truth, 0.3)
        recall[name] = counts["tp"] / (counts["tp"] + counts["fn"])
    assert recall["photos"] >= recall["ortho"] - 0.02
    found = _points(photos)
    xy = shapely.get_coordinates(found.geometry.to_numpy())
    distance = np.sqrt(((xy[:, None] - shapely.get_coordinates(truth.geometry.to_numpy())[None]) ** 2).sum(-1))
    matched = distance.min(axis=1) < 0.3
    assert np.median(distance.min(axis=1)[matched]) <= 0.05
    left, right = shapely.STRtree(found.geometry.to_numpy()).query(found.geometry.to_numpy(), predicate="dwithin",
                                                                   distance=0.5)
    assert not (left < right).any()
    areas = pyogrio.read_dataframe(photos, layer="hazard_areas")
    cmr = shapely.union_all(areas[areas["hazard_type"].str.contains("CMR")].geometry.to_numpy())
    assert shapely.contains(cmr, truth.geometry.to_numpy()).all()


def test_a_dsm_is_the_ground_the_photographs_are_cast_on(tiny, tmp_path):
    """The preset's ground lies at 350 m below the tags' altitude datum (AbsoluteAltitude =
    height + 350): a flat DSM at 350 m places the items as the take-off level does."""
    import rasterio
    from rasterio.transform import from_origin

    level = pyogrio.read_dataframe(tiny.truth, layer="submunitions")
    west, south, east, north = level.total_bounds
    dsm = tmp_path / "dsm.tif"
    with rasterio.open(dsm, "w", driver="GTiff", width=100, height=100, count=1, dtype="float32",
                       crs=level.crs, transform=from_origin(west - 40, north + 40, (east - west + 80) / 100,
                                                            (north - south + 80) / 100)) as dst:
        dst.write(np.full((1, 100, 100), 350.0, dtype="float32"))
    on_dsm, on_level = tmp_path / "dsm.gpkg", tmp_path / "level.gpkg"
    survey_photos([tiny.folder / "photos"], on_dsm, dsm=dsm, registration=False)
    survey_photos([tiny.folder / "photos"], on_level, registration=False)
    a, b = _points(on_dsm), _points(on_level)
    assert len(a) == len(b) >= 2
    assert np.abs(shapely.get_coordinates(a.geometry.to_numpy())
                  - shapely.get_coordinates(b.geometry.to_numpy())).max() < 0.02
    with pytest.raises(RamsError, match="not both"):
        survey_photos([tiny.folder / "photos"], tmp_path / "x.gpkg", dsm=dsm, ground_elevation_m=350.0)


def test_several_orthomosaics_are_a_campaign_not_a_survey(tiny):
    assert not is_photo_set([tiny.ortho])  # one TIFF is always an orthomosaic
    with pytest.raises(RamsError, match="rams campaign"):
        is_photo_set([tiny.ortho, tiny.photos[0]])
