"""Campaign baseline: per-task and campaign figures from hand-built layers with known answers.

Layout (metres, EPSG:32636), tasks 100 m high (y 0-100):
  T1 x 0-100, T2 x 50-150 (overlaps T1 over x 50-100), T3 x 150-250 (shares T2's edge x = 150).
  coverage: flights A x 0-30, B x 20-50 (overlapping A), C x 90-120, D x 200-250, all y 0-100.
  not_assessable: N1 (10,10)-(20,20), N2 (95,10)-(105,20) (half in T1, all in T2), N3 far away.
  hazards: H1 CMR (25,60)-(45,70) 200 m², H2 CMR+FORTIFICATION (25,75)-(35,85) 100 m²,
  H3 FORTIFICATION (40,80)-(45,85) 25 m², H4 CMR (95,80)-(105,90) 100 m² (half in T1),
  H5 FORTIFICATION (200,10)-(210,20) 100 m² (in T3).
"""

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, box

from rams.campaigns.baseline import BASELINE_FIELDS, baseline, read_tasks
from rams.errors import RamsError
from rams.export.schema import empty_layer

UTM = "EPSG:32636"  # UTM 36N: Kyiv oblast

T1 = box(0, 0, 100, 100)
T2 = box(50, 0, 150, 100)
T3 = box(150, 0, 250, 100)

POINTS = [  # (x, y, review_status)
    (5, 5, "confirmed"),  # T1
    (30, 30, "unreviewed"),  # T1
    (40, 40, "unsure"),  # T1: counts as unreviewed
    (45, 45, "rejected"),  # T1: counts nowhere
    (100, 50, "confirmed"),  # on T1's edge, inside T2
    (75, 50, "unreviewed"),  # in T1 and T2
    (60, 60, "rejected"),  # in T1 and T2: counts nowhere
    (150, 50, "confirmed"),  # on T2's edge, shared with T3
    (500, 500, "confirmed"),  # outside every task
]


def tasks_of(*pairs):
    return gpd.GeoDataFrame({"task": [name for name, _ in pairs]}, geometry=[g for _, g in pairs], crs=UTM)


def layers():
    flights = [box(0, 0, 30, 100), box(20, 0, 50, 100), box(90, 0, 120, 100), box(200, 0, 250, 100)]
    coverage = gpd.GeoDataFrame(
        {"area_m2": [g.area for g in flights], "flight_id": ["A", "B", "C", "D"]},
        geometry=[MultiPolygon([g]) for g in flights],
        crs=UTM,
    )
    na = [box(10, 10, 20, 20), box(95, 10, 105, 20), box(1000, 1000, 1010, 1010)]
    not_assessable = gpd.GeoDataFrame(
        {"reason": ["vegetation", "blur", "dark"], "area_m2": [100.0] * 3, "flight_id": ["A", "C", "X"]},
        geometry=[MultiPolygon([g]) for g in na],
        crs=UTM,
    )
    hazard_areas = gpd.GeoDataFrame(
        {"hazard_type": ["CMR", "CMR+FORTIFICATION", "FORTIFICATION", "CMR", "FORTIFICATION"]},
        geometry=[
            box(25, 60, 45, 70),
            box(25, 75, 35, 85),
            box(40, 80, 45, 85),
            box(95, 80, 105, 90),
            box(200, 10, 210, 20),
        ],
        crs=UTM,
    )
    submunitions = gpd.GeoDataFrame(
        {"review_status": [s for _, _, s in POINTS]}, geometry=[Point(x, y) for x, y, _ in POINTS], crs=UTM
    )
    return {
        "coverage": coverage,
        "not_assessable": not_assessable,
        "submunitions": submunitions,
        "hazard_areas": hazard_areas,
    }


def row(frame, name):
    return frame.set_index("task").loc[name]


def test_one_task_exact_figures():
    rows, totals = baseline(tasks_of(("T1", T1)), layers())
    assert list(rows.columns) == [*(name for name, _ in BASELINE_FIELDS), "geometry"]
    assert {name: str(rows[name].dtype) for name, _ in BASELINE_FIELDS} == dict(BASELINE_FIELDS)
    t1 = row(rows, "T1")
    assert t1["task_area_m2"] == pytest.approx(10_000)
    assert t1["imaged_m2"] == pytest.approx(6_000)  # x 0-50 (A and B once) + x 90-100 (C)
    assert t1["imaged_share"] == pytest.approx(0.6)
    assert t1["assessable_m2"] == pytest.approx(6_000 - 100 - 50)  # N1 whole, half of N2
    assert t1["assessable_share"] == pytest.approx(0.585)
    assert t1["cmr_area_m2"] == pytest.approx(200 + 100 + 50)  # H1, H2, half of H4
    assert t1["fortification_area_m2"] == pytest.approx(100 + 25)  # H2, H3
    assert t1["submunitions_confirmed"] == 2  # (5,5) and (100,50) on the edge
    assert t1["submunitions_unreviewed"] == 3  # (30,30), unsure (40,40), (75,50)
    assert t1["task_to_cmr_ratio"] == pytest.approx(10_000 / 350)
    assert rows.geometry.iloc[0].equals(T1)
    assert rows.crs == UTM
    assert totals == pytest.approx({"tasks": 1, **{k: t1[k] for k, _ in BASELINE_FIELDS if k != "task"}})
    assert list(totals) == ["tasks", *(name for name, _ in BASELINE_FIELDS if name != "task")]


def test_overlapping_tasks_count_once_in_the_totals():
    rows, totals = baseline(tasks_of(("T1", T1), ("T2", T2)), layers())
    assert list(rows["task"]) == ["T1", "T2"]
    t2 = row(rows, "T2")
    assert t2["imaged_m2"] == pytest.approx(3_000)  # C, x 90-120
    assert t2["assessable_m2"] == pytest.approx(2_900)  # less N2
    assert t2["assessable_share"] == pytest.approx(0.29)
    assert t2["cmr_area_m2"] == pytest.approx(100)  # H4
    assert t2["fortification_area_m2"] == 0
    assert t2["submunitions_confirmed"] == 2  # (100,50) and (150,50) on the edge
    assert t2["submunitions_unreviewed"] == 1  # (75,50)
    assert t2["task_to_cmr_ratio"] == pytest.approx(100)
    # union x 0-150: 15 000 m²; a sum of rows would give 20 000, 9 000, 8 750, 450, 4, 4
    assert totals["tasks"] == 2
    assert totals["task_area_m2"] == pytest.approx(15_000)
    assert totals["imaged_m2"] == pytest.approx(8_000)
    assert totals["imaged_share"] == pytest.approx(8_000 / 15_000)
    assert totals["assessable_m2"] == pytest.approx(7_800)
    assert totals["assessable_share"] == pytest.approx(7_800 / 15_000)
    assert totals["cmr_area_m2"] == pytest.approx(400)
    assert totals["fortification_area_m2"] == pytest.approx(125)
    assert totals["submunitions_confirmed"] == 3
    assert totals["submunitions_unreviewed"] == 3
    assert totals["task_to_cmr_ratio"] == pytest.approx(15_000 / 400)


def test_shared_border_counts_in_both_tasks_once_in_totals_and_no_cmr_gives_nan():
    rows, totals = baseline(tasks_of(("T1", T1), ("T2", T2), ("T3", T3)), layers())
    t3 = row(rows, "T3")
    assert t3["imaged_m2"] == pytest.approx(5_000)
    assert t3["imaged_share"] == pytest.approx(0.5)
    assert t3["cmr_area_m2"] == 0
    assert t3["fortification_area_m2"] == pytest.approx(100)
    assert math.isnan(t3["task_to_cmr_ratio"])
    assert t3["submunitions_confirmed"] == 1  # (150,50) on the edge it shares with T2
    assert row(rows, "T2")["submunitions_confirmed"] == 2
    assert totals["submunitions_confirmed"] == 3  # (5,5), (100,50), (150,50): once each
    assert totals["task_area_m2"] == pytest.approx(25_000)
    assert totals["imaged_m2"] == pytest.approx(13_000)
    assert totals["fortification_area_m2"] == pytest.approx(225)
    assert totals["task_to_cmr_ratio"] == pytest.approx(25_000 / 400)


def test_no_cmr_anywhere_gives_nan_ratios():
    survey = layers()
    survey["hazard_areas"] = survey["hazard_areas"][survey["hazard_areas"]["hazard_type"] == "FORTIFICATION"]
    rows, totals = baseline(tasks_of(("T1", T1)), survey)
    assert rows["cmr_area_m2"].tolist() == [0.0]
    assert rows["fortification_area_m2"].tolist() == pytest.approx([25])  # H3 only now
    assert rows["task_to_cmr_ratio"].isna().all()
    assert math.isnan(totals["task_to_cmr_ratio"])


def test_empty_layers_and_no_tasks():
    survey = {name: empty_layer(name, UTM) for name in ("coverage", "not_assessable", "submunitions", "hazard_areas")}
    rows, totals = baseline(tasks_of(("T1", T1)), survey)
    assert rows[["imaged_m2", "assessable_m2", "cmr_area_m2", "submunitions_confirmed"]].sum().sum() == 0
    assert rows["imaged_share"].tolist() == [0.0]
    assert totals["tasks"] == 1 and math.isnan(totals["task_to_cmr_ratio"])
    rows, totals = baseline(tasks_of(), layers())
    assert rows.empty and list(rows.columns) == [*(name for name, _ in BASELINE_FIELDS), "geometry"]
    assert totals["tasks"] == 0 and totals["task_area_m2"] == 0 and totals["submunitions_unreviewed"] == 0
    assert math.isnan(totals["imaged_share"])


def test_missing_review_status_counts_as_unreviewed():
    survey = layers()
    survey["submunitions"] = survey["submunitions"][["geometry"]]
    rows, _ = baseline(tasks_of(("T1", T1)), survey)
    assert rows["submunitions_confirmed"].tolist() == [0]
    assert rows["submunitions_unreviewed"].tolist() == [7]  # every point in or on T1


def test_refuses_bad_input():
    survey = layers()
    with pytest.raises(ValueError, match="one CRS"):
        baseline(tasks_of(("T1", T1)).set_crs("EPSG:32637", allow_override=True), survey)
    with pytest.raises(ValueError, match="projected"):
        four326 = {name: frame.set_crs(4326, allow_override=True) for name, frame in survey.items()}
        baseline(tasks_of(("T1", T1)).set_crs(4326, allow_override=True), four326)
    with pytest.raises(ValueError, match="missing: hazard_areas"):
        baseline(tasks_of(("T1", T1)), {k: v for k, v in survey.items() if k != "hazard_areas"})
    survey["submunitions"].loc[0, "review_status"] = "maybe"
    with pytest.raises(ValueError, match="maybe"):
        baseline(tasks_of(("T1", T1)), survey)
    survey = layers()
    survey["hazard_areas"].loc[0, "hazard_type"] = "UXO"
    with pytest.raises(ValueError, match="UXO"):
        baseline(tasks_of(("T1", T1)), survey)


def test_grid_of_tasks_matches_a_plain_count():
    """400 cells of 50 m and 20 000 points: the vectorised counts and areas match brute force."""
    rng = np.random.default_rng(7)
    cells = [(f"c{i}-{j}", box(i * 50, j * 50, i * 50 + 50, j * 50 + 50)) for i in range(20) for j in range(20)]
    xy = rng.uniform(0, 1000, size=(20_000, 2)).round(0)  # whole metres: many on cell edges
    states = rng.choice(["unreviewed", "confirmed", "rejected", "unsure"], size=len(xy))
    survey = layers()
    survey["submunitions"] = gpd.GeoDataFrame(
        {"review_status": states}, geometry=shapely.points(xy), crs=UTM
    )
    disc = shapely.buffer(Point(500, 500), 300, quad_segs=128)  # 513 vertices: cut in pieces
    survey["coverage"] = gpd.GeoDataFrame({"flight_id": ["A"]}, geometry=[MultiPolygon([disc])], crs=UTM)
    rows, totals = baseline(tasks_of(*cells), survey)
    confirmed = xy[states == "confirmed"]
    for k in rng.choice(len(cells), size=15, replace=False):
        x0, y0, x1, y1 = cells[k][1].bounds
        inside = (confirmed[:, 0] >= x0) & (confirmed[:, 0] <= x1) & (confirmed[:, 1] >= y0) & (confirmed[:, 1] <= y1)
        assert rows["submunitions_confirmed"].iloc[k] == inside.sum()
        assert rows["imaged_m2"].iloc[k] == pytest.approx(cells[k][1].intersection(disc).area, abs=1e-6)
    counted = (states == "unreviewed") | (states == "unsure")
    assert totals["submunitions_unreviewed"] == counted.sum()  # every point lies in the grid, once
    assert rows["submunitions_unreviewed"].sum() > counted.sum()  # edge points count in each cell
    assert totals["imaged_m2"] == pytest.approx(disc.area)
    assert rows["imaged_m2"].sum() == pytest.approx(disc.area)


def test_large_polygons_are_measured_exactly():
    """A task and a flight of thousands of vertices (cut into pieces inside) and an L-shaped task."""
    task = shapely.buffer(Point(0, 0), 1000, quad_segs=500)
    flight = shapely.buffer(Point(700, 300), 900, quad_segs=700)
    l_shape = shapely.Polygon([(-3000, -3000), (0, -3000), (0, -2000), (-2000, -2000), (-2000, 0), (-3000, 0)])
    survey = layers()
    survey["coverage"] = gpd.GeoDataFrame({"flight_id": ["A"]}, geometry=[MultiPolygon([flight])], crs=UTM)
    survey["hazard_areas"] = gpd.GeoDataFrame(
        {"hazard_type": ["CMR"]}, geometry=[shapely.buffer(Point(0, -1000), 500, quad_segs=300)], crs=UTM
    )
    rows, totals = baseline(tasks_of(("disc", task), ("L", l_shape)), survey)
    disc = row(rows, "disc")
    assert disc["imaged_m2"] == pytest.approx(task.intersection(flight).area, rel=1e-9)
    cmr = survey["hazard_areas"].geometry.iloc[0]
    assert disc["cmr_area_m2"] == pytest.approx(task.intersection(cmr).area, rel=1e-9)
    assert row(rows, "L")["task_area_m2"] == pytest.approx(5_000_000)
    assert row(rows, "L")["cmr_area_m2"] == pytest.approx(l_shape.intersection(cmr).area, rel=1e-9)
    assert totals["cmr_area_m2"] == pytest.approx(task.union(l_shape).intersection(cmr).area, rel=1e-9)


# ---------------------------------------------------------------------------- read_tasks


def _utm_tasks():
    return gpd.GeoDataFrame({"name": ["north", "south"], "code": [1, 2]}, geometry=[T1, T2], crs=UTM)


@pytest.mark.parametrize("suffix, driver", [(".gpkg", "GPKG"), (".shp", "ESRI Shapefile")])
def test_read_tasks_reprojects_from_lon_lat(tmp_path, suffix, driver):
    path = tmp_path / f"tasks{suffix}"
    pyogrio.write_dataframe(_utm_tasks().to_crs(4326), path, driver=driver)
    tasks = read_tasks(path, "name", UTM)
    assert list(tasks.columns) == ["task", "geometry"]
    assert tasks["task"].tolist() == ["north", "south"]
    assert str(tasks["task"].dtype) == "str"
    assert tasks.crs == UTM
    assert tasks.area.tolist() == pytest.approx([10_000, 10_000], abs=1e-3)
    assert tasks.geometry.iloc[0].buffer(0.01).contains(T1)
    assert read_tasks(path, "code", UTM)["task"].tolist() == ["1", "2"]


def test_read_tasks_picks_the_polygon_layer_or_the_named_one(tmp_path):
    path = tmp_path / "campaign.gpkg"
    pyogrio.write_dataframe(_utm_tasks(), path, layer="districts")
    points = gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(1, 1)], crs=UTM)
    pyogrio.write_dataframe(points, path, layer="wells", append=True)
    assert read_tasks(path, "name", UTM)["task"].tolist() == ["north", "south"]
    cells = gpd.GeoDataFrame({"name": ["c1"]}, geometry=[T3], crs=UTM)
    pyogrio.write_dataframe(cells, path, layer="cells", append=True)
    with pytest.raises(RamsError, match="several polygon layers .*districts.*cells") as err:
        read_tasks(path, "name", UTM)
    assert str(path) in str(err.value)
    assert read_tasks(path, "name", UTM, layer="cells")["task"].tolist() == ["c1"]
    with pytest.raises(RamsError, match="not a polygon layer"):
        read_tasks(path, "name", UTM, layer="wells")
    with pytest.raises(RamsError, match="no layer 'roads'"):
        read_tasks(path, "name", UTM, layer="roads")


def test_read_tasks_repairs_a_bow_tie(tmp_path):
    path = tmp_path / "tasks.gpkg"
    bow_tie = shapely.Polygon([(0, 0), (100, 100), (100, 0), (0, 100)])
    frame = gpd.GeoDataFrame({"name": ["tie"]}, geometry=[bow_tie], crs=UTM)
    pyogrio.write_dataframe(frame, path)
    tasks = read_tasks(path, "name", UTM)
    assert tasks.geometry.is_valid.all()
    assert tasks.area.iloc[0] == pytest.approx(5_000)


def _refusal(path, *args, **kwargs):
    with pytest.raises(RamsError) as err:
        read_tasks(path, *args, **kwargs)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message


def test_read_tasks_refusals(tmp_path):
    path = tmp_path / "tasks.gpkg"
    pyogrio.write_dataframe(_utm_tasks(), path)
    assert "no field 'district'; its fields: name, code" in _refusal(path, "district", UTM)

    dup = tmp_path / "dup.gpkg"
    frame = gpd.GeoDataFrame({"name": ["a", "b", "a", "c", "b"]}, geometry=[T1, T2, T3, T1, T2], crs=UTM)
    pyogrio.write_dataframe(frame, dup)
    assert "duplicate task names in field 'name': a, b" in _refusal(dup, "name", UTM)

    points = tmp_path / "points.gpkg"
    pyogrio.write_dataframe(gpd.GeoDataFrame({"name": ["a"]}, geometry=[Point(1, 1)], crs=UTM), points)
    assert "no polygon layer; its layers: points (Point)" in _refusal(points, "name", UTM)

    mixed = tmp_path / "mixed.geojson"
    frame = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[box(30, 50, 30.1, 50.1), Point(30, 50)], crs=4326)
    pyogrio.write_dataframe(frame, mixed)
    assert "not polygons: b" in _refusal(mixed, "name", UTM)

    broken = tmp_path / "broken.gpkg"
    broken.write_text("not a GeoPackage\n")
    assert "not a vector file GDAL can read" in _refusal(broken, "name", UTM)
    assert "not a vector file GDAL can read" in _refusal(tmp_path / "absent.shp", "name", UTM)

    no_crs = tmp_path / "no_crs.shp"
    with pytest.warns(UserWarning, match="crs"):
        pyogrio.write_dataframe(_utm_tasks().to_crs(4326).set_crs(None, allow_override=True), no_crs)
    assert "has no CRS" in _refusal(no_crs, "name", UTM)

    nameless = tmp_path / "nameless.gpkg"
    frame = gpd.GeoDataFrame({"name": ["a", None]}, geometry=[T1, T2], crs=UTM)
    pyogrio.write_dataframe(frame, nameless)
    assert "1 feature(s) have no name" in _refusal(nameless, "name", UTM)

    empty_geom = tmp_path / "empty_geom.gpkg"
    frame = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[T1, None], crs=UTM)
    pyogrio.write_dataframe(frame, empty_geom)
    assert "with no geometry: b" in _refusal(empty_geom, "name", UTM)

    with pytest.raises(ValueError, match="projected"):
        read_tasks(path, "name", 4326)


def test_baseline_of_read_tasks(tmp_path):
    path = tmp_path / "tasks.shp"
    pyogrio.write_dataframe(_utm_tasks().to_crs(4326), path)
    rows, totals = baseline(read_tasks(path, "name", UTM), layers())
    assert rows["imaged_m2"].tolist() == pytest.approx([6_000, 3_000], abs=0.01)
    assert rows["submunitions_unreviewed"].tolist() == [3, 1]  # points off the reprojected edges
    assert totals["task_area_m2"] == pytest.approx(15_000, abs=0.01)
    assert isinstance(rows["task"], pd.Series)
