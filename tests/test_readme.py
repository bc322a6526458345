"""The README's main command, as a new user runs it, on the bundled demo flight; the docs' output
contract against the schema; the recipes' commands against their configs; local links."""

import html as markup
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pyogrio
import pytest
import yaml
from gis_clients import assert_gdal_validates, assert_qgis_finds_no_invalid_geometries

from rams.detector.card import read_card, resolve_model_dir
from rams.export import SCHEMA
from rams.export.formats import SHAPEFILE_FIELDS
from rams.export.schema import METADATA_LAYER, SCHEMA_VERSION
from rams.pipelines.survey import DEFAULT_MODEL
from rams.review.store import TABLE as REVIEWS_TABLE

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
CONTRACT = ROOT / "docs" / "output-contract.md"
RECIPES = ROOT / "configs" / "recipes"


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


def table_after(text: str, heading: str) -> list[list[str]]:
    """The rows (cells stripped, header and rule left out) of the first table after ``heading``."""
    lines = text[text.index(heading):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
    return rows


def test_the_output_contract_table_is_the_schema() -> None:
    text = CONTRACT.read_text()
    assert f"`schema_version` {SCHEMA_VERSION}" in text
    rows = {row[0].strip("`"): row for row in table_after(text, "## GeoPackage layers")}
    assert set(rows) == {*SCHEMA, METADATA_LAYER, "layer_styles", REVIEWS_TABLE}
    for name, schema in SCHEMA.items():
        _, geometry, fields = rows[name]
        assert geometry == schema.geometry_type, name
        named = re.sub(r"\([^)]*\)", "", fields.split(": ")[0])  # values in brackets, notes after ":"
        assert tuple(re.findall(r"`(\w+)`", named)) == schema.field_names, name


def test_the_shapefile_names_in_the_contract_are_the_exporters() -> None:
    rows = table_after(CONTRACT.read_text(), "## Other formats")
    assert {field.strip("`"): short.strip("`") for field, short in rows} == SHAPEFILE_FIELDS


def recipe_commands(readme: Path) -> list[tuple[Path, str]]:
    """The ``rams train --config C --out O`` steps of a recipe README, in order."""
    steps = []
    for line in readme.read_text().splitlines():
        if line.startswith("rams train "):
            words = shlex.split(line)
            steps.append((ROOT / words[words.index("--config") + 1], words[words.index("--out") + 1]))
    return steps


@pytest.mark.parametrize("recipe", sorted(p for p in RECIPES.iterdir() if p.is_dir()), ids=lambda p: p.name)
def test_recipe_commands_run_every_stage_in_order_and_each_starts_from_an_earlier_one(recipe: Path) -> None:
    steps = recipe_commands(recipe / "README.md")
    assert steps, "a recipe lists its rams train commands"
    own = [config for config, _ in steps if config.parent == recipe]
    assert own == sorted(recipe.glob("*.yaml")), "each stage config once, in its numbered order"
    done: list[Path] = []
    for config, out in steps:
        assert config.is_file(), config
        raw = yaml.safe_load(config.read_text())
        for key in ("init_from", "ensemble_with", "candidates_from"):
            ref = raw.get(key)
            if ref and str(ref).startswith("."):  # a folder: relative to the config file
                target = (config.parent / ref).resolve()
                assert target in done, f"{config.name}: {key} {ref} is no earlier stage's --out"
        for key in ("cache_dir",):
            if raw.get(key):
                assert (config.parent / raw[key]).resolve().is_relative_to(ROOT / "runs"), config.name
        done.append((ROOT / out / "model").resolve())


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


DOCS = sorted([README, ROOT / "CHANGELOG.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "models").glob("*/README.md"),
               *RECIPES.glob("**/README.md"), ROOT / "experiments" / "README.md"])


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_local_links_lead_somewhere(doc: Path) -> None:
    for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
        if re.match(r"\w+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (doc.parent / path).resolve() if path else doc
        assert dest.exists(), f"{target} in {doc.name}"
        if anchor and dest.suffix == ".md":
            headings = re.findall(r"^#+ (.*)$", dest.read_text(), re.M)
            assert anchor in {slug(h) for h in headings}, f"{target} in {doc.name}"
