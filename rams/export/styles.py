"""QGIS layer styles for the survey output, embedded in the GeoPackage's ``layer_styles`` table.

QGIS reads that table when a GeoPackage layer is opened and applies the row marked
``useAsDefault``, so the output opens already symbolised. Hazard areas use the IMAS land-release
colours (SHA orange #F4A718, CHA red #FF0000); evidence layers are told apart by class.
Colours are ``"R,G,B,A"`` (0-255) as QML writes them; sizes are millimetres on screen.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pandas as pd

SHA_ORANGE = (244, 167, 24)  # IMAS land release: suspected hazard area, #F4A718
CHA_RED = (255, 0, 0)  # IMAS land release: confirmed hazard area, #FF0000
_FILL_ALPHA = 102  # 40 % opaque fill, so the imagery underneath stays readable

STYLE_NAME = "rams"
STYLES_TABLE = "layer_styles"


def _rgba(rgb: tuple[int, int, int], alpha: int = 255) -> str:
    return f"{rgb[0]},{rgb[1]},{rgb[2]},{alpha}"


def _symbol(kind: str, name: str, layer_class: str, props: dict[str, str]) -> ET.Element:
    symbol = ET.Element(
        "symbol", type=kind, name=name, alpha="1", clip_to_extent="1", force_rhr="0"
    )
    layer = ET.SubElement(symbol, "layer", {"class": layer_class}, enabled="1", locked="0")
    layer.set("pass", "0")
    for key, value in props.items():
        ET.SubElement(layer, "prop", k=key, v=value)
    return symbol


def _fill(
    color: str,
    outline: str,
    *,
    style: str = "solid",
    outline_style: str = "solid",
    outline_width_mm: float = 0.46,
) -> dict[str, str]:
    return {
        "color": color,
        "style": style,
        "outline_color": outline,
        "outline_style": outline_style,
        "outline_width": str(outline_width_mm),
        "outline_width_unit": "MM",
        "joinstyle": "miter",
    }


def _area_fill(rgb: tuple[int, int, int], *, hatched: bool = False) -> dict[str, str]:
    """Semi-transparent fill with a solid outline; hatched for fortification evidence."""
    return _fill(
        _rgba(rgb, 255 if hatched else _FILL_ALPHA),
        _rgba(rgb),
        style="b_diagonal" if hatched else "solid",
        outline_width_mm=0.66,
    )


# (status, hazard_type) -> (label, symbol properties); status first, as IMAS colours by status.
_HAZARD_CATEGORIES: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    ("SHA", "CMR", "SHA, cluster munition remnants", _area_fill(SHA_ORANGE)),
    ("SHA", "FORTIFICATION", "SHA, fortification", _area_fill(SHA_ORANGE, hatched=True)),
    ("CHA", "CMR", "CHA, cluster munition remnants", _area_fill(CHA_RED)),
    ("CHA", "FORTIFICATION", "CHA, fortification", _area_fill(CHA_RED, hatched=True)),
)
HAZARD_CATEGORY_EXPRESSION = 'concat("status", \' \', "hazard_type")'

# layer -> (symbol type, symbol-layer class, properties) for single-symbol layers.
_SINGLE_SYMBOLS: dict[str, tuple[str, str, dict[str, str]]] = {
    "submunitions": (
        "marker",
        "SimpleMarker",
        {
            "name": "circle",
            "color": "220,20,60,255",
            "outline_color": "128,0,0,255",
            "outline_width": "0.3",
            "outline_width_unit": "MM",
            "size": "2.6",
            "size_unit": "MM",
        },
    ),
    "trenches": (
        "line",
        "SimpleLine",
        {
            "line_color": "139,69,19,255",
            "line_style": "solid",
            "line_width": "0.8",
            "line_width_unit": "MM",
            "capstyle": "round",
            "joinstyle": "round",
        },
    ),
    "positions": ("fill", "SimpleFill", _fill("128,0,128,102", "128,0,128,255")),
    "strike_footprints": (
        "fill",
        "SimpleFill",
        _fill("0,0,0,0", "178,34,34,255", style="no", outline_style="dash"),
    ),
    "coverage": (
        "fill",
        "SimpleFill",
        _fill("0,0,0,0", "31,120,180,255", style="no", outline_width_mm=0.26),
    ),
    "not_assessable": (
        "fill",
        "SimpleFill",
        _fill("128,128,128,255", "128,128,128,255", style="b_diagonal", outline_width_mm=0.26),
    ),
}

_COLUMNS = [
    "f_table_catalog",
    "f_table_schema",
    "f_table_name",
    "f_geometry_column",
    "styleName",
    "styleQML",
    "styleSLD",
    "useAsDefault",
    "description",
    "owner",
    "ui",
    "update_time",
]

STYLED_LAYERS: tuple[str, ...] = ("hazard_areas", *_SINGLE_SYMBOLS)


def _qgis_document(renderer: ET.Element) -> str:
    root = ET.Element("qgis", version="3.22.0", styleCategories="Symbology")
    root.append(renderer)
    ET.SubElement(root, "blendMode").text = "0"
    ET.SubElement(root, "featureBlendMode").text = "0"
    ET.SubElement(root, "layerOpacity").text = "1"
    body = ET.tostring(root, encoding="unicode")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body


def _hazard_renderer() -> ET.Element:
    renderer = ET.Element(
        "renderer-v2",
        type="categorizedSymbol",
        attr=HAZARD_CATEGORY_EXPRESSION,
        symbollevels="0",
        enableorderby="0",
        forceraster="0",
    )
    categories = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    for index, (status, hazard_type, label, props) in enumerate(_HAZARD_CATEGORIES):
        ET.SubElement(
            categories,
            "category",
            render="true",
            value=f"{status} {hazard_type}",
            symbol=str(index),
            label=label,
        )
        symbols.append(_symbol("fill", str(index), "SimpleFill", props))
    source = ET.SubElement(renderer, "source-symbol")
    source.append(_symbol("fill", "0", "SimpleFill", _area_fill(SHA_ORANGE)))
    return renderer


def layer_qml(layer: str) -> str:
    """QML (QGIS style document) for one survey output layer; ``KeyError`` if it has none."""
    if layer == "hazard_areas":
        return _qgis_document(_hazard_renderer())
    kind, layer_class, props = _SINGLE_SYMBOLS[layer]
    renderer = ET.Element(
        "renderer-v2", type="singleSymbol", symbollevels="0", enableorderby="0", forceraster="0"
    )
    ET.SubElement(renderer, "symbols").append(_symbol(kind, "0", layer_class, props))
    return _qgis_document(renderer)


def layer_styles_table(layers: dict[str, str], when: datetime | None = None) -> pd.DataFrame:
    """Rows of QGIS' ``layer_styles`` table for ``layers`` (layer name → geometry column).

    Layers without a rams style are left out. ``useAsDefault`` is set so QGIS applies the style
    when the layer is opened; catalog and schema are empty, as QGIS writes them for GeoPackage.
    """
    # timezone-aware, so the GeoPackage DATETIME gets the "Z" its specification requires
    stamp = pd.Timestamp(when or datetime.now(UTC)).floor("s")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    rows = [
        {
            "f_table_catalog": "",
            "f_table_schema": "",
            "f_table_name": name,
            "f_geometry_column": geometry_column,
            "styleName": STYLE_NAME,
            "styleQML": layer_qml(name),
            "styleSLD": "",
            "useAsDefault": True,
            "description": f"rams default style for {name}",
            "owner": "",
            "ui": "",
            "update_time": stamp,
        }
        for name, geometry_column in layers.items()
        if name in STYLED_LAYERS
    ]
    return pd.DataFrame(rows, columns=_COLUMNS)
