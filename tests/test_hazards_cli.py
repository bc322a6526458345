import shutil
from pathlib import Path

import pyogrio
import pytest
from hazard_fixtures import write_detections

from rams.cli.main import main

AZERBAIJAN = Path(__file__).resolve().parents[1] / "configs" / "hazards" / "azerbaijan.yaml"


def test_hazards_writes_areas_footprints_and_detections(tmp_path, capsys):
    src = write_detections(tmp_path / "detections.gpkg")
    out = tmp_path / "hazards.gpkg"
    assert main(["hazards", str(src), "-o", str(out)]) == 0
    names = {name for name, _ in pyogrio.list_layers(out)}
    assert {"hazard_areas", "strike_footprints", "submunitions", "trenches", "positions",
            "not_assessable", "coverage", "metadata"} <= names
    areas = pyogrio.read_dataframe(out, layer="hazard_areas")
    assert areas["hazard_type"].tolist() == ["CMR", "CMR", "FORTIFICATION", "FORTIFICATION"]
    assert set(areas["flight_id"]) == {"flight-007"}
    assert set(areas["survey_date"]) == {"2025-05-01"}
    assert set(areas["status"]) == {"SHA"} and set(areas["review_status"]) == {"unreviewed"}
    assert areas["not_assessable_m2"].max() > 0
    footprints = pyogrio.read_dataframe(out, layer="strike_footprints")
    assert footprints["item_count"].tolist() == [40, 30]
    assert len(pyogrio.read_dataframe(out, layer="submunitions")) == 70
    meta = pyogrio.read_dataframe(out, layer="metadata").set_index("key")["value"]
    assert meta["hazard_rules"] == "default" and meta["model"] == "rams-unet-v1"
    assert meta["hazards_source"] == "detections.gpkg"


def test_rerun_with_other_rules_keeps_ids_of_unchanged_evidence(tmp_path):
    src = write_detections(tmp_path / "detections.gpkg")
    a, b = tmp_path / "a.gpkg", tmp_path / "b.gpkg"
    assert main(["hazards", str(src), "-o", str(a)]) == 0
    assert main(["hazards", str(src), "-o", str(b), "--rules", str(AZERBAIJAN)]) == 0
    first = pyogrio.read_dataframe(a, layer="hazard_areas")
    second = pyogrio.read_dataframe(b, layer="hazard_areas")
    assert first["hazard_id"].tolist() == second["hazard_id"].tolist()
    assert set(second["buffer_m"]) == {50.0}
    assert (second["area_m2"].to_numpy() > first["area_m2"].to_numpy()).all()


def _fails(capsys, argv, *words):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rams hazards: error:") and "\n" not in err
    for word in words:
        assert word in err


def test_bad_inputs_exit_2_with_one_line(tmp_path, capsys):
    out = str(tmp_path / "out.gpkg")
    _fails(capsys, ["hazards", str(tmp_path / "absent.gpkg"), "-o", out], "no such file")
    text = tmp_path / "notes.gpkg"
    text.write_text("not a geopackage")
    _fails(capsys, ["hazards", str(text), "-o", out], "notes.gpkg")
    src = write_detections(tmp_path / "detections.gpkg")
    rules = tmp_path / "rules.yaml"
    rules.write_text("cmr:\n  fade_out_m: -10\n")
    _fails(capsys, ["hazards", str(src), "-o", out, "--rules", str(rules)], "cmr.fade_out_m")
    rules.write_text("cmr:\n  fadeout_m: 10\n")
    _fails(capsys, ["hazards", str(src), "-o", out, "--rules", str(rules)], "cmr.fadeout_m")
    _fails(capsys, ["hazards", str(src), "-o", str(src)], "overwrite")
    _fails(capsys, ["hazards", str(src), "-o", out, "--survey-date", "May 2025"], "YYYY-MM-DD")
    assert not Path(out).exists()


@pytest.mark.parametrize("crs", ["EPSG:32637", "EPSG:4326"])
def test_wrong_crs_is_refused(tmp_path, capsys, crs):
    src = write_detections(tmp_path / "detections.gpkg", crs=crs)
    argv = ["hazards", str(src), "-o", str(tmp_path / "out.gpkg"), "--rules", str(AZERBAIJAN)]
    _fails(capsys, argv, "detections.gpkg")


def test_ids_survive_renaming_and_a_deleted_false_point(tmp_path):
    src = write_detections(tmp_path / "detections.gpkg")
    first = tmp_path / "first.gpkg"
    assert main(["hazards", str(src), "-o", str(first)]) == 0
    copy = tmp_path / "renamed-copy.gpkg"
    shutil.copy(src, copy)
    renamed = tmp_path / "renamed.gpkg"
    assert main(["hazards", str(copy), "-o", str(renamed), "--flight-id", "another-flight"]) == 0
    before = pyogrio.read_dataframe(first, layer="hazard_areas")
    after_rename = pyogrio.read_dataframe(renamed, layer="hazard_areas")
    assert after_rename["hazard_id"].tolist() == before["hazard_id"].tolist()
    assert set(after_rename["flight_id"]) == {"another-flight"}

    # a reviewer deletes one point (the westernmost, the anchor of its area's base id)
    reviewed = tmp_path / "reviewed.gpkg"
    shutil.copy(first, reviewed)
    points = pyogrio.read_dataframe(reviewed, layer="submunitions")
    points = points.drop(index=points.geometry.x.idxmin())
    pyogrio.write_dataframe(points, reviewed, layer="submunitions")
    again = tmp_path / "again.gpkg"
    assert main(["hazards", str(reviewed), "-o", str(again)]) == 0
    after = pyogrio.read_dataframe(again, layer="hazard_areas")
    assert after["hazard_id"].tolist() == before["hazard_id"].tolist()
    assert set(after["supersedes"].fillna("")) == {""}
    assert after["evidence_count"].sum() == before["evidence_count"].sum() - 1
