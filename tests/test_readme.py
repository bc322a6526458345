"""The README's main command, as a new user runs it, on the bundled demo flight."""

import html as markup
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pyogrio
import pytest
from gis_clients import assert_gdal_validates, assert_qgis_finds_no_invalid_geometries
from rams.pipelines.survey import DEFAULT_MODEL

from rams.detector.card import read_card, resolve_model_dir
from rams.export import SCHEMA

README = Path(__file__).parents[1] / "README.md"


def main_command_steps() -> list[list[str]]:
    """The `rams ...` steps of the README's first command (the install steps are CI's)."""
    block = re.search(r"Run the main job.*?```bash\n(.*?)\n```", README.read_text(), re.S).group(1)
    steps = [shlex.split(part) for part in block.strip().split(" && ")]
    assert steps[0][:4] == ["python3", "-m", "pip", "install"]
    return [step for step in steps if step[0] == "rams"]


@pytest.mark.slow
def test_readme_main_command_on_the_demo_flight(tmp_path):
    steps = main_command_steps()
    assert [s[1] for s in steps] == ["synth", "survey"]
    for step in steps:
        run = subprocess.run(
            [sys.executable, "-m", "rams.cli.main", *step[1:]], cwd=tmp_path, capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
    out = tmp_path / "demo" / "survey.gpkg"
    layers = dict(pyogrio.list_layers(out))
    for name, schema in SCHEMA.items():
        fields = pyogrio.read_info(out, layer=name)["fields"]
        assert list(fields[: len(schema.field_names)]) == list(schema.field_names), name
    assert "metadata" in layers and "layer_styles" in layers
    counts = {name: pyogrio.read_info(out, layer=name)["features"] for name in SCHEMA}
    for name in ("submunitions", "trenches", "positions", "hazard_areas", "coverage", "strike_footprints"):
        assert counts[name] > 0, f"the demo shows every layer: {name} is empty"
    assert_gdal_validates(out)
    assert_qgis_finds_no_invalid_geometries(out, counts)
    html = (tmp_path / "demo" / "report.html").read_text()
    assert "data:image/png;base64" in html and "http://" not in html and "https://" not in html
    limits = read_card(resolve_model_dir(DEFAULT_MODEL))["limitations"]  # the report shows the card's
    assert limits and all(f"<li>{markup.escape(text)}</li>" in html for text in limits)
