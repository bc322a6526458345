"""The campaign report: one self-contained HTML page over a campaign's merged layers."""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import geopandas as gpd
import numpy as np
import pytest
import shapely
from rasters import ORIGIN, UTM38N
from shapely.geometry import LineString, Point, box

from rams.export.schema import SCHEMA, empty_layer
from rams.report import campaign as cr
from rams.report.campaign import MAP_BYTES_LIMIT, PAGE_BYTES_BOUND, write_campaign_report

X0, Y0 = ORIGIN
SCRIPT_TASK = "north <script>alert(1)</script>"


def _frame(geoms: list, **columns: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(geoms, crs=UTM38N), crs=UTM38N)


def _box(x0: float, y0: float, x1: float, y1: float):
    return box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


@pytest.fixture()
def layers() -> dict[str, gpd.GeoDataFrame]:
    """Three flights side by side (100 m x 100 m each), six items, four hazard areas, two tasks."""
    points = [(20, 50), (99.9, 50), (150, 60), (200, 40), (250, 80), (260, 80)]
    return {
        "submunitions": _frame(
            [Point(X0 + x, Y0 + y) for x, y in points],
            confidence=[0.9, 0.8, 0.4, 0.7, 0.6, 0.5],
            flight_id=["f1", "f1", "f2", "f2", "f3", "f3"],
            flight_ids=["f1", "f1,f2", "f2", "f2,f3", "f3", "f3"],
            review_status=["confirmed", "unreviewed", "rejected", "unsure", "unreviewed", "unreviewed"],
        ),
        "trenches": _frame([LineString([(X0 + 120, Y0 + 10), (X0 + 180, Y0 + 12)])], length_m=[60.0],
                           flight_id=["f2"]),
        "positions": _frame([_box(160, 70, 170, 78)], area_m2=[80.0], flight_id=["f2"]),
        "coverage": _frame([_box(0, 0, 100, 100), _box(100, 0, 200, 100), _box(200, 0, 300, 100)],
                           area_m2=[1e4, 1e4, 1e4], flight_id=["f1", "f2", "f3"]),
        "not_assessable": _frame([_box(60, 60, 70, 70)], reason=["vegetation"], area_m2=[100.0], flight_id=["f1"]),
        "strike_footprints": _frame([Point(X0 + 20, Y0 + 15).buffer(8)], item_count=[3], flight_id=["f1"]),
        "hazard_areas": _frame(
            [_box(10, 10, 30, 20), _box(150, 30, 160, 40), _box(30, 10, 35, 20), _box(240, 60, 260, 80)],
            hazard_id=["HA-cmr", "HA-fort", "HA-both", "HA-cmr2"],
            hazard_type=["CMR", "FORTIFICATION", "CMR+FORTIFICATION", "CMR"],
            status="SHA",
            evidence_count=[3, 2, 4, 2],
            max_confidence=[0.91, 0.8, 0.77, 0.6],
            area_m2=[200.0, 100.0, 50.0, 400.0],
            not_assessable_m2=[0.0, 12.5, 0.0, 0.0],
            unimaged_m2=[0.0, 4.0, 0.0, 0.0],
            flight_id=["f1,f2", "f2", "f1", "f3"],
            survey_date=["2024-05-02", "2024-05-02", "2024-05-01", "2024-05-03"],
        ),
        "baseline": _frame(
            [_box(0, 0, 150, 100), _box(150, 0, 300, 100)],
            task=[SCRIPT_TASK, "south & east"],
            task_area_m2=[15000.0, 15000.0],
            imaged_m2=[15000.0, 15000.0],
            imaged_share=[1.0, 1.0],
            assessable_m2=[14900.0, 15000.0],
            assessable_share=[14900 / 15000, 1.0],
            cmr_area_m2=[250.0, 0.0],
            fortification_area_m2=[50.0, 100.0],
            submunitions_confirmed=[1, 0],
            submunitions_unreviewed=[2, 2],
            task_to_cmr_ratio=[60.0, np.nan],
        ),
    }


@pytest.fixture()
def summary(tmp_path) -> dict:
    folder = tmp_path / "camp.flights"
    return {
        "campaign_id": "camp & co",
        "flights": [
            {"flight_id": fid, "flight": f"/data/{fid}.tif", "gsd_m": gsd, "survey_date": date, "mpix": mpix,
             "regions": regions, "gpkg": str(folder / f"{fid}.gpkg")}
            for fid, gsd, date, mpix, regions in (("f1", 0.03, "2024-05-01", 11.1, 4),
                                                  ("f2", 0.025, "2024-05-02", 16.0, 6),
                                                  ("f3", 0.03, "2024-05-03", 11.1, 4))
        ],
        "flights_resumed": 1,
        "regions": 14,
        "regions_resumed": 4,
        "crs": UTM38N,
        "counts": {"submunitions": 6, "hazard_areas": 4},
        "baseline_totals": {"tasks": 2, "task_area_m2": 30000.0, "imaged_m2": 30000.0, "imaged_share": 1.0,
                            "assessable_m2": 29900.0, "assessable_share": 29900 / 30000, "cmr_area_m2": 250.0,
                            "fortification_area_m2": 150.0, "submunitions_confirmed": 1,
                            "submunitions_unreviewed": 4, "task_to_cmr_ratio": 120.0},
        "merge_seconds": 0.42,
        "rams_version": "9.9.9",
    }


class _Page(HTMLParser):
    """The page's cards, and per section id its table rows (part, cell texts) and links."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.rows: dict[str, list[tuple[str, list[str]]]] = {}
        self.links: dict[str, list[str]] = {}
        self.cards: list[dict[str, str]] = []
        self.text: list[str] = []
        self._section = ""
        self._part = ""
        self._cell: list[str] | None = None
        self._card_field = ""
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and attrs.get("id"):
            self._section = attrs["id"]
        elif tag in ("thead", "tbody", "tfoot"):
            self._part = tag
        elif tag == "tr":
            self.rows.setdefault(self._section, []).append((self._part, []))
        elif tag in ("th", "td"):
            self._cell = []
        elif tag == "a":
            self.links.setdefault(self._section, []).append(attrs.get("href", ""))
        elif tag == "div" and attrs.get("class", "").startswith("card"):
            self.cards.append({})
        elif tag == "div" and attrs.get("class") in ("label", "value", "detail") and self.cards:
            self._card_field = attrs["class"]

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._cell is not None:
            self.rows[self._section][-1][1].append(" ".join(" ".join(self._cell).split()))
            self._cell = None
        elif tag == "div":
            self._card_field = ""

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._card_field:
            self.cards[-1][self._card_field] = self.cards[-1].get(self._card_field, "") + data.strip()

    def body(self, section: str, part: str = "tbody") -> list[list[str]]:
        return [cells for p, cells in self.rows.get(section, []) if p == part]

    def card(self, label: str) -> dict[str, str]:
        return next(c for c in self.cards if c.get("label") == label)


def _svg(page: str) -> ET.Element:
    found = re.search(r'<svg class="campaign-map".*?</svg>', page, re.S)
    assert found is not None
    return ET.fromstring(found.group(0))


def test_the_report_is_one_self_contained_file(tmp_path, layers, summary):
    path = tmp_path / "CAMPAIGN.html"
    path.write_text("an old report")
    out = write_campaign_report(path, layers, summary)

    page = out.read_text(encoding="utf-8")
    assert out == path and page.startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["CAMPAIGN.html"]  # no temporary file left
    assert not re.search(r"https?:|//[a-z]", page, re.I)
    assert "src=" not in page and "<link" not in page and "@import" not in page and "<img" not in page
    assert "<script" not in page.lower()  # the task named with a script tag is escaped
    assert "north &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "camp &amp; co" in page and "south &amp; east" in page
    references = re.findall(r"url\(([^)]*)\)", page)
    assert references and all(re.fullmatch(r"#[\w-]+", ref) for ref in references)  # patterns in the page
    ids = set(re.findall(r'id="([\w-]+)"', page))
    assert {ref[1:] for ref in references} <= ids


def test_header_and_headline_figures(tmp_path, layers, summary):
    page = write_campaign_report(tmp_path / "r.html", layers, summary).read_text()
    parsed = _Page(page)

    facts = re.search(r'<p class="facts">(.*?)</p>', page).group(1)
    assert facts == "3 flights · 38.2 MPix · EPSG:32638 · 2024-05-01 – 2024-05-03 · rams 9.9.9"
    assert "<h1>Campaign report <span>camp &amp; co</span></h1>" in page
    assert parsed.card("Imaged")["value"] == "3.00 ha" and "30,000 m²" in parsed.card("Imaged")["detail"]
    assert parsed.card("Assessable")["value"] == "2.99 ha"
    assert parsed.card("Assessable")["detail"] == "99.7 % of imaged"
    assert parsed.card("Not assessable")["value"] == "0.01 ha"
    # CMR ground: the two CMR areas and the CMR+FORTIFICATION one; fortification: FORTIFICATION and both
    assert parsed.card("CMR hazard area")["value"] == "0.07 ha"  # 400 + 200 + 50 m²
    assert parsed.card("CMR hazard area")["detail"].startswith("3 areas")
    assert parsed.card("Fortification hazard area")["value"] == "0.01 ha"  # 100 + 50 m²
    assert parsed.card("Fortification hazard area")["detail"].startswith("2 areas")
    assert parsed.card("Suspected hazard areas")["value"] == "4"
    assert parsed.card("Suspected hazard areas")["detail"] == "2 CMR · 1 CMR+FORTIFICATION · 1 FORTIFICATION"
    assert parsed.card("Submunitions")["value"] == "6"
    assert parsed.card("Submunitions")["detail"] == "1 confirmed · 3 unreviewed · 1 unsure · 1 rejected"
    assert parsed.card("Seen by several flights")["value"] == "2"


def test_figures_in_square_metres(layers):
    figures, _ = cr._figures(layers)
    assert figures.imaged_m2 == pytest.approx(30000.0)
    assert figures.assessable_m2 == pytest.approx(29900.0)
    assert figures.cmr_m2 == pytest.approx(650.0) and figures.fortification_m2 == pytest.approx(150.0)
    assert (figures.cmr_n, figures.fortification_n, figures.multi_seen) == (3, 2, 2)


def test_flights_table(tmp_path, layers, summary):
    parsed = _Page(write_campaign_report(tmp_path / "r.html", layers, summary).read_text())

    rows = parsed.body("flights")
    assert [r[0] for r in rows] == ["f1", "f2", "f3"]
    assert rows[0][1:6] == ["3.0", "2024-05-01", "11.1", "4", "1.00 ha"]
    assert rows[1][1] == "2.5" and rows[1][3] == "16.0"
    # items seen: f1 two (one also by f2), f2 three (two shared), f3 three (one shared)
    assert [r[6] for r in rows] == ["2 1 also by another", "3 2 also by another", "3 1 also by another"]
    assert [r[7] for r in rows] == ["camp.flights/f1.gpkg", "camp.flights/f2.gpkg", "camp.flights/f3.gpkg"]
    assert parsed.links["flights"] == ["camp.flights/f1.gpkg", "camp.flights/f2.gpkg", "camp.flights/f3.gpkg"]


def test_baseline_table_with_totals(tmp_path, layers, summary):
    page = write_campaign_report(tmp_path / "r.html", layers, summary).read_text()
    parsed = _Page(page)

    rows = parsed.body("baseline")
    assert [r[0] for r in rows] == [SCRIPT_TASK, "south & east"]
    assert rows[0][1:] == ["15,000 m² 1.50 ha", "15,000 m² 1.50 ha", "100.0 %", "14,900 m² 1.49 ha", "99.3 %",
                           "250 m² 0.03 ha", "50 m² 0.01 ha", "1", "2", "60.0"]
    assert rows[1][-1] == "—"  # no CMR area in the task: no ratio
    (totals,) = parsed.body("baseline", "tfoot")
    assert totals == ["All 2 tasks union", "30,000 m² 3.00 ha", "30,000 m² 3.00 ha", "100.0 %", "29,900 m² 2.99 ha",
                      "99.7 %", "250 m² 0.03 ha", "150 m² 0.01 ha", "1", "4", "120.0"]
    assert "The ratio is the task's area over the evidence-based CMR hazard area" in page


def test_hazard_table_by_type_then_area(tmp_path, layers, summary):
    parsed = _Page(write_campaign_report(tmp_path / "r.html", layers, summary).read_text())

    rows = parsed.body("hazard-areas")
    assert [r[:3] for r in rows] == [["HA-cmr2", "CMR", "400"], ["HA-cmr", "CMR", "200"],
                                     ["HA-both", "CMR+FORTIFICATION", "50"], ["HA-fort", "FORTIFICATION", "100"]]
    assert rows[1][3:] == ["3", "0.91", "0", "0", "f1, f2", "2024-05-02"]
    assert rows[3][3:] == ["2", "0.80", "12", "4", "f2", "2024-05-02"]


def test_the_map_is_well_formed_svg_with_every_layer(tmp_path, layers, summary):
    page = write_campaign_report(tmp_path / "r.html", layers, summary).read_text()
    svg = _svg(page)

    width, height = (float(v) for v in svg.get("viewBox").split()[2:])
    assert width == cr.MAP_MAX_PX[0] and 0 < height < width  # 300 m x 100 m, north up
    classes = [p.get("class") for p in svg.iter("path")]
    for cls in ("cov", "cmr", "fort", "both", "fp", "na", "pos", "tr", "task", "dot s-ok", "dot s-un", "dot s-rej"):
        assert cls in classes, cls
    assert classes.count("cov") == 3 and classes.count("task") == 2
    texts = [t.text for t in svg.iter("text")]
    assert {"f1", "f2", "f3", SCRIPT_TASK, "south & east"} <= set(texts)
    assert "50 m" in texts and "N" in texts  # scale bar, north arrow
    assert "E 600,000 N 4,400,100" in texts  # top-left corner in the projected CRS
    dots = sum(p.get("d").count("h0") for p in svg.iter("path") if (p.get("class") or "").startswith("dot s-"))
    assert dots == 6
    caption = re.search(r"<figcaption>(.*?)</figcaption>", page, re.S).group(1)
    assert "latitude 39.7" in caption and "longitude 46.1" in caption and "EPSG:32638" in caption


def test_path_data_simplifies_and_keeps_tiny_areas_as_dots():
    ring = shapely.Polygon([(10 + 50 * np.cos(a), 60 + 50 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 2000)])
    tiny = shapely.box(200.02, 200.02, 200.3, 200.3)
    rings = cr._rings(np.array([ring, tiny], dtype=object), 1.0, closed=True)
    data, dots = cr._path_data(rings), rings.dots
    assert data.startswith("M") and data.endswith("z") and data.count("M") == 1
    assert len(re.findall(r"-?[\d.]+", data)) < 200  # 2,000 vertices simplified to a pixel
    assert dots.tolist() == [[200.0, 200.0]]
    assert cr._tenths(np.array([125, -5, 30, 0, -1234])) == ["12.5", "-.5", "3", "0", "-123.4"]


def test_an_empty_campaign_still_renders(tmp_path):
    empty = {name: empty_layer(name, UTM38N) for name in SCHEMA}
    summary = {"campaign_id": "empty", "flights": [], "crs": UTM38N, "baseline_totals": None, "rams_version": "1"}
    page = write_campaign_report(tmp_path / "e.html", empty, summary).read_text()
    parsed = _Page(page)

    assert "No suspected hazard areas." in page and "No flights." in page
    assert 'id="baseline"' not in page
    assert parsed.card("Submunitions")["value"] == "0" and parsed.card("Imaged")["value"] == "0.00 ha"
    assert _svg(page).get("aria-label") == "Campaign map: nothing to draw"
    bare = write_campaign_report(tmp_path / "bare.html", {}, {}).read_text()
    assert "Campaign report <span>bare</span>" in bare and "survey dates unknown" in bare
    _svg(bare)


def test_flights_without_detections_render_their_outlines(tmp_path, summary):
    coverage = _frame([_box(0, 0, 100, 100), _box(100, 0, 200, 100)], flight_id=["f1", "f2"])
    summary = {**summary, "baseline_totals": None}
    page = write_campaign_report(tmp_path / "r.html", {"coverage": coverage}, summary).read_text()
    svg = _svg(page)
    assert [p.get("class") for p in svg.iter("path")].count("cov") == 2
    assert "No suspected hazard areas." in page and 'id="baseline"' not in page


@pytest.fixture()
def large() -> tuple[dict[str, gpd.GeoDataFrame], dict]:
    """50,000 items over 600 flights, 800 hazard areas and 600 tasks on 3 km x 2 km, with ids and
    names of 64 characters and GeoPackage paths of 256: the longest the size bound allows for."""
    rng = np.random.default_rng(7)
    n = 50_000
    xy = rng.uniform((0, 0), (3000, 2000), size=(n, 2))
    cells = [(i, j) for i in range(30) for j in range(20)]
    flight_ids = [f"spring-2024-sector-north-east-grid-{i:02d}-{j:02d}".ljust(64, "x") for i, j in cells]
    centres = rng.uniform((0, 0), (3000, 2000), size=(800, 2))
    layers = {
        "submunitions": _frame(
            list(shapely.points(xy + (X0, Y0))), confidence=rng.uniform(0.3, 1.0, n),
            flight_ids=[flight_ids[int(x // 100) * 20 + int(y // 100)] for x, y in xy],
            review_status=rng.choice(["unreviewed", "confirmed", "rejected"], size=n, p=[0.9, 0.05, 0.05]),
        ),
        "coverage": _frame([_box(100 * i, 100 * j, 100 * i + 100, 100 * j + 100) for i, j in cells],
                           flight_id=flight_ids),
        "hazard_areas": _frame(
            [Point(X0 + x, Y0 + y).buffer(rng.uniform(2, 30)) for x, y in centres],
            hazard_id=[f"HA-{k:04d}".ljust(64, "0") for k in range(800)],
            hazard_type=rng.choice(cr._TYPE_ORDER, size=800),
            evidence_count=3, max_confidence=0.9, not_assessable_m2=0.0, unimaged_m2=0.0,
            flight_id=",".join(flight_ids[:12]), survey_date="2024-05-01",
        ),
        "not_assessable": _frame([Point(X0 + x, Y0 + y).buffer(4) for x, y in rng.uniform((0, 0), (3000, 2000),
                                                                                             size=(2000, 2))],
                                 reason=["vegetation"] * 2000),
        "baseline": _frame([_box(100 * i, 100 * j, 100 * i + 100, 100 * j + 100) for i, j in cells],
                           task=[f"task {k} with a name of ordinary length".ljust(64, ".") for k in range(len(cells))],
                           task_area_m2=1e4, imaged_m2=1e4, imaged_share=1.0, assessable_m2=9e3, assessable_share=0.9,
                           cmr_area_m2=0.0, fortification_area_m2=0.0, submunitions_confirmed=4,
                           submunitions_unreviewed=80, task_to_cmr_ratio=np.nan),
    }
    summary = {
        "campaign_id": "large",
        "flights": [{"flight_id": fid, "flight": f"/surveys/2024/flights/{fid}.tif", "gsd_m": 0.03,
                     "survey_date": "2024-05-01", "mpix": 11.1, "regions": 4,
                     "gpkg": f"/surveys/2024/{'campaign-folder/' * 10}large.flights/{fid}.gpkg"} for fid in flight_ids],
        "crs": UTM38N, "baseline_totals": None, "rams_version": "9.9.9",
    }
    return layers, summary


def test_a_large_campaign_stays_under_the_size_bound(tmp_path, large):
    layers, summary = large
    start = time.perf_counter()
    page = write_campaign_report(tmp_path / "large.html", layers, summary).read_text()
    seconds = time.perf_counter() - start

    map_svg = re.search(r'<svg class="campaign-map".*?</svg>', page, re.S).group(0)
    assert len(map_svg.encode()) <= MAP_BYTES_LIMIT
    # every table at its row limit: the page would stay under the bound with the map at its limit too
    assert len(page.encode()) - len(map_svg.encode()) + MAP_BYTES_LIMIT < PAGE_BYTES_BOUND
    svg = ET.fromstring(map_svg)
    dots = sum(p.get("d").count("h0") for p in svg.iter("path") if (p.get("class") or "").startswith("dot s-"))
    assert 0 < dots <= cr.MAP_POINT_LIMIT
    not_drawn = re.search(r"([\d,]+) of 50,000 submunitions are not drawn", page)
    assert not_drawn is not None and int(not_drawn.group(1).replace(",", "")) > 0
    parsed = _Page(page)
    assert len(parsed.body("flights")) == len(parsed.body("hazard-areas")) == cr.TABLE_ROW_LIMIT
    assert "100 more not listed here" in page and "300 more not listed here" in page
    assert seconds < 60, seconds


def test_the_map_stays_bounded_however_detailed_the_layers(tmp_path):
    """Thousands of long, wiggly trenches: coarser outlines, then layers left off, never a bigger map."""
    rng = np.random.default_rng(3)
    walks = np.cumsum(rng.normal(0, 10, size=(2000, 300, 2)), axis=1) + rng.uniform((0, 0), (3000, 2000), (2000, 1, 2))
    layers = {
        "trenches": _frame(list(shapely.linestrings(walks + (X0, Y0)))),
        "hazard_areas": _frame([_box(0, 0, 3000, 2000)], hazard_type=["FORTIFICATION"]),
    }
    page = write_campaign_report(tmp_path / "t.html", layers, {"crs": UTM38N}).read_text()
    map_svg = re.search(r'<svg class="campaign-map".*?</svg>', page, re.S).group(0)
    assert len(map_svg.encode()) <= MAP_BYTES_LIMIT
    assert "simplified to" in page or "left off the map: trenches" in page
    assert "fort" in [p.get("class") for p in ET.fromstring(map_svg).iter("path")]


def test_layers_are_left_off_a_map_that_would_exceed_its_limit(tmp_path, layers, summary, monkeypatch):
    rng = np.random.default_rng(5)
    walks = np.cumsum(rng.normal(0, 2, size=(50, 200, 2)), axis=1) + rng.uniform((0, 0), (300, 100), (50, 1, 2))
    layers["trenches"] = _frame(list(shapely.linestrings(walks + (X0, Y0))))
    monkeypatch.setattr(cr, "MAP_BYTES_LIMIT", 16_000)
    page = write_campaign_report(tmp_path / "r.html", layers, summary).read_text()

    map_svg = re.search(r'<svg class="campaign-map".*?</svg>', page, re.S).group(0)
    assert len(map_svg.encode()) <= 16_000
    assert "left off the map: positions, trenches" in page
    classes = {p.get("class") for p in ET.fromstring(map_svg).iter("path")}
    assert {"cmr", "fort", "both", "cov", "task"} <= classes and "tr" not in classes


def _load(browser, url: str, timeout_s: float = 30.0) -> list[str]:
    """Navigate to ``url`` and wait for its load event; the console errors and exceptions meanwhile."""
    for method in ("Page.enable", "Runtime.enable", "Log.enable"):  # on before the page starts loading
        browser.send(method)
    browser.ws.send(json.dumps({"id": 100_010, "method": "Page.navigate", "params": {"url": url}}))
    errors, loaded, answered = [], False, False
    deadline = time.monotonic() + timeout_s
    while not (loaded and answered):
        assert time.monotonic() < deadline, "the page did not load"
        message = json.loads(browser.ws.recv())
        method, params = message.get("method"), message.get("params", {})
        if message.get("id") == 100_010:
            answered = True
            assert "errorText" not in message.get("result", {}), message
        elif method == "Page.loadEventFired":
            loaded = True
        elif method == "Runtime.exceptionThrown":
            errors.append(json.dumps(params["exceptionDetails"]))
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            errors.append(json.dumps(params.get("args")))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            errors.append(params["entry"].get("text", ""))
    return errors


def test_renders_in_a_headless_browser(tmp_path, layers, summary):
    from devtools import Browser

    out = write_campaign_report(tmp_path / "r.html", layers, summary)
    browser = Browser("about:blank", tmp_path / "profile")
    try:
        errors = _load(browser, out.as_uri())
        time.sleep(0.3)  # late console messages
        assert errors == []
        box = browser.evaluate(
            "(() => { const svg = document.querySelector('svg.campaign-map'); const r = svg.getBoundingClientRect();"
            " const b = svg.querySelector('g.layers').getBBox(); return [r.width, r.height, b.width, b.height]; })()")
        assert all(v > 0 for v in box), box
        assert browser.evaluate("document.querySelectorAll('#hazard-areas tbody tr').length") == 4
        assert browser.evaluate("document.querySelectorAll('script').length") == 0
    finally:
        browser.close()
