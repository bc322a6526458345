"""The `rams` command (rams.cli): shared options, refusing to replace outputs, one-line refusals
for files GDAL warns about or cannot transform, --quiet and progress. Real files, written with
rasterio; commands run in-process through `main`, or as a subprocess where stderr is the point."""

from __future__ import annotations

import io
import json
import logging
import struct
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import rasterio
from evaluation_fixtures import report_row
from hazard_fixtures import write_detections
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning
from rasters import ORIGIN, textured, write_tif

from rams.cli.logs import command_logging
from rams.cli.main import COMMANDS, build_parser, main
from rams.errors import RamsError
from rams.pipelines.progress import Progress

#: Commands that write an output, and the arguments that name their input.
WRITERS = {"survey": ["f.tif"], "hazards": ["d.gpkg"], "synth": [], "degrade": ["f.tif"],
           "train": ["--config", "c.yaml"], "evaluate": ["--flight", "f.tif"], "compare": ["a.json", "b.json"],
           "export": ["s.gpkg"], "campaign": ["f.tif"]}

#: A compound CRS (a geographic CRS of the Moon + heights) that PROJ cannot transform to UTM.
MOON_COMPOUND = (
    'COMPD_CS["Moon + height",GEOGCS["Moon 2000",DATUM["Moon_2000",SPHEROID["Moon",1737400,0]],'
    'PRIMEM["Reference meridian",0],UNIT["degree",0.0174532925199433]],'
    'VERT_CS["height",VERT_DATUM["surface",2005],UNIT["metre",1],AXIS["Up",UP]]]'
)


def _rams(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rams.cli.main", *args], capture_output=True, text=True, cwd=cwd)


def _one_line_refusal(stderr: str, command: str, *words: str) -> str:
    """The single stderr line of a refusal, checked for its prefix and ``words``."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"rams {command}: error: "), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in stderr and "Warning:" not in stderr
    return lines[0]


def _vrt(path: Path, source: Path, wkt: str, transform: tuple[float, ...]) -> Path:
    """A VRT of the three bands of ``source`` in the CRS ``wkt`` (as gdalbuildvrt writes them)."""
    with rasterio.open(source) as src:
        width, height = src.width, src.height
    srs = wkt.replace('"', "&quot;")
    bands = "".join(
        f'  <VRTRasterBand dataType="Byte" band="{b}"><SimpleSource>'
        f'<SourceFilename relativeToVRT="1">{source.name}</SourceFilename><SourceBand>{b}</SourceBand>'
        "</SimpleSource></VRTRasterBand>\n"
        for b in (1, 2, 3)
    )
    path.write_text(f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">\n  <SRS>{srs}</SRS>\n'
                    f"  <GeoTransform>{', '.join(map(str, transform))}</GeoTransform>\n{bands}</VRTDataset>\n")
    return path


def _tags_out_of_order(path: Path, **profile) -> Path:
    """A GeoTIFF written with rasterio whose IFD then holds its tags out of order, as some
    writers leave them: GDAL (libtiff) reads it and warns on every open."""
    write_tif(path, textured(3, 64, 64), **profile)
    with rasterio.open(path, "r+") as dst:
        dst.update_tags(TIFFTAG_DOCUMENTNAME="survey")  # tag 269
    raw = bytearray(path.read_bytes())
    assert raw[:2] == b"II"
    ifd = struct.unpack_from("<I", raw, 4)[0]
    tags = [struct.unpack_from("<H", raw, ifd + 2 + 12 * i)[0] for i in range(struct.unpack_from("<H", raw, ifd)[0])]
    struct.pack_into("<H", raw, ifd + 2 + 12 * tags.index(269), 65000)  # an unknown tag, out of order
    path.write_bytes(bytes(raw))
    return path


# --- the shared options ---------------------------------------------------------------------


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_every_writer_takes_out_and_overwrite_alike(command):
    given = WRITERS[command]
    for spelling in ("-o", "--out"):
        args = build_parser([command]).parse_args([command, *given, spelling, "x.out", "--overwrite"])
        assert args.out == Path("x.out") and args.overwrite is True
    args = build_parser([command]).parse_args([command, *given, "-o", "x.out"])
    assert args.overwrite is False


def test_workers_are_processes_and_threads_are_threads_wherever_they_are_taken():
    argv = ["survey", "f.tif", "-o", "o.gpkg", "--workers", "2", "--threads", "3"]
    survey = build_parser(argv).parse_args(argv)
    assert (survey.workers, survey.threads, survey.scheduler) == (2, 3, None)
    synth = build_parser(["synth"]).parse_args(["synth", "o.tif", "--threads", "2"])
    assert synth.threads == 2 and not hasattr(synth, "workers")  # synth renders with threads only
    model = build_parser(["evaluate"]).parse_args(["evaluate", "--flight", "f.tif", "--model", "models/x"])
    assert model.model == "models/x"


@pytest.mark.parametrize("argv, words", [
    (["survey", "f.tif", "-o", "o.gpkg", "--workers", "0"], ["--workers", "at least 1"]),
    (["survey", "f.tif", "-o", "o.gpkg", "--workers", "2", "--scheduler", "tcp://h:1"], ["not allowed with"]),
    (["synth", "o.tif", "--workers", "2"], ["unrecognized arguments: --workers"]),
    (["hazards", "d.gpkg", "--output", "o.gpkg"], ["-o/--out"]),
])
def test_bad_arguments_are_one_line_and_exit_2(capsys, argv, words):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    _one_line_refusal(capsys.readouterr().err, argv[0], *words)


def test_quiet_and_verbose_go_before_or_after_the_command():
    for argv in (["-q", "info", "f.tif"], ["info", "f.tif", "-q"], ["info", "-q", "f.tif"]):
        args = build_parser(argv).parse_args(argv)
        assert args.quiet is True and args.verbose is False, argv
    assert build_parser(["info"]).parse_args(["info", "f.tif"]).quiet is False
    assert set(COMMANDS) == {"info", "review", *WRITERS}  # review updates its survey in place


def test_a_commands_options_load_nothing_heavy_until_it_runs():
    """`rams COMMAND --help` and the parse are quick: the job's modules load when it runs (evaluate
    reads its defaults from the job, so it is the exception)."""
    code = ("import sys; from rams.cli.main import build_parser; "
            "[build_parser([c]) for c in ('info', 'synth', 'survey', 'hazards', 'train', 'compare', 'degrade', "
            "'export', 'review')]; "
            "print(sorted(m for m in ('torch', 'dask', 'rasterio', 'geopandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


# --- an existing output is never replaced silently ------------------------------------------


def _unchanged(paths: dict[Path, bytes]) -> None:
    for path, content in paths.items():
        assert path.read_bytes() == content, path


def test_survey_refuses_an_existing_output_or_report(tmp_path, capsys):
    flight = write_tif(tmp_path / "f.tif", textured(3, 64, 64))
    out = tmp_path / "out.gpkg"
    out.write_bytes(b"last week's survey")
    assert main(["survey", str(flight), "-o", str(out)]) == 2
    _one_line_refusal(capsys.readouterr().err, "survey", f"{out}: exists (use --overwrite to replace it)")
    _unchanged({out: b"last week's survey"})
    out.unlink()
    report = tmp_path / "out.html"
    report.write_text("last week's report")
    assert main(["survey", str(flight), "-o", str(out)]) == 2  # the report defaults to OUT.html
    _one_line_refusal(capsys.readouterr().err, "survey", f"{report}: exists")
    assert not out.exists() and report.read_text() == "last week's report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.tif", "out.html"]  # nothing half-written


def test_hazards_refuses_an_existing_output_then_replaces_it_when_told(tmp_path, capsys):
    src = write_detections(tmp_path / "detections.gpkg")
    out = tmp_path / "hazards.gpkg"
    out.write_bytes(b"old")
    assert main(["hazards", str(src), "-o", str(out)]) == 2
    _one_line_refusal(capsys.readouterr().err, "hazards", f"{out}: exists (use --overwrite")
    _unchanged({out: b"old"})
    assert main(["hazards", str(src), "-o", str(out), "--overwrite"]) == 0
    assert out.read_bytes()[:16] == b"SQLite format 3\x00"
    from rams.pipelines.hazards import hazards

    with pytest.raises(RamsError, match="exists"):  # a script gets the same protection
        hazards(src, out)


def test_synth_refuses_an_existing_flight_or_labels(tmp_path, capsys):
    tif = tmp_path / "f.tif"
    labels = tmp_path / "f.labels.gpkg"
    labels.write_bytes(b"hand-made labels")
    args = ["synth", str(tif), "--size-px", "256", "256", "--gsd", "0.03", "--seed", "1"]
    assert main(args) == 2
    _one_line_refusal(capsys.readouterr().err, "synth", f"{labels}: exists")
    assert not tif.exists()
    _unchanged({labels: b"hand-made labels"})
    tif.write_bytes(b"a flight")
    assert main(["synth", "-o", str(tif), *args[2:]]) == 2  # -o is the positional OUT
    _one_line_refusal(capsys.readouterr().err, "synth", f"{tif}: exists")
    _unchanged({tif: b"a flight", labels: b"hand-made labels"})
    from rams import synth

    with pytest.raises(RamsError, match="exists"):
        synth(tif, 256, 256, 0.03, 1)


def test_degrade_and_compare_refuse_an_existing_output(tmp_path, capsys):
    flight = write_tif(tmp_path / "f.tif", textured(3, 64, 64))
    out = tmp_path / "g.tif"
    out.write_bytes(b"older copy")
    assert main(["degrade", str(flight), str(out), "--jpeg-quality", "80"]) == 2
    _one_line_refusal(capsys.readouterr().err, "degrade", f"{out}: exists")
    _unchanged({out: b"older copy"})
    assert main(["degrade", str(flight), "-o", str(out), "--jpeg-quality", "80", "--overwrite"]) == 0
    with rasterio.open(out) as done:
        assert done.compression.name == "jpeg"
    assert "jpeg quality 80" in capsys.readouterr().err
    assert main(["degrade", str(flight), str(out), "-o", str(tmp_path / "h.tif")]) == 2
    _one_line_refusal(capsys.readouterr().err, "degrade", "two outputs given")

    reports = []
    for name, tp in (("before", 3), ("after", 4)):
        reports.append(tmp_path / f"{name}.json")
        reports[-1].write_text(json.dumps({"flights": [report_row(n, tp, 1, 1, name) for n in ("a.tif", "b.tif")]}))
    diff = tmp_path / "diff.json"
    diff.write_text("{}")
    assert main(["compare", *map(str, reports), "-o", str(diff)]) == 2
    _one_line_refusal(capsys.readouterr().err, "compare", f"{diff}: exists")
    assert diff.read_text() == "{}"
    assert main(["compare", *map(str, reports), "-o", str(diff), "--overwrite"]) == 0
    written = json.loads(diff.read_text())
    assert written["flights"] == ["a.tif", "b.tif"] and written["after_networks"].startswith("after")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


# --- refusals: one line, exit 2, whatever GDAL said on the way -------------------------------


def test_a_compound_crs_that_cannot_be_transformed_is_a_one_line_refusal(tmp_path):
    source = write_tif(tmp_path / "rgb.tif", textured(3, 64, 64), tiled=False)
    moon = _vrt(tmp_path / "moon.vrt", source, MOON_COMPOUND, (46.5, 3e-7, 0, 39.7, 0, -3e-7))
    result = _rams("info", str(moon))
    assert result.returncode == 2, result.stderr
    _one_line_refusal(result.stderr, "info", str(moon), "cannot warp its CRS Moon + height to EPSG:")
    out = tmp_path / "out.gpkg"
    result = _rams("survey", str(moon), "-o", str(out))
    assert result.returncode == 2, result.stderr
    _one_line_refusal(result.stderr, "survey", str(moon), "cannot warp")
    assert not out.exists()
    # a compound CRS PROJ can handle (UTM 38N + EGM96 heights) is read as its horizontal part
    utm = CRS.from_user_input("EPSG:32638+5773").to_wkt()
    fine = _vrt(tmp_path / "utm.vrt", source, utm, (ORIGIN[0], 0.03, 0, ORIGIN[1], 0, -0.03))
    result = _rams("info", "--json", str(fine))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["gsd_m"] == 0.03 and result.stderr == ""


def test_a_raster_gdal_warns_about_gives_its_warning_once_through_logging(tmp_path):
    warns = _tags_out_of_order(tmp_path / "warns.tif")
    result = _rams("info", str(warns))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "WARNING GDAL: " in lines[0] and "not sorted" in lines[0], result.stderr
    assert "Warning:" not in result.stderr and ".py:" not in result.stderr  # no Python warning text
    quiet = _rams("-q", "info", str(warns)).stderr.strip().splitlines()  # warnings stay with --quiet
    assert len(quiet) == 1 and quiet[0].split(" ", 1)[1] == lines[0].split(" ", 1)[1]
    # the same warnings, and a refusal: the refusal alone
    bad = _tags_out_of_order(tmp_path / "nocrs.tif", crs=None)
    result = _rams("info", str(bad))
    assert result.returncode == 2
    _one_line_refusal(result.stderr, "info", str(bad), "no CRS")


def test_a_file_gdal_cannot_read_is_a_refusal_even_where_no_check_names_it(tmp_path):
    text = tmp_path / "notes.tif"
    text.write_text("not a raster")
    out = tmp_path / "out.tif"
    result = _rams("degrade", str(text), str(out))  # degrade opens the flight without open_flight
    assert result.returncode == 2, result.stderr
    _one_line_refusal(result.stderr, "degrade", "notes.tif", "not recognized")
    assert "internal error" not in result.stderr and not out.exists()


@pytest.mark.parametrize("crs, message", [(None, "no CRS"), ("EPSG:32638", "no geotransform")])
def test_a_raster_without_georeferencing_is_one_line_without_python_warnings(tmp_path, crs, message):
    path = tmp_path / "plain.tif"
    profile = {"driver": "GTiff", "width": 32, "height": 32, "count": 3, "dtype": "uint8"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # rasterio says so as it writes
        with rasterio.open(path, "w", **profile, **({"crs": crs} if crs else {})) as dst:
            dst.write(textured(3, 32, 32))
    result = _rams("info", str(path))
    assert result.returncode == 2
    _one_line_refusal(result.stderr, "info", str(path), message)
    assert "NotGeoreferencedWarning" not in result.stderr


def test_python_warnings_are_log_lines_held_until_the_command_ends(capsys):
    with command_logging() as held:
        warnings.warn("pixel is area", UserWarning, stacklevel=1)
        warnings.warn("pixel is area", UserWarning, stacklevel=1)
        logging.getLogger("rams.cli").info("working")
        assert capsys.readouterr().err.strip().endswith("INFO working")
        held.report()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith("WARNING UserWarning: pixel is area (2 times)")
    assert warnings.showwarning.__module__ == "warnings"  # put back


# --- --quiet and progress ---------------------------------------------------------------------


def test_quiet_keeps_stderr_for_warnings_and_errors(tmp_path, capsys):
    src = write_detections(tmp_path / "detections.gpkg")
    assert main(["hazards", str(src), "-o", str(tmp_path / "a.gpkg")]) == 0
    assert "hazard areas" in capsys.readouterr().err
    assert main(["-q", "hazards", str(src), "-o", str(tmp_path / "b.gpkg")]) == 0
    assert capsys.readouterr().err == ""
    assert main(["hazards", str(src), "-o", str(tmp_path / "b.gpkg"), "--quiet"]) == 2
    _one_line_refusal(capsys.readouterr().err, "hazards", "exists")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Region:
    pixels = 100


def test_progress_is_drawn_on_a_terminal_only_and_not_when_quiet():
    progress_log = logging.getLogger("rams.progress")
    level = progress_log.level
    try:
        progress_log.setLevel(logging.INFO)
        for stream, drawn in ((_Terminal(), True), (io.StringIO(), False)):
            bar = Progress(2, 200, stream=stream)
            bar.update(_Region())
            bar.close()
            assert ("regions 1/2" in stream.getvalue()) is drawn
        progress_log.setLevel(logging.WARNING)  # rams --quiet
        quiet = _Terminal()
        bar = Progress(2, 200, stream=quiet)
        bar.update(_Region())
        bar.close()
        assert quiet.getvalue() == ""
    finally:
        progress_log.setLevel(level)


def test_train_help_names_a_recipe_that_exists(capsys) -> None:
    from rams.cli.train import EXAMPLE_RECIPE
    from rams.resources import configs_dir

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert EXAMPLE_RECIPE in " ".join(capsys.readouterr().out.split())
    assert (configs_dir() / EXAMPLE_RECIPE.removeprefix("configs/")).is_file()
