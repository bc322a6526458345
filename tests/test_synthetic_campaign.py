"""The campaign preset: four overlapping flights cut from one scene, with the scene's truth."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from affine import Affine
from rasterio.enums import Resampling
from rasterio.windows import from_bounds
from shapely.geometry import LineString, box

from rams.cli.main import main
from rams.errors import RamsError
from rams.flight import acquisition_date
from rams.synthetic import campaign
from rams.synthetic.campaign import CAMPAIGN, generate_campaign, plan_campaign

LAYERS = {"submunitions", "strike_footprints", "trenches", "trench_polygons", "positions",
          "vegetation", "distractors"}
NAMES = ["flight-a", "flight-b", "flight-c", "flight-d"]


@pytest.fixture(scope="module")
def layout() -> campaign.CampaignLayout:
    return plan_campaign()


def _overlaps(bounds: list[tuple[float, ...]]) -> dict[tuple[int, int], float]:
    """Overlap width (m) across the shared border of each pair of side-by-side neighbours."""
    a, b, c, d = bounds
    return {(0, 1): a[2] - b[0], (2, 3): c[2] - d[0], (0, 2): c[3] - a[1], (1, 3): d[3] - b[1]}


def _own_ground(bounds: list[tuple[float, ...]]) -> list[shapely.Geometry]:
    boxes = [box(*b) for b in bounds]
    return [g.difference(shapely.union_all(boxes[:i] + boxes[i + 1:])) for i, g in enumerate(boxes)]


def test_the_layout_cuts_the_scene_into_four_overlapping_flights(layout) -> None:
    scene, flights = layout.scene, layout.flights
    assert [f.name for f in flights] == NAMES
    bounds = [f.bounds for f in flights]
    assert shapely.union_all([box(*b) for b in bounds]).equals(box(*scene.bounds))
    for pair, width in _overlaps(bounds).items():
        assert 20 <= width <= 40, (pair, width)
    gsds = [f.gsd_m for f in flights]
    assert len(set(gsds)) == 2 and sorted(gsds).count(gsds[-1]) == 1  # one flight differs
    for f in flights:
        w, h = f.size_px
        assert (w * f.gsd_m, h * f.gsd_m) == pytest.approx((f.bounds[2] - f.bounds[0],
                                                            f.bounds[3] - f.bounds[1]), abs=1e-6)
    assert 25e6 <= sum(w * h for w, h in (f.size_px for f in flights)) <= 35e6  # surveys in seconds


def test_a_strike_and_a_trench_cross_flight_edges(layout) -> None:
    scene, bounds = layout.scene, [f.bounds for f in layout.flights]
    own = _own_ground(bounds)
    assert layout.strikes and layout.trenches
    for sid, edges in layout.strikes.items():
        pts = shapely.points([(i.x, i.y) for i in scene.items if i.strike_id == sid])
        assert sum(bool(shapely.intersects(g, pts).any()) for g in own) >= 2, sid
        assert edges and all(e.split()[0] in NAMES for e in edges)
    for tid, edges in layout.trenches.items():
        line = LineString(next(t.xy for t in scene.trenches if t.trench_id == tid))
        assert sum(line.intersects(g) for g in own) >= 2, tid
        inner = shapely.union_all([box(*b).boundary for b in bounds]).difference(
            box(*scene.bounds).boundary)
        assert line.crosses(inner) and edges, tid
    # a strike some flight sees whole is not reported
    assert set(layout.strikes) <= {s.strike_id for s in scene.strikes}


def test_the_plan_is_the_seed_s_and_an_unsuitable_seed_is_refused(layout, monkeypatch) -> None:
    again = plan_campaign()
    assert again.flights == layout.flights and again.cut_m == layout.cut_m
    assert again.strikes == layout.strikes and again.trenches == layout.trenches
    monkeypatch.setattr(campaign, "_crossings", lambda scene, flights: ({}, {}))
    with pytest.raises(RamsError, match="no cut lines"):
        plan_campaign()


def test_each_flight_s_labels_hold_only_its_ground(layout) -> None:
    from rams.synthetic.labels import label_frames

    for f in layout.flights:
        sub = campaign._flight_scene(layout.scene, f)
        assert sub.bounds == f.bounds and sub.gsd_m == f.gsd_m
        frames = label_frames(sub, "EPSG:32638")
        inside = box(*f.bounds).buffer(1e-6)
        for name in ("submunitions", "trenches", "positions", "distractors"):
            assert frames[name].geometry.within(inside).all(), (f.name, name)
        assert frames["strike_footprints"].intersects(box(*f.bounds)).all()


def _fake_flight(scene, flight, out: Path, crs, workers):
    out.write_bytes(flight.name.encode())
    labels = out.with_name(out.stem + ".labels.gpkg")
    labels.write_bytes(b"labels")
    return out, labels


def test_an_occupied_folder_is_replaced_only_when_told(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(campaign, "_write_flight", _fake_flight)
    monkeypatch.setattr(campaign, "write_labels", lambda frames, path: path.write_bytes(b"truth"))
    out = tmp_path / "camp"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(RamsError, match="exists"):
        generate_campaign(out)
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    files = generate_campaign(out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*(f"{n}.tif" for n in NAMES), *(f"{n}.labels.gpkg" for n in NAMES), "truth.gpkg"])
    assert files.flights == tuple(out / f"{n}.tif" for n in NAMES) and files.truth == out / "truth.gpkg"
    assert [p.name for p in tmp_path.iterdir()] == ["camp"]  # nothing left beside it
    (tmp_path / "file").write_text("x")
    with pytest.raises(RamsError, match="not a folder"):
        generate_campaign(tmp_path / "file", overwrite=True)


def test_a_failed_campaign_leaves_nothing(tmp_path, monkeypatch) -> None:
    def fail(*args):
        _fake_flight(*args)
        raise OSError("disk full")

    monkeypatch.setattr(campaign, "_write_flight", fail)
    with pytest.raises(OSError, match="disk full"):
        generate_campaign(tmp_path / "camp")
    assert list(tmp_path.iterdir()) == []


def _one_line(stderr: str, *words: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rams synth: error: "), stderr
    assert all(word in lines[0] for word in words), lines[0]
    assert "Traceback" not in stderr


def test_the_cli_refuses_an_occupied_folder_and_fixed_options(tmp_path, capsys) -> None:
    out = tmp_path / "camp"
    out.mkdir()
    (out / "flight-a.tif").write_bytes(b"last week's flight")
    assert main(["synth", "--preset", "campaign", str(out)]) == 2
    _one_line(capsys.readouterr().err, f"{out}: exists (use --overwrite")
    assert [p.name for p in out.iterdir()] == ["flight-a.tif"]
    assert (out / "flight-a.tif").read_bytes() == b"last week's flight"
    assert main(["synth", "--preset", "campaign", str(tmp_path / "new"), "--seed", "3"]) == 2
    _one_line(capsys.readouterr().err, "--preset campaign fixes", "drop --seed")
    assert main(["synth", "--preset", "campaign"]) == 2
    _one_line(capsys.readouterr().err, "missing OUT")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["camp"]
    from rams import synth

    with pytest.raises(RamsError, match="exists"):
        synth(out, preset="campaign")


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("campaign") / "camp"
    out.mkdir()  # an empty folder is taken
    assert main(["synth", "--preset", "campaign", str(out), "--threads", "2", "-q"]) == 0
    return out


@pytest.mark.slow
def test_the_preset_writes_four_flights_and_the_truth(written: Path, layout) -> None:
    assert sorted(p.name for p in written.iterdir()) == sorted(
        [*(f"{n}.tif" for n in NAMES), *(f"{n}.labels.gpkg" for n in NAMES), "truth.gpkg"])
    for f in layout.flights:
        with rasterio.open(written / f"{f.name}.tif") as ds:
            assert ds.crs.to_epsg() == 32638 and (ds.count, ds.dtypes[0]) == (3, "uint8")
            assert ds.transform.almost_equals(Affine(f.gsd_m, 0, f.bounds[0], 0, -f.gsd_m, f.bounds[3]))
            assert (ds.width, ds.height) == f.size_px
            assert ds.block_shapes[0] == (512, 512) and ds.overviews(1)
            assert ds.compression.name.lower() == "deflate"
            assert acquisition_date(ds) == "2024-09-18"
        labels = written / f"{f.name}.labels.gpkg"
        assert set(pyogrio.list_layers(labels)[:, 0]) == LAYERS
        items = gpd.read_file(labels, layer="submunitions")
        assert items.crs.to_epsg() == 32638 and items.geometry.within(box(*f.bounds)).all()
    truth = written / "truth.gpkg"
    assert set(pyogrio.list_layers(truth)[:, 0]) == LAYERS
    items = gpd.read_file(truth, layer="submunitions")
    trenches = gpd.read_file(truth, layer="trenches")
    assert len(items) == len(layout.scene.items) and "strike_id" in items and "trench_id" in trenches
    assert set(layout.strikes) <= set(items.strike_id) and set(layout.trenches) <= set(trenches.trench_id)
    # every true item is in the labels of each flight whose ground holds it
    for f in layout.flights:
        seen = gpd.read_file(written / f"{f.name}.labels.gpkg", layer="submunitions")
        assert len(seen) == int(items.geometry.within(box(*f.bounds)).sum())


def _read(path: Path, bounds: tuple[float, ...], shape: tuple[int, int] | None = None) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read(window=from_bounds(*bounds, ds.transform), out_shape=shape and (3, *shape),
                       resampling=Resampling.average).astype(np.float32)


@pytest.mark.slow
def test_neighbours_show_the_same_ground_where_they_overlap(written: Path, layout) -> None:
    a, b, c, d = (f.bounds for f in layout.flights)
    shared = (b[0] + 1, a[1] + 1, a[2] - 1, a[1] + 25)  # inside a and b (both at 3 cm)
    pa, pb = _read(written / "flight-a.tif", shared), _read(written / "flight-b.tif", shared)
    assert pa.shape == pb.shape and np.abs(pa - pb).mean() < 0.2 * pa.std()
    shared = (d[0] + 1.2, d[3] - 12, c[2] - 1.2, d[3] - 1.2)  # c at 3 cm, d at 4 cm
    pd = _read(written / "flight-d.tif", shared)
    pc = _read(written / "flight-c.tif", shared, pd.shape[1:])
    assert np.corrcoef(pc.ravel(), pd.ravel())[0, 1] > 0.8


@pytest.mark.slow
def test_the_same_seed_gives_the_same_bytes(written: Path, layout, tmp_path: Path) -> None:
    from rams.synthetic.labels import label_frames, write_labels

    crs = rasterio.crs.CRS.from_user_input(CAMPAIGN.crs)
    d = layout.flights[3]
    tif, labels = campaign._write_flight(layout.scene, d, tmp_path / "flight-d.tif", crs, 1)
    assert tif.read_bytes() == (written / "flight-d.tif").read_bytes()
    assert labels.read_bytes() == (written / "flight-d.labels.gpkg").read_bytes()
    truth = write_labels(label_frames(layout.scene, crs.to_wkt()), tmp_path / "truth.gpkg")
    assert truth.read_bytes() == (written / "truth.gpkg").read_bytes()
