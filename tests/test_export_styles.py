"""QML and SLD documents, KML style strings and the layer_styles rows (QGIS itself reads the QML
in test_export_gpkg.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pandas as pd

from rams.export import SCHEMA
from rams.export.styles import (
    OGC_NS,
    SLD_NS,
    STYLED_LAYERS,
    feature_styles,
    layer_qml,
    layer_sld,
    layer_styles_table,
)


def test_every_contract_layer_has_a_parseable_style() -> None:
    assert set(STYLED_LAYERS) == set(SCHEMA)
    for layer in SCHEMA:
        root = ET.fromstring(layer_qml(layer).split("\n", 1)[1])
        assert root.tag == "qgis"
        assert root.find("renderer-v2") is not None


def test_hazard_areas_use_imas_colours_by_status() -> None:
    renderer = ET.fromstring(layer_qml("hazard_areas").split("\n", 1)[1]).find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol"
    outline = "symbols/symbol[@name='{}']/layer/prop[@k='outline_color']"
    colours = {
        c.get("value"): renderer.find(outline.format(c.get("symbol"))).get("v")
        for c in renderer.iter("category")
    }
    assert colours["SHA CMR"] == colours["SHA FORTIFICATION"] == "244,167,24,255"  # #F4A718
    assert colours["CHA CMR"] == colours["CHA FORTIFICATION"] == "255,0,0,255"  # #FF0000


def test_layer_styles_rows_are_defaults_for_styled_layers_only() -> None:
    rows = layer_styles_table(
        {"hazard_areas": "geom", "debug": "geom"}, when=datetime(2026, 5, 1, tzinfo=UTC)
    )
    assert rows["f_table_name"].tolist() == ["hazard_areas"]
    assert rows["useAsDefault"].tolist() == [True]
    assert rows["f_geometry_column"].tolist() == ["geom"]
    assert str(rows["update_time"].dt.tz) == "UTC"


def _qml_colours(layer: str) -> set[str]:
    """#RRGGBB of every visible colour (alpha > 0) in a layer's QML."""
    root = ET.fromstring(layer_qml(layer).split("\n", 1)[1])
    colours = set()
    for prop in root.iter("prop"):
        if prop.get("k") in ("color", "outline_color", "line_color"):
            r, g, b, a = (int(v) for v in prop.get("v").split(","))
            if a:
                colours.add(f"#{r:02X}{g:02X}{b:02X}")
    return colours


def test_every_layer_has_an_sld_in_its_qgis_colours() -> None:
    for layer in STYLED_LAYERS:
        root = ET.fromstring(layer_sld(layer).encode())
        assert root.tag == f"{{{SLD_NS}}}StyledLayerDescriptor" and root.get("version") == "1.0.0"
        assert root.findtext(f"{{{SLD_NS}}}NamedLayer/{{{SLD_NS}}}Name") == layer
        colours = {p.text for p in root.iter(f"{{{SLD_NS}}}CssParameter") if p.get("name") in ("fill", "stroke")}
        assert colours == _qml_colours(layer), layer


def test_sld_rules_for_hazard_areas_are_imas_colours_by_status() -> None:
    root = ET.fromstring(layer_sld("hazard_areas", "s_hazard_areas").encode())
    assert root.findtext(f"{{{SLD_NS}}}NamedLayer/{{{SLD_NS}}}Name") == "s_hazard_areas"
    rules = list(root.iter(f"{{{SLD_NS}}}Rule"))
    for rule in rules:
        literals = [lit.text for lit in rule.iter(f"{{{OGC_NS}}}Literal")]
        strokes = {p.text for p in rule.iter(f"{{{SLD_NS}}}CssParameter") if p.get("name") == "stroke"}
        if literals:
            assert strokes == ({"#F4A718"} if literals[0] == "SHA" else {"#FF0000"}), literals
        else:  # the fallback: an area of another status or type is still drawn, in SHA orange
            assert rule.find(f"{{{SLD_NS}}}ElseFilter") is not None and strokes == {"#F4A718"}
    solid = [r for r in rules if [x.text for x in r.iter(f"{{{OGC_NS}}}Literal")] == ["SHA", "CMR"]][0]
    fill = {p.get("name"): p.text for p in solid.iter(f"{{{SLD_NS}}}CssParameter")}
    assert (fill["fill"], fill["fill-opacity"]) == ("#F4A718", "0.4")


def test_every_hazard_type_has_a_category() -> None:
    """The combined type too: a categorised QGIS style leaves out what no category matches."""
    renderer = ET.fromstring(layer_qml("hazard_areas").split("\n", 1)[1]).find("renderer-v2")
    values = {c.get("value") for c in renderer.iter("category")}
    assert values == {f"{s} {t}" for s in ("SHA", "CHA") for t in ("CMR", "FORTIFICATION", "CMR+FORTIFICATION")}


def test_feature_styles_follow_status_and_fall_back_to_sha() -> None:
    frame = pd.DataFrame({"status": ["SHA", "CHA", "XYZ"], "hazard_type": ["CMR", "FORTIFICATION", "CMR"]})
    sha, cha, other = feature_styles("hazard_areas", frame)
    assert sha.startswith("BRUSH(fc:#F4A71866);PEN(c:#F4A718FF")
    assert cha.startswith("BRUSH(fc:#FF000066);PEN(c:#FF0000FF")  # hatching becomes a 40 % fill in KML
    assert other == sha
    assert feature_styles("coverage", frame[:1]) == ["BRUSH(fc:#00000000);PEN(c:#1F78B4FF,w:0.93px)"]
    assert feature_styles("notes", frame) == ["", "", ""]
