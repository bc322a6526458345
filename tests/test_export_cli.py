"""`rams export`: options, refusals as one line and exit 2, the folder it writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from export_fixtures import survey_layers

from rams.cli.export import FORMATS_HELP
from rams.cli.main import main
from rams.export import FORMATS, write_geopackage


@pytest.fixture
def gpkg(tmp_path: Path) -> Path:
    return write_geopackage(tmp_path / "s.gpkg", survey_layers(), {"flight_id": "f1"})


def _one_line_refusal(capsys: pytest.CaptureFixture[str], *words: str) -> None:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rams export: error: "), err
    assert all(word in err for word in words), err


def test_the_help_names_every_format() -> None:
    assert FORMATS_HELP == ",".join(FORMATS)


def test_export_writes_the_chosen_formats_and_the_styles(gpkg: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["export", str(gpkg), str(out), "--formats", "geojson, KML"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["geojson", "kml", "sld"]
    assert (out / "kml" / "s.kml").is_file()


def test_an_existing_folder_is_refused_without_overwrite(gpkg: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("kept")
    assert main(["export", str(gpkg), str(out)]) == 2
    _one_line_refusal(capsys, str(out), "exists", "--overwrite")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert main(["export", str(gpkg), "-o", str(out), "--formats", "csv", "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["csv", "sld"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("args, words", [
    (["--formats", "dxf"], ["unknown export formats", "dxf"]),
    (["--formats", ","], ["--formats", "expected some of"]),
])
def test_bad_formats_are_one_line_and_exit_2(gpkg: Path, tmp_path: Path, capsys, args, words) -> None:
    try:
        status = main(["export", str(gpkg), str(tmp_path / "out"), *args])
    except SystemExit as stop:  # argparse's refusals
        status = stop.code
    assert status == 2
    _one_line_refusal(capsys, *words)
    assert not (tmp_path / "out").exists()


def test_no_output_folder_is_refused(gpkg: Path, capsys) -> None:
    assert main(["export", str(gpkg)]) == 2
    _one_line_refusal(capsys, "no output folder")


def test_the_commands_options_load_nothing_heavy() -> None:
    code = ("import sys; from rams.cli.main import build_parser; build_parser(['export']); "
            "print(sorted(m for m in ('torch', 'geopandas', 'pyogrio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
