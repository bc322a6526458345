"""`rams review SURVEY.gpkg --import decisions.csv` and `--apply`: decisions from a CSV taken
whole or refused with the row number, nothing half-applied; reviews applied to the records."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pyogrio
import pytest
from gis_clients import assert_gdal_validates
from hazard_fixtures import write_detections

from rams.cli.main import main
from rams.review import store

HEADER = "layer,fid,decision,reviewer,reviewed_at,note\n"


@pytest.fixture
def detections(tmp_path) -> Path:
    """A survey GeoPackage with hazard areas, as `rams hazards` writes it (no flight at hand)."""
    src = write_detections(tmp_path / "detections.gpkg")
    out = tmp_path / "survey.gpkg"
    assert main(["hazards", str(src), "-o", str(out)]) == 0
    return out


def _csv(path: Path, *rows: str) -> Path:
    path.write_text(HEADER + "".join(row + "\n" for row in rows))
    return path


def test_import_applies_every_row(detections, tmp_path):
    before = pyogrio.read_dataframe(detections, layer="hazard_areas")
    west = pyogrio.read_dataframe(detections, layer="submunitions", fid_as_index=True).geometry.x.idxmin()
    rows = [f"submunitions,{west},rejected,qgis team,2025-05-02T09:00:00Z,shadow",
            "submunitions,5,confirmed,qgis team,2025-05-02T09:01:00+02:00,",
            "trenches,1,unsure,qgis team,2025-05-02,"]
    assert main(["review", str(detections), "--import", str(_csv(tmp_path / "d.csv", *rows))]) == 0
    points = pyogrio.read_dataframe(detections, layer="submunitions", fid_as_index=True)
    assert len(points) == 70  # nothing deleted
    assert points.loc[west, "review_status"] == "rejected" and points.loc[west, "evidence"] == "indirect"
    assert points.loc[5, ["review_status", "evidence", "reviewer", "reviewed_at"]].tolist() == [
        "confirmed", "direct", "qgis team", "2025-05-02T07:01:00.000000Z"]
    assert (points.drop(index=[west, 5])["review_status"] == "unreviewed").all()
    assert pyogrio.read_dataframe(detections, layer="trenches", fid_as_index=True).loc[1, "review_status"] == "unsure"
    after = pyogrio.read_dataframe(detections, layer="hazard_areas")
    # the rejected point (the anchor of its area's base id) is evidence no more; the ids persist
    assert after["hazard_id"].tolist() == before["hazard_id"].tolist()
    assert after["evidence_count"].sum() == before["evidence_count"].sum() - 1
    assert set(after["status"]) == {"SHA"}
    cha = after[after["proposed_status"] == "CHA"]
    assert len(cha) == 1 and cha["review_status"].tolist() == ["partly reviewed"]
    assert {d.key: d.note for d in store.read(detections)}[("submunitions", west)] == "shadow"
    assert_gdal_validates(detections)


@pytest.mark.parametrize("row, words", [
    ("submunitions,9999,confirmed,ana,2025-05-02,", ["row 3", "no feature 9999"]),
    ("hazard_areas,1,confirmed,ana,2025-05-02,", ["row 3", "hazard_areas"]),
    ("submunitions,2,maybe,ana,2025-05-02,", ["row 3", "'maybe'"]),
    ("submunitions,2,confirmed,,2025-05-02,", ["row 3", "no reviewer"]),
    ("submunitions,2,confirmed,ana,yesterday,", ["row 3", "reviewed_at"]),
    ("submunitions,two,confirmed,ana,2025-05-02,", ["row 3", "fid"]),
])
def test_a_bad_row_changes_nothing(detections, tmp_path, capsys, row, words):
    csv = _csv(tmp_path / "d.csv", "submunitions,1,confirmed,ana,2025-05-02,", row)
    content = detections.read_bytes()
    assert main(["review", str(detections), "--import", str(csv)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rams review: error: ") and "\n" not in err and "d.csv" in err
    for word in words:
        assert word in err
    assert detections.read_bytes() == content


def test_bad_files_are_one_line_and_exit_2(detections, tmp_path, capsys):
    for argv, word in (
        (["review", str(tmp_path / "absent.gpkg"), "--apply"], "no such file"),
        (["review", str(detections), "--import", str(tmp_path / "absent.csv")], "no such file"),
        (["review", str(detections), "--import", str(_write(tmp_path / "h.csv", "a,b\n1,2\n"))], "row 1"),
        (["review", str(detections), "--port", "70000"], "--port"),
    ):
        with pytest.raises(SystemExit) if "--port" in argv else contextlib.nullcontext():
            assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and word in err, err


def test_review_without_its_flight_is_refused(detections, capsys):
    assert main(["review", str(detections), "--no-browser"]) == 2
    assert "--flight" in capsys.readouterr().err


def test_apply_twice_is_stable_and_undone_decisions_are_unreviewed_again(detections):
    from rams.review.decisions import Decision, utc_now

    store.record(detections, [Decision("positions", 1, "rejected", "ana", utc_now())])
    assert main(["review", str(detections), "--apply"]) == 0
    first = pyogrio.read_dataframe(detections, layer="hazard_areas")
    assert main(["review", str(detections), "--apply"]) == 0
    assert pyogrio.read_dataframe(detections, layer="hazard_areas")["hazard_id"].tolist() == first["hazard_id"].tolist()
    store.withdraw(detections, "positions", 1, "ana")
    assert main(["review", str(detections), "--apply"]) == 0
    positions = pyogrio.read_dataframe(detections, layer="positions", fid_as_index=True)
    assert positions.loc[1, "review_status"] == "unreviewed" and positions.loc[1, "reviewer"] == ""


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path

