"""`rams campaign` with the shipped model: four overlapping flights cut from one synthetic flight,
on the threaded scheduler and a LocalCluster, resumed after a SIGKILL, from GDAL virtual paths."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
import yaml
from rasterio.windows import Window
from shapely.geometry import box

from rams.errors import RamsError
from rams.pipelines.campaign import campaign, flight_paths, flights_dir
from rams.settings import SurveySettings, TilingSettings

SMALL_REGIONS = SurveySettings(tiling=TilingSettings(tile_px=512, region_px=512))
LAYERS = ("submunitions", "trenches", "positions", "coverage", "not_assessable", "strike_footprints",
          "hazard_areas")
SIDE, STEP = 1200, 848  # four 1200 px flights, neighbours overlapping by 352 px (10.6 m at 3 cm)


@pytest.fixture(scope="module")
def flights(tmp_path_factory) -> list[Path]:
    from rams.synthetic import generate_flight

    folder = tmp_path_factory.mktemp("campaign")
    tif, _ = generate_flight(folder / "whole" / "scene.tif", SIDE + STEP, SIDE + STEP, 0.03, 4243)
    paths = []
    with rasterio.open(tif) as src:
        for name, (col, row) in zip("abcd", ((0, 0), (STEP, 0), (0, STEP), (STEP, STEP)), strict=True):
            window = Window(col, row, SIDE, SIDE)
            profile = dict(src.profile, width=SIDE, height=SIDE, transform=src.window_transform(window),
                           driver="GTiff", tiled=True, blockxsize=256, blockysize=256, compress="deflate")
            path = folder / "flights" / f"flight-{name}.tif"
            path.parent.mkdir(exist_ok=True)
            with rasterio.open(path, "w", **profile) as dst:
                dst.write(src.read(window=window))
                dst.update_tags(TIFFTAG_DATETIME=f"2026:05:0{'abcd'.index(name) + 1} 10:00:00")
            paths.append(path)
    return paths


def _layers(path: Path) -> dict:
    return {name: pyogrio.read_dataframe(path, layer=name) for name in LAYERS}


def _assert_same(a: dict, b: dict) -> None:
    for name in LAYERS:
        left, right = a[name], b[name]
        assert len(left) == len(right), name
        if len(left):
            assert left.geometry.geom_equals_exact(right.geometry, 1e-6).all(), name
            cols = [c for c in left.columns if c != "geometry"]
            assert left[cols].equals(right[cols]), name


@pytest.fixture(scope="module")
def threaded_run(flights, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("threaded") / "campaign.gpkg"
    return out, campaign(flights, out, settings=SMALL_REGIONS)


def test_the_campaign_is_one_picture_of_the_ground(threaded_run, flights):
    out, summary = threaded_run
    layers = _layers(out)
    assert summary["regions"] == 4 * 9 and len(summary["flights"]) == 4
    points = layers["submunitions"].geometry.to_numpy()
    left, right = shapely.STRtree(points).query(points, predicate="dwithin", distance=0.3)
    assert not (left < right).any()  # no item twice
    assert layers["submunitions"]["flight_ids"].str.contains(",").any()  # some seen by two flights
    coverage = layers["coverage"]
    assert sorted(coverage["flight_id"]) == ["flight-a", "flight-b", "flight-c", "flight-d"]
    union = shapely.union_all(coverage.geometry.to_numpy())
    assert union.area == pytest.approx(coverage["area_m2"].sum(), rel=1e-9)  # owned ground never overlaps
    assert union.area == pytest.approx(((SIDE + STEP) * 0.03) ** 2, rel=1e-6)
    areas = layers["hazard_areas"]
    assert shapely.union_all(areas.geometry.to_numpy()).area == pytest.approx(areas["area_m2"].sum(), rel=1e-3)
    assert (areas["flight_id"] != "").all() and areas["survey_date"].str.startswith("2026-05-0").all()
    for path in flights:  # every flight's own GeoPackage is kept
        own = flights_dir(out) / f"{path.stem}.gpkg"
        assert len(pyogrio.read_dataframe(own, layer="coverage")) == 1
    meta = pyogrio.read_dataframe(out, layer="metadata")
    assert dict(zip(meta["key"], meta["value"], strict=True))["created_by"] == "rams campaign"
    assert not (out.parent / ".rams-runs").exists()


def test_local_cluster_gives_the_same_output(flights, threaded_run, tmp_path):
    out = tmp_path / "cluster.gpkg"
    campaign(flights, out, settings=SMALL_REGIONS, workers=2)
    _assert_same(_layers(threaded_run[0]), _layers(out))


def test_resume_after_sigkill_of_the_client(flights, threaded_run, tmp_path):
    config = tmp_path / "survey.yaml"
    config.write_text(yaml.safe_dump({"tiling": {"tile_px": 512, "region_px": 512}}))
    out = tmp_path / "resumed.gpkg"
    args = [sys.executable, "-m", "rams.cli.main", "campaign", *map(str, flights), "-o", str(out),
            "--config", str(config)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    runs = tmp_path / ".rams-runs"
    deadline = time.time() + 300
    while time.time() < deadline and len(list(runs.glob("*/region-*.json"))) < 6:
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list(runs.glob("*/region-*.json")))
    assert finished >= 6 and not out.exists()
    second = subprocess.run(args, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert f"resumed {finished} regions" in second.stderr
    _assert_same(_layers(threaded_run[0]), _layers(out))
    assert not runs.exists()


def test_a_finished_flight_is_not_surveyed_again(flights, threaded_run, tmp_path):
    out = tmp_path / "again.gpkg"
    campaign(flights[:2], out, settings=SMALL_REGIONS)
    os.remove(out)
    summary = campaign(flights, out, settings=SMALL_REGIONS)
    assert summary["flights_resumed"] == 2
    _assert_same(_layers(threaded_run[0]), _layers(out))


def test_a_gdal_virtual_path_is_a_flight(flights, tmp_path):
    virtual = "/vsimem/campaign-test/flight-v.tif"
    with rasterio.open(flights[0]) as src, rasterio.open(virtual, "w", **src.profile) as dst:
        dst.write(src.read())
    try:
        out = tmp_path / "virtual.gpkg"
        summary = campaign([virtual, str(flights[1])], out, settings=SMALL_REGIONS)
    finally:
        rasterio.shutil.delete(virtual) if hasattr(rasterio, "shutil") else None
    assert [f["flight"] for f in summary["flights"]] == [virtual, str(flights[1])]
    assert sorted(pyogrio.read_dataframe(out, layer="coverage")["flight_id"]) == ["flight-b", "flight-v"]


def test_the_baseline_of_task_polygons(flights, threaded_run, tmp_path):
    out, _ = threaded_run
    with rasterio.open(flights[0]) as src:
        crs = src.crs
    left, bottom, right, top = shapely.union_all(_layers(out)["coverage"].geometry.to_numpy()).bounds
    middle = (left + right) / 2
    tasks = gpd.GeoDataFrame({"name": ["west", "east", "beyond"]},
                             geometry=[box(left, bottom, middle, top), box(middle, bottom, right, top),
                                       box(right, bottom, right + 50, top)], crs=crs)
    path = tmp_path / "tasks.gpkg"
    pyogrio.write_dataframe(tasks.to_crs("EPSG:4326"), path)
    result = tmp_path / "baseline.gpkg"
    summary = campaign(flights, result, settings=SMALL_REGIONS, tasks=path, task_field="name")
    table = pyogrio.read_dataframe(result, layer="baseline").set_index("task")
    assert table.loc["west", "imaged_share"] == pytest.approx(1.0, abs=1e-3)
    assert table.loc["beyond", "imaged_share"] == pytest.approx(0.0, abs=1e-6)
    areas = pyogrio.read_dataframe(result, layer="hazard_areas")
    cmr = shapely.union_all(areas[areas["hazard_type"].isin(["CMR", "CMR+FORTIFICATION"])].geometry.to_numpy())
    within = shapely.intersection(cmr, shapely.union_all(tasks.geometry.to_numpy())).area
    assert table["cmr_area_m2"].sum() == pytest.approx(within, rel=1e-3)  # the tasks never overlap
    assert summary["baseline_totals"]["tasks"] == 3


def test_flights_from_a_folder_or_a_list(flights, tmp_path):
    folder = flights[0].parent
    assert flight_paths([folder]) == sorted(str(p) for p in flights)
    listing = tmp_path / "flights.txt"
    listing.write_text(f"# the campaign\n{flights[1]}\n\n{flights[0]}\n")
    assert flight_paths([listing]) == [str(flights[1]), str(flights[0])]
    with pytest.raises(RamsError, match="named twice"):
        flight_paths([folder, flights[0]])
    with pytest.raises(RamsError, match="holds no flight"):
        flight_paths([tmp_path])


def test_the_cli_refuses_an_existing_output_and_a_clashing_flight_id(flights, tmp_path):
    out = tmp_path / "c.gpkg"
    out.write_bytes(b"old")
    run = subprocess.run([sys.executable, "-m", "rams.cli.main", "campaign", *map(str, flights[:2]), "-o", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 2 and run.stderr.strip().count("\n") == 0 and "--overwrite" in run.stderr
    assert out.read_bytes() == b"old"
    twin = tmp_path / "other" / flights[0].name
    twin.parent.mkdir()
    twin.write_bytes(flights[0].read_bytes())
    with pytest.raises(RamsError, match="flight ids must be unique"):
        campaign([flights[0], twin], tmp_path / "d.gpkg", settings=SMALL_REGIONS)
    assert not (tmp_path / "d.gpkg").exists()
    assert np.all([not p.name.startswith("d.") for p in tmp_path.iterdir()])


@pytest.mark.slow
def test_the_campaign_preset_merged_against_its_truth(tmp_path):
    """The issue's targets on the preset: no item twice, one footprint per strike and few pieces
    per trench across flight edges, every flight named, the report written."""
    from rams.evaluation.hazards import fragmentation_metrics
    from rams.pipelines.synth import synth

    files = synth(tmp_path / "preset", preset="campaign")
    out = tmp_path / "campaign.gpkg"
    summary = campaign(files.flights, out, report=tmp_path / "campaign.html")
    found = _layers(out)
    truth = {name: pyogrio.read_dataframe(files.truth, layer=name) for name in ("submunitions", "trenches")}
    points = found["submunitions"].geometry.to_numpy()
    left, right = shapely.STRtree(points).query(points, predicate="dwithin", distance=0.3)
    assert not (left < right).any()
    scores = fragmentation_metrics(found["strike_footprints"], found["trenches"], truth)
    assert scores["footprints_per_true_strike"] <= 1.2
    assert scores["trench_pieces_per_true_trench"] <= 1.5
    assert {f["gsd_m"] for f in summary["flights"]} == {0.03, 0.04}
    assert "flight-d" in " ".join(found["hazard_areas"]["flight_id"])
    assert (tmp_path / "campaign.html").stat().st_size > 10_000


def test_flights_are_interleaved_a_window_at_a_time():
    from types import SimpleNamespace

    from rams.pipelines.campaign import _interleaved

    plans = {n: SimpleNamespace(job=f"job{n}", regions=[f"{n}.{r}" for r in range(count)])
             for n, count in enumerate((2, 3, 1, 2))}
    order = [region for _, _, region in _interleaved(plans, window=2)]
    assert order == ["0.0", "1.0", "0.1", "1.1", "1.2", "2.0", "3.0", "3.1"]
