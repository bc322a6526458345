"""`rams survey` with the shipped model on a synthetic flight: schedulers, resume, atomicity, errors."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyogrio
import pytest
import yaml

from rams.errors import RamsError
from rams.pipelines.survey import NETWORK_KEYS, survey
from rams.settings import SurveySettings, TilingSettings

SMALL_REGIONS = SurveySettings(tiling=TilingSettings(tile_px=512, region_px=512))
DETECTIONS = ("submunitions", "trenches", "positions", "hazard_areas", "not_assessable")


@pytest.fixture(scope="module")
def flight(tmp_path_factory) -> Path:
    from rams.synthetic import generate_flight

    tif, _ = generate_flight(tmp_path_factory.mktemp("flight") / "f.tif", 1536, 1536, 0.03, 4242)
    return tif


def _rams(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rams.cli.main", *args], capture_output=True, text=True, **kw)


def _layers(path: Path) -> dict:
    return {name: pyogrio.read_dataframe(path, layer=name) for name in DETECTIONS}


def _assert_same(a: dict, b: dict) -> None:
    for name in DETECTIONS:
        left, right = a[name], b[name]
        assert len(left) == len(right), name
        if len(left):
            assert left.geometry.geom_equals_exact(right.geometry, 1e-6).all(), name
            cols = [c for c in left.columns if c not in ("geometry", "chip")]  # chip names the report
            assert left[cols].equals(right[cols]), name


@pytest.fixture(scope="module")
def threaded_run(flight, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("threaded") / "out.gpkg"
    return out, survey(flight, out, settings=SMALL_REGIONS, report=None)


@pytest.fixture(scope="module")
def threaded(threaded_run) -> Path:
    return threaded_run[0]


def test_local_cluster_gives_the_same_output(flight, threaded, tmp_path):
    out = tmp_path / "cluster.gpkg"
    survey(flight, out, settings=SMALL_REGIONS, report=None, workers=2)
    _assert_same(_layers(threaded), _layers(out))


def test_metadata_and_summary_name_every_model_behind_the_survey(threaded_run):
    from rams.detector.detector import Detector

    out, summary = threaded_run
    meta = pyogrio.read_dataframe(out, layer="metadata")
    meta = dict(zip(meta["key"], meta["value"], strict=True))
    det = Detector.load(meta["model"])
    assert meta["model_sha256"] == det.card["sha256"]
    for kind, model in (("context_model", det.context), ("verifier_model", det.verifier)):
        assert (meta[kind], meta[f"{kind}_sha256"]) == (model.card["name"], model.card["sha256"])
    assert {key: summary[key] for key in NETWORK_KEYS} == {key: meta[key] for key in NETWORK_KEYS}


def test_regions_smaller_than_a_tile_are_refused(flight, tmp_path):
    settings = SurveySettings(tiling=TilingSettings(region_px=512))  # the shipped tiles are 576 px
    with pytest.raises(RamsError, match="512 px is smaller than a tile"):
        survey(flight, tmp_path / "out.gpkg", settings=settings, report=None)
    assert not list(tmp_path.glob("out*"))


def test_resume_after_sigkill(flight, threaded, tmp_path):
    config = tmp_path / "survey.yaml"
    config.write_text(yaml.safe_dump({"tiling": {"tile_px": 512, "region_px": 512}}))
    out = tmp_path / "resumed.gpkg"
    args = [sys.executable, "-m", "rams.cli.main", "survey", str(flight), "-o", str(out), "--config", str(config)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    runs = tmp_path / ".rams-runs"
    deadline = time.time() + 300
    while time.time() < deadline and len(list(runs.glob("*/region-*.json"))) < 2:
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list(runs.glob("*/region-*.json")))
    assert 2 <= finished < 9 and not out.exists()
    second = _rams("survey", str(flight), "-o", str(out), "--config", str(config))
    assert second.returncode == 0, second.stderr
    assert f"resumed {finished} of 9 regions" in second.stderr
    _assert_same(_layers(threaded), _layers(out))
    assert not runs.exists()  # the run folder goes once the output is written


def test_failed_survey_leaves_the_old_output(flight, tmp_path):
    broken = tmp_path / "broken.tif"
    raw = bytearray(flight.read_bytes())
    middle = len(raw) // 2
    raw[middle : middle + 200_000] = os.urandom(200_000)
    broken.write_bytes(bytes(raw))
    out = tmp_path / "out.gpkg"
    out.write_bytes(b"previous output")
    result = _rams("survey", str(broken), "-o", str(out), "--overwrite")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) >= 1 and str(broken) in lines[-1] and "Traceback" not in result.stderr
    assert out.read_bytes() == b"previous output"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out") or p.suffix == ".tmp"]


@pytest.mark.parametrize(
    "make, expect",
    [
        (lambda p: (p / "missing.tif", None), "no such file"),
        (lambda p: ((p / "x.tif").write_text("not a raster") and p / "x.tif", None), "not a raster"),
        (lambda p: (None, {"tiling": {"tile_size": 512}}), "unknown key 'tiling.tile_size'"),
        (lambda p: (None, {"detection": {"nms_radius_m": -1}}), "detection.nms_radius_m"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(flight, tmp_path, make, expect):
    path, config = make(tmp_path)
    args = ["survey", str(path or flight), "-o", str(tmp_path / "o.gpkg")]
    if config is not None:
        (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
        args += ["--config", str(tmp_path / "c.yaml")]
    result = _rams(*args)
    assert result.returncode == 2, result.stderr
    assert expect in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o.gpkg").exists()
