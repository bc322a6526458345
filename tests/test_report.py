"""The survey report: a self-contained HTML page with map, figures and a chip per detection."""

from __future__ import annotations

import base64
import io
import math
import re
import shutil
import subprocess

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from PIL import Image
from rasterio.windows import Window
from rasters import ORIGIN, UTM38N, textured, write_tif
from shapely.geometry import LineString, Point, Polygon, box

from rams.flight import open_flight
from rams.flight_view import read_view
from rams.report import chip_anchor, write_report
from rams.report.chips import SUBMUNITION_CHIP_PX, read_padded
from rams.report.stats import tally

W, H, GSD = 600, 400, 0.05  # a 30 m x 20 m flight
X0, Y1 = ORIGIN  # top-left corner; the flight spans X0..X0+30, Y1-20..Y1
CHROMIUM = "/usr/bin/chromium"
SUMMARY = {
    "flight_id": "f1",
    "model": "rams-test",
    "model_sha256": "ab" * 32,
    "seconds": 12.5,
    "mpix_per_s": 0.0192,
    "km2_per_h": 0.173,
    "regions": 1,
    "config": {"tile_px": 512, "overlap_px": 64},
}


def _frame(geoms: list, **columns: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(geoms, crs=UTM38N), crs=UTM38N)


def _square(x: float, y: float, size: float) -> Polygon:
    return box(X0 + x, Y1 - y - size, X0 + x + size, Y1 - y)


@pytest.fixture()
def flight(tmp_path):
    return open_flight(write_tif(tmp_path / "f1.tif", textured(3, H, W), gsd_m=GSD))


@pytest.fixture()
def layers() -> dict[str, gpd.GeoDataFrame]:
    """One or more features per layer; ``(x, y)`` are metres right of and below the corner."""
    points = [(5, 5), (6, 5.5), (10, 12), (20, 8), (25, 15), (0.2, 0.2), (29.9, 19.9)]
    ring = _square(14, 2, 6)
    return {
        "submunitions": _frame(
            [Point(X0 + x, Y1 - y) for x, y in points],
            confidence=[0.9, 0.55, 0.7, 0.99, 0.6, 0.8, 0.42],
            flight_id="f1",
        ),
        "trenches": _frame(
            [LineString([(X0 + 2, Y1 - 18), (X0 + 12, Y1 - 18)]),
             LineString([(X0 + 2, Y1 - 10), (X0 + 2, Y1 - 14), (X0 + 5, Y1 - 14)])],
            length_m=[10.0, 7.0], confidence=0.8,
        ),
        "positions": _frame(
            [Polygon(ring.exterior, [_square(16, 4, 2).exterior]), _square(22, 14, 3)],
            area_m2=[32.0, 9.0], confidence=[0.6, 0.95],
        ),
        "strike_footprints": _frame([Point(X0 + 7, Y1 - 7).buffer(4)], item_count=[12]),
        "hazard_areas": _frame(
            [Point(X0 + 7, Y1 - 7).buffer(6), _square(12, 0, 10)],
            hazard_type=["CMR", "FORTIFICATION"], status="SHA",
        ),
        "coverage": _frame([box(X0, Y1 - 20, X0 + 30, Y1)], area_m2=[600.0]),
        "not_assessable": _frame(
            [_square(24, 0, 4), _square(25, 1, 4), _square(0, 16, 2)],
            reason=["vegetation", "vegetation", "dark"],
        ),
    }


def _chips(page: str) -> list[str]:
    return re.findall(r'<figure class="chip" id="([a-z_]+-\d+)"', page)


def _map(page: str) -> Image.Image:
    data = re.search(r'<img id="map" src="data:image/png;base64,([^"]+)"', page).group(1)
    return Image.open(io.BytesIO(base64.b64decode(data)))


def test_report_is_one_self_contained_file(tmp_path, flight, layers):
    out = write_report(tmp_path / "report.html", flight, layers, SUMMARY)

    page = out.read_text(encoding="utf-8")
    assert out == tmp_path / "report.html"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f1.tif", "report.html"]
    assert "data:image/png;base64," in page
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)
    assert "<link" not in page and "<script" not in page and "@import" not in page
    assert "url(http" not in page
    for src in re.findall(r'src="([^"]+)"', page):
        assert src.startswith("data:image/png;base64,")


def test_report_counts_areas_and_run_summary(tmp_path, flight, layers):
    page = write_report(tmp_path / "r.html", flight, layers, SUMMARY).read_text()

    text = re.sub(r"<[^>]+>", " ", page)
    text = re.sub(r"\s+", " ", text)
    assert "Submunitions 7" in text
    assert "Trenches 2 17.0 m total length" in text
    assert "Positions 2" in text and "Strike footprints 1 12 items" in text
    assert "FORTIFICATION 1 100 m²" in text
    assert "Area covered (of extent) 600 m² 0.06 ha 100.0 %" in text
    # two overlapping vegetation squares count once: 16 + 16 - 9 m²
    assert "vegetation 23 m²" in text and "dark 4 m²" in text
    assert "Not assessable (of covered) 27 m²" in text and "4.5 %" in text
    assert "rams-test" in text and "12.5 s" in text and "0.0192 MPix/s" in text
    assert "tile_px 512" in text


def test_tally_measures_in_metres(layers):
    t = tally(layers, extent_m2=600.0)

    assert (t.submunitions, t.trenches, t.positions, t.strike_footprints) == (7, 2, 2, 1)
    assert t.trench_length_m == pytest.approx(17.0)
    assert t.position_area_m2 == pytest.approx(36 - 4 + 9)
    assert t.hazard_areas["FORTIFICATION"] == (1, pytest.approx(100.0))
    assert t.hazard_areas["CMR"][1] == pytest.approx(np.pi * 36, rel=0.01)
    assert t.coverage.percent == pytest.approx(100.0)
    assert t.not_assessable_by_reason["vegetation"].area_m2 == pytest.approx(23.0)
    assert t.not_assessable.area_m2 == pytest.approx(27.0)
    assert t.assessable.area_m2 == pytest.approx(600 - 27)


def test_every_detection_has_a_chip_in_confidence_order(tmp_path, flight, layers):
    page = write_report(tmp_path / "r.html", flight, layers, SUMMARY).read_text()

    chips = _chips(page)
    subs = [c for c in chips if c.startswith("submunitions")]
    assert subs == ["submunitions-4", "submunitions-1", "submunitions-6", "submunitions-3",
                    "submunitions-5", "submunitions-2", "submunitions-7"]
    assert [c for c in chips if c.startswith("positions")] == ["positions-2", "positions-1"]
    assert sorted(c for c in chips if c.startswith("trenches")) == ["trenches-1", "trenches-2"]
    assert page.count('class="chip-img"') == len(chips) == 11
    assert f'id="{chip_anchor("positions", 1)[1:]}"' in page
    assert "Showing all 7" in page and "Showing all 2" in page


def test_chips_are_capped_at_the_most_confident(tmp_path, flight, layers):
    page = write_report(tmp_path / "r.html", flight, layers, SUMMARY, chip_limit=3).read_text()

    chips = _chips(page)
    assert chips[:3] == ["submunitions-4", "submunitions-1", "submunitions-6"]
    assert len(chips) == 3 + 2 + 2
    assert "the 3 most confident of 7" in page
    assert "<b>4 detections are not shown here</b>" in page


def test_chips_sizes_and_edge_padding(tmp_path, flight, layers):
    page = write_report(tmp_path / "r.html", flight, layers, SUMMARY).read_text()

    images = re.findall(r'<figure class="chip" id="([a-z_]+-\d+)".*?base64,([^"]+)"', page)
    decoded = {key: Image.open(io.BytesIO(base64.b64decode(data))) for key, data in images}
    assert all(decoded[f"submunitions-{i}"].size == (SUBMUNITION_CHIP_PX,) * 2 for i in range(1, 8))
    corner = np.asarray(decoded["submunitions-6"].convert("RGB"))  # 0.2 m from the corner
    assert (corner[:30, :30] == corner[0, 0]).all()  # outside the raster: flat grey padding
    assert corner.std(axis=(0, 1)).max() > 10  # and imagery where the raster is
    assert decoded["positions-1"].size[0] >= SUBMUNITION_CHIP_PX


def test_map_image_has_every_layer_drawn(tmp_path, flight, layers):
    bare = _map(write_report(tmp_path / "bare.html", flight, {}, {}).read_text())
    drawn = _map(write_report(tmp_path / "r.html", flight, layers, SUMMARY).read_text())
    small = _map(write_report(tmp_path / "s.html", flight, layers, {}, view=read_view(flight, 300))
                 .read_text())

    assert bare.format == drawn.format == "PNG"
    assert drawn.size == (W, H) and small.size == (300, 200)
    before, after = np.asarray(bare, dtype=int), np.asarray(drawn, dtype=int)
    px = round(1 / GSD)

    def changed(x_m: float, y_m: float) -> bool:
        r, c = int(y_m * px), int(x_m * px)
        near = np.s_[r - 1 : r + 2, c - 1 : c + 2]
        return bool(np.abs(after[near] - before[near]).sum() > 0)

    assert changed(20, 8)  # a submunition
    assert changed(7, 18)  # a trench
    assert changed(7, 7)  # inside the CMR area
    assert changed(23.5, 15.5)  # a position
    assert changed(25, 2)  # not-assessable ground
    assert not changed(8, 15)  # bare ground


def test_empty_and_missing_layers(tmp_path, flight):
    layers = {"submunitions": gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=UTM38N))}
    page = write_report(tmp_path / "r.html", flight, layers, {}).read_text()

    assert _chips(page) == []
    assert page.count("No detections.") == 3  # submunitions, trenches, positions
    assert "No suspected hazard areas." in page and "No run summary." in page


def test_layers_in_another_crs_are_reprojected(tmp_path, flight, layers):
    layers["submunitions"] = layers["submunitions"].to_crs("EPSG:4326")
    page = write_report(tmp_path / "r.html", flight, layers, SUMMARY).read_text()

    assert len([c for c in _chips(page) if c.startswith("submunitions")]) == 7
    assert "E 600020.0" in page and "N 4399992.0" in page  # back in metres, to 0.1 m


def test_sixteen_bit_flight_with_nodata(tmp_path, layers):
    data = textured(3, H, W, dtype="uint16")
    data[:, :, :100] = 0  # the first 5 m of the flight have no imagery
    flight = open_flight(write_tif(tmp_path / "f16.tif", data, gsd_m=GSD, nodata=0))
    points = {"submunitions": layers["submunitions"]}
    page = write_report(tmp_path / "r.html", flight, points, SUMMARY).read_text()

    rgb = np.asarray(_map(page).convert("RGB"))
    assert (rgb[150:350, 20:80] == rgb[200, 50]).all()  # no imagery: one flat grey
    assert rgb[:, 150:].std() > 10  # stretched to 8 bits, not black or saturated
    assert len(_chips(page)) == 7


def test_overwrites_atomically(tmp_path, flight, layers):
    out = tmp_path / "r.html"
    out.write_text("old report")
    write_report(out, flight, layers, SUMMARY)

    assert out.read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f1.tif", "r.html"]
    with pytest.raises(AttributeError):
        write_report(out, flight, {"positions": "not a layer"}, SUMMARY)
    assert out.read_text().startswith("<!DOCTYPE html>")


@pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs Chromium")
def test_renders_in_a_headless_browser(tmp_path, flight, layers):
    out = write_report(tmp_path / "r.html", flight, layers, SUMMARY)
    shot = tmp_path / "shot.png"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
         f"--screenshot={shot}", "--window-size=1280,1600", out.as_uri()],
        check=True, capture_output=True, timeout=120,
    )

    rgb = np.asarray(Image.open(shot).convert("RGB"), dtype=int)
    assert rgb.shape[:2] == (1600, 1280)
    header, body = rgb[:60].mean(axis=(0, 1)), rgb[300:1200, 100:700]
    assert header.max() < 80  # the dark title bar rendered
    assert body.std() > 20  # and the map image in the page, not a blank page


def test_report_lists_the_model_cards_known_limits(tmp_path, flight, layers):
    """The card's limits stand beside the notice, escaped; a card without them adds nothing."""
    limits = ["Trained on synthetic imagery only.", "Items in trenches & positions are often missed."]
    page = write_report(tmp_path / "r.html", flight, layers, SUMMARY, limitations=limits).read_text()
    assert "Known limits of" in page
    assert "<li>Items in trenches &amp; positions are often missed.</li>" in page
    assert page.index("Indirect evidence, unreviewed") < page.index("Known limits of") < page.index("Map</h2>")
    assert "Known limits of" not in write_report(tmp_path / "s.html", flight, layers, SUMMARY).read_text()


def _hazard_table(page: str) -> list[list[str]]:
    section = re.search(r'<section class="gallery" id="hazard-areas">(.*?)</section>', page, re.S).group(1)
    body = re.search(r"<tbody>(.*?)</tbody>", section, re.S).group(1)
    return [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_hazard_areas_are_tabled_numbered_and_placed_in_lat_lon(tmp_path, flight, layers):
    layers["hazard_areas"]["hazard_id"] = ["HA-cmr", "HA-fort"]
    layers["hazard_areas"]["evidence_count"] = [12, 3]
    layers["hazard_areas"]["unimaged_m2"] = [0.0, 25.0]
    page = write_report(tmp_path / "r.html", flight, layers, SUMMARY).read_text()
    rows = _hazard_table(page)
    assert [r[0] for r in rows] == ["H1", "H2"]
    assert [r[1] for r in rows] == ["<code>HA-cmr</code>", "<code>HA-fort</code>"]
    assert rows[0][2] == "CMR" and rows[0][4] == "12" and rows[1][7] == "25"
    lat, lon = (float(v) for v in rows[0][8].split("<span")[0].split(", "))
    assert 39.0 < lat < 40.5 and 45.0 < lon < 46.5  # UTM 38N near (600 km E, 4,400 km N)


def test_chip_captions_give_lat_lon_and_map_labels(tmp_path, flight, layers):
    from pyproj import Transformer

    page = write_report(tmp_path / "r.html", flight, layers, SUMMARY).read_text()
    caption = re.search(r'id="submunitions-4".*?<b>(S4)</b>.*?<span class="xy"><span>([-\d.]+), ([-\d.]+)</span>'
                        r'<span>E ([\d.]+) N ([\d.]+)</span>', page, re.S)
    assert caption is not None
    lat, lon, east, north = (float(v) for v in caption.groups()[1:])
    back = Transformer.from_crs("EPSG:4326", UTM38N, always_xy=True).transform(lon, lat)
    assert np.hypot(back[0] - east, back[1] - north) < 0.1
    assert "T1" in page and "P1" in page


def test_the_map_reaches_hazard_areas_past_the_flights_edge(tmp_path, flight, layers):
    inside = _map(write_report(tmp_path / "in.html", flight, layers, SUMMARY).read_text())
    layers["hazard_areas"] = _frame([Point(X0 + 28, Y1 - 10).buffer(8)], hazard_type=["CMR"], status="SHA",
                                    hazard_id=["HA-edge"], unimaged_m2=[70.0])
    beyond = _map(write_report(tmp_path / "out.html", flight, layers, SUMMARY).read_text())
    assert beyond.size[0] > inside.size[0] and beyond.size[1] == inside.size[1]
    # the far right column is beyond the imagery: pale ground with the hazard's orange over it
    edge = np.asarray(beyond.convert("RGB"))[:, -3]
    assert (np.abs(edge.astype(int) - (250, 250, 247)).sum(axis=1) < 8).any()


def test_only_the_most_confident_chips_are_kept_as_regions_finish():
    from rams.report.chips import BestChips

    best = BestChips(limit=3)
    best.add({(0.0, 0.0): (0.5, b"a"), (1.0, 0.0): (0.9, b"b")})
    best.add({(2.0, 0.0): (0.2, b"c"), (3.0, 0.0): (0.95, b"d"), (4.0, 0.0): (0.7, b"e")})
    assert best.chips == {(1.0, 0.0): b"b", (3.0, 0.0): b"d", (4.0, 0.0): b"e"}


def test_a_long_trench_chip_is_read_on_a_coarser_grid_in_a_chips_memory(tmp_path):
    # a 1 cm flight and a trench framed over 39 m: 3,900 flight px a side, shown in 192; the
    # chip is the average of the flight px under each chip px, read a band of rows at a time
    import tracemalloc

    from rams.flight import resampled
    from rams.report.chips import CHIP_MAX_PX, framed_chip

    fine = open_flight(write_tif(tmp_path / "fine.tif", textured(3, 4000, 4000, seed=4), gsd_m=0.01))
    ends = [(X0 + 8, Y1 - 6), (X0 + 18, Y1 - 32)]  # 28 m long, 26 m tall
    trench = _frame([LineString(ends)])
    tracemalloc.start()
    chip = framed_chip(fine, trench, 0, "trenches")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert chip.width == chip.height == CHIP_MAX_PX
    assert peak < 3900 * 3900 * 3  # less than one copy of the framing at the flight's resolution
    coarse = resampled(fine, 39.0 / CHIP_MAX_PX)
    col, row = ~coarse.transform @ (X0 + 13, Y1 - 19)
    window = Window(math.floor(col - CHIP_MAX_PX / 2), math.floor(row - CHIP_MAX_PX / 2), CHIP_MAX_PX, CHIP_MAX_PX)
    expected = np.asarray(read_padded(coarse, window))
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(chip.png)).convert("RGB")), expected)
    # the mark runs from one end of the trench to the other, in chip px
    marked = [tuple(map(float, xy.split(","))) for xy in re.findall(r"[\d.]+,[\d.]+", chip.mark_svg)]
    for (x, y), (mx, my) in zip(ends, marked, strict=True):
        cx, cy = ~coarse.transform @ (x, y)
        assert abs(mx - (cx - window.col_off)) < 0.06 and abs(my - (cy - window.row_off)) < 0.06


@pytest.mark.parametrize("alpha", [False, True])
def test_a_ground_view_reads_the_files_overviews_when_it_has_them(tmp_path, alpha):
    # a 60 cm dark disc 4 m from the corner of a 1 cm flight, viewed over 30 m in 192 px; with
    # overviews GDAL reads them, without the flight is averaged: the disc where to_px puts it
    from rasterio.enums import Resampling

    from rams.report.chips import ground_view

    yy, xx = (np.mgrid[0:3000, 0:3000] + 0.5) * 0.01
    disc = np.hypot(xx - 4.0, yy - 5.0) <= 0.3
    data = np.where(disc, 30, 210).astype(np.uint8)[None].repeat(4 if alpha else 3, axis=0)
    if alpha:
        data[3] = 255
        data[3, :, 2000:] = 0  # no imagery east of 20 m
    views = {}
    for name in ("plain", "overviews"):
        path = write_tif(tmp_path / f"{name}.tif", data, gsd_m=0.01, alpha=alpha)
        if name == "overviews":
            with rasterio.open(path, "r+") as ds:
                ds.build_overviews([2, 4, 8, 16], Resampling.average)
        fl = open_flight(path)
        assert fl.has_overviews() == (name == "overviews")
        views[name] = ground_view(fl, X0 + 12.0, Y1 - 14.0, 30.0, 192)
    for view in views.values():
        img = np.asarray(view.image, dtype=float)
        assert img.shape == (192, 192, 3) and view.gsd_m == pytest.approx(30.0 / 192)
        dark = np.argwhere(img[..., 0] < 120)
        cx, cy = view.to_px @ (X0 + 4.0, Y1 - 5.0)
        assert abs(dark[:, 1].mean() + 0.5 - cx) < 0.7 and abs(dark[:, 0].mean() + 0.5 - cy) < 0.7
        assert len(dark) == pytest.approx(np.pi * (0.3 / view.gsd_m) ** 2, rel=0.25)
        outside = view.to_px @ (X0 - 1.0, Y1 - 14.0)  # west of the raster: grey
        assert tuple(img[int(outside[1]), int(outside[0])]) == (226, 229, 233)
        if alpha:
            east = view.to_px @ (X0 + 25.0, Y1 - 14.0)
            assert tuple(img[int(east[1]), int(east[0])]) == (226, 229, 233)
