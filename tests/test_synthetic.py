"""Synthetic flights: determinism, georeferencing, labels agree with pixels, demo content."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from rasterio.features import geometry_mask

from rams.errors import RamsError
from rams.synthetic import DEMO, dsm_path, generate_flight, generate_scene, labels_path
from rams.synthetic.render import render_region, render_view, render_window

LAYERS = {"submunitions", "strike_footprints", "trenches", "trench_polygons", "positions",
          "vegetation", "distractors"}


@pytest.fixture(scope="module")
def flight(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("synth") / "f.tif"
    return generate_flight(out, 1024, 1024, 0.03, 7, bands="rgb+dsm", workers=2)


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read()


def test_paths_grid_crs_and_cog(flight: tuple[Path, Path]) -> None:
    tif, labels = flight
    assert labels == labels_path(tif) and labels.name == "f.labels.gpkg"
    with rasterio.open(tif) as ds:
        assert (ds.width, ds.height, ds.count, ds.dtypes[0]) == (1024, 1024, 3, "uint8")
        assert ds.crs.to_epsg() == 32638
        assert ds.res == pytest.approx((0.03, 0.03))
        assert ds.block_shapes[0] == (512, 512) and ds.overviews(1)
        assert ds.compression.name.lower() == "deflate"
        transform = ds.transform
    with rasterio.open(dsm_path(tif)) as dz:
        assert dz.dtypes[0] == "float32" and dz.transform == transform
    assert set(pyogrio.list_layers(labels)[:, 0]) == LAYERS
    for layer in LAYERS:
        assert gpd.read_file(labels, layer=layer).crs.to_epsg() == 32638


def test_identical_arguments_identical_bytes(flight: tuple[Path, Path], tmp_path: Path) -> None:
    tif, labels = flight
    again, again_labels = generate_flight(tmp_path / "f.tif", 1024, 1024, 0.03, 7,
                                          bands="rgb+dsm", workers=1)
    assert again.read_bytes() == tif.read_bytes()
    assert again_labels.read_bytes() == labels.read_bytes()
    assert dsm_path(again).read_bytes() == dsm_path(tif).read_bytes()


def test_seed_changes_everything(flight: tuple[Path, Path], tmp_path: Path) -> None:
    other, other_labels = generate_flight(tmp_path / "g.tif", 1024, 1024, 0.03, 8)
    assert not np.array_equal(_read(other), _read(flight[0]))
    a = gpd.read_file(flight[1], layer="submunitions")
    b = gpd.read_file(other_labels, layer="submunitions")
    assert len(a) != len(b) or not a.geometry.equals(b.geometry)


def test_region_grouping_does_not_change_pixels() -> None:
    scene = generate_scene(1300, 700, 0.02, 3)
    whole, z = render_region(scene, 0, 0, 700, 1300)
    # block by block in another order, and a region at a block-aligned offset
    for r in (0, 512):
        for c in (0, 512, 1024):
            h, w = min(512, 700 - r), min(512, 1300 - c)
            rgb, bz = render_window(scene, r, c, h, w)
            assert np.array_equal(rgb, whole[:, r:r + h, c:c + w])
            assert np.array_equal(bz, z[r:r + h, c:c + w])
    part, _ = render_region(scene, 512, 512, 188, 788)
    assert np.array_equal(part, whole[:, 512:, 512:])


def test_a_view_on_the_flight_grid_shows_the_flight_s_pixels_up_to_sensor_noise() -> None:
    scene = generate_scene(512, 512, 0.025, 5)
    flight, _ = render_region(scene, 0, 0, 512, 512)
    g, (x0, _, _, y1) = scene.gsd_m, scene.bounds
    r0, c0, side = 200, 300, 40  # a view whose pixel centres fall on the flight's, rows 200-239
    view = render_view(scene, x0 + (c0 + side / 2) * g, y1 - (r0 + side / 2) * g, side, 1)
    assert view.shape == (3, side, side) and view.dtype == np.uint8
    diff = np.abs(view.astype(int) - flight[:, r0:r0 + side, c0:c0 + side])
    assert diff.mean() < 3.0 and np.median(diff) <= 2  # sensor noise is about 2 grey levels
    moved = render_view(scene, x0 + (c0 + side / 2 + 8) * g, y1 - (r0 + side / 2) * g, side, 1)
    assert np.abs(moved.astype(int) - flight[:, r0:r0 + side, c0:c0 + side]).mean() > diff.mean() + 1
    assert np.array_equal(view, render_view(scene, x0 + (c0 + side / 2) * g, y1 - (r0 + side / 2) * g, side, 1))
    assert not np.array_equal(view, render_view(scene, x0 + (c0 + side / 2) * g, y1 - (r0 + side / 2) * g, side, 2))


def _mask(geoms: list, transform, shape: tuple[int, int]) -> np.ndarray:
    return ~geometry_mask(geoms, out_shape=shape, transform=transform)


def test_trench_pixels_darker_than_their_surroundings(flight: tuple[Path, Path]) -> None:
    tif, labels = flight
    with rasterio.open(tif) as ds:
        grey = ds.read().astype(float).mean(0)
        transform = ds.transform
    polys = gpd.read_file(labels, layer="trench_polygons")
    assert len(polys)
    inside = _mask(list(polys.geometry), transform, grey.shape)
    ring = _mask(list(polys.geometry.buffer(4).difference(polys.union_all().buffer(0.5))),
                 transform, grey.shape) & ~inside
    veg = gpd.read_file(labels, layer="vegetation")
    clear = ~_mask(list(veg.geometry.buffer(2)), transform, grey.shape) if len(veg) else True
    assert grey[inside & clear].mean() < 0.85 * grey[ring & clear].mean()


def test_positions_and_vegetation_where_labelled(flight: tuple[Path, Path]) -> None:
    tif, labels = flight
    with rasterio.open(tif) as ds:
        rgb = ds.read().astype(float)
        transform = ds.transform
    veg = gpd.read_file(labels, layer="vegetation")
    inside = _mask(list(veg.geometry.buffer(-0.3)), transform, rgb.shape[1:])
    # canopy is green: green dominates red under vegetation, not on average elsewhere
    g_minus_r = rgb[1] - rgb[0]
    assert g_minus_r[inside].mean() > g_minus_r[~inside].mean() + 5
    with rasterio.open(dsm_path(tif)) as dz:
        z = dz.read(1)
    pos = gpd.read_file(labels, layer="positions")
    assert len(pos)
    trench = gpd.read_file(labels, layer="trench_polygons")
    pin = _mask(list(trench.geometry.buffer(-0.1)), transform, z.shape)
    near = _mask(list(trench.geometry.buffer(3)), transform, z.shape) & ~_mask(
        list(trench.geometry.buffer(0.3)), transform, z.shape) & ~inside
    assert np.median(z[pin & ~inside]) < np.median(z[near]) - 0.5  # trenches are depressions


def test_submunitions_stand_out_from_local_background(flight: tuple[Path, Path]) -> None:
    tif, labels = flight
    with rasterio.open(tif) as ds:
        rgb = ds.read().astype(float)
        inv = ~ds.transform
    items = gpd.read_file(labels, layer="submunitions")
    visible = items[items.visible_fraction >= 0.99]
    assert len(visible) >= 3
    diffs = []
    for pt in visible.geometry:
        c, r = (int(v) for v in inv @ (pt.x, pt.y))
        if 6 <= r < rgb.shape[1] - 6 and 6 <= c < rgb.shape[2] - 6:
            centre = rgb[:, r, c]
            ring = np.concatenate([rgb[:, r - 6, c - 6:c + 7], rgb[:, r + 6, c - 6:c + 7],
                                   rgb[:, r - 6:r + 7, c - 6], rgb[:, r - 6:r + 7, c + 6]], 1)
            diffs.append(np.abs(centre - np.median(ring, 1)).sum())
    assert np.median(diffs) > 20


def test_other_crs_and_gsd_honoured(tmp_path: Path) -> None:
    tif, labels = generate_flight(tmp_path / "h.tif", 300, 200, 0.05, 1, crs="EPSG:3857")
    with rasterio.open(tif) as ds:
        assert ds.crs.to_epsg() == 3857 and ds.res == pytest.approx((0.05, 0.05))
        bounds = ds.bounds
    pts = gpd.read_file(labels, layer="submunitions")
    assert pts.crs.to_epsg() == 3857
    assert shapely.box(*bounds).contains(pts.geometry).all()


def test_bad_input_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(RamsError, match="not projected"):
        generate_flight(tmp_path / "x.tif", 64, 64, 0.03, 1, crs="EPSG:4326")
    with pytest.raises(RamsError, match="GSD"):
        generate_flight(tmp_path / "x.tif", 64, 64, 5.0, 1)
    with pytest.raises(RamsError, match="bands"):
        generate_flight(tmp_path / "x.tif", 64, 64, 0.03, 1, bands="rgbn")


def test_demo_scene_holds_every_object_class() -> None:
    scene = generate_scene(DEMO.width_px, DEMO.height_px, DEMO.gsd_m, DEMO.seed, DEMO.crs)
    strikes = {s.strike_id for s in scene.strikes}
    in_strikes = [i for i in scene.items if i.strike_id in strikes]
    assert len(in_strikes) >= 24 and any(i.strike_id == -1 for i in scene.items)
    assert len(scene.trenches) >= 2 and {t.shape for t in scene.trenches} == {"zigzag",
                                                                               "sawtooth"}
    assert len(scene.positions) >= 2
    assert {p.kind for p in scene.positions} >= {"firing_circular", "revetment"}
    assert {v.kind for v in scene.vegetation} == {"tree_clump", "scrub", "bush"}
    kinds = {t.kind for t in scene.things} | {p.kind for p in scene.paths}
    assert kinds >= {"scrap", "can", "bottle", "fence_post", "tyre_track"}
    assert scene.stones and scene.craters
    assert len({i.munition_type for i in scene.items}) >= 3
