"""QML documents and the layer_styles rows (QGIS itself reads them in test_export_gpkg.py)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from rams.export import SCHEMA
from rams.export.styles import STYLED_LAYERS, layer_qml, layer_styles_table


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
