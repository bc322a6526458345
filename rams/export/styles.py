"""Layer styles of the survey output: QGIS (QML), OGC SLD 1.0 and KML, from one table.

QGIS reads the GeoPackage's ``layer_styles`` table when a layer is opened and applies the row
marked ``useAsDefault``, so the output opens already symbolised. The exports carry the same
symbols as SLD files (GeoServer and other OGC clients) and as KML styles on every placemark.
Hazard areas use the IMAS land-release colours (SHA orange #F4A718, CHA red #FF0000); evidence
layers are told apart by class. Colours are ``"R,G,B,A"`` (0-255) as QML writes them; sizes are
millimetres on screen, converted for SLD and KML at the OGC standard pixel of 0.28 mm.
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
    ("SHA", "CMR+FORTIFICATION", "SHA, cluster munition remnants and fortification", _area_fill(SHA_ORANGE)),
    ("CHA", "CMR+FORTIFICATION", "CHA, cluster munition remnants and fortification", _area_fill(CHA_RED)),
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


# --- OGC Styled Layer Descriptor 1.0 and KML (OGR feature style strings) ---------------------

MM_PER_PX = 0.28  # the OGC "standardized rendering pixel" of SLD / SE, also used for KML widths
SLD_NS = "http://www.opengis.net/sld"
OGC_NS = "http://www.opengis.net/ogc"
_XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_SLD_SCHEMA = "http://www.opengis.net/sld http://schemas.opengis.net/sld/1.0.0/StyledLayerDescriptor.xsd"
_HATCH_PX = 8  # spacing of hatch lines in an SLD graphic fill
_DASH_PX = "8 4"  # dash and gap of a dashed SLD outline
KML_ICON = "http://maps.google.com/mapfiles/kml/shapes/placemark_circle.png"  # tinted by colour
KML_ICON_SCALE = 1.0  # the icon's own size: a dot of about 4 mm on screen
_SLD_JOINS = {"miter": "mitre", "round": "round", "bevel": "bevel"}


def _hex_opacity(rgba: str) -> tuple[str, float]:
    """``"R,G,B,A"`` → (``"#RRGGBB"``, opacity 0-1)."""
    r, g, b, a = (int(v) for v in rgba.split(","))
    return f"#{r:02X}{g:02X}{b:02X}", round(a / 255, 2)


def _px(mm: str) -> str:
    return f"{float(mm) / MM_PER_PX:.2f}"


def _sld(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{SLD_NS}}}{tag}", attrs)
    element.text = text
    return element


def _css(parent: ET.Element, **params: str) -> None:
    for name, value in params.items():
        _sld(parent, "CssParameter", value, name=name.replace("_", "-"))


def _sld_stroke(parent: ET.Element, rgba: str, width_mm: str, props: dict[str, str], dashed: bool) -> None:
    colour, opacity = _hex_opacity(rgba)
    stroke = _sld(parent, "Stroke")
    _css(stroke, stroke=colour, stroke_opacity=str(opacity), stroke_width=_px(width_mm),
         stroke_linejoin=_SLD_JOINS.get(props.get("joinstyle", "miter"), "mitre"))
    if "capstyle" in props:
        _css(stroke, stroke_linecap=props["capstyle"])
    if dashed:
        _css(stroke, stroke_dasharray=_DASH_PX)


def _sld_symbolizer(rule: ET.Element, kind: str, props: dict[str, str]) -> None:
    """The SLD symbolizer of one QML symbol (``kind``: marker, line or fill; ``props``: QML)."""
    if kind == "marker":
        graphic = _sld(_sld(rule, "PointSymbolizer"), "Graphic")
        mark = _sld(graphic, "Mark")
        _sld(mark, "WellKnownName", props["name"])
        colour, opacity = _hex_opacity(props["color"])
        _css(_sld(mark, "Fill"), fill=colour, fill_opacity=str(opacity))
        _sld_stroke(mark, props["outline_color"], props["outline_width"], props, dashed=False)
        _sld(graphic, "Size", _px(props["size"]))
    elif kind == "line":
        _sld_stroke(_sld(rule, "LineSymbolizer"), props["line_color"], props["line_width"], props,
                    dashed=props["line_style"] == "dash")
    else:
        symbolizer = _sld(rule, "PolygonSymbolizer")
        colour, opacity = _hex_opacity(props["color"])
        if props["style"] == "b_diagonal":  # hatch lines in the fill colour
            graphic = _sld(_sld(_sld(symbolizer, "Fill"), "GraphicFill"), "Graphic")
            mark = _sld(graphic, "Mark")
            _sld(mark, "WellKnownName", "shape://backslash")
            _css(_sld(mark, "Stroke"), stroke=colour, stroke_opacity=str(opacity), stroke_width="1")
            _sld(graphic, "Size", str(_HATCH_PX))
        elif props["style"] != "no":
            _css(_sld(symbolizer, "Fill"), fill=colour, fill_opacity=str(opacity))
        _sld_stroke(symbolizer, props["outline_color"], props["outline_width"], props,
                    dashed=props["outline_style"] == "dash")


def _sld_equals(parent: ET.Element, field: str, value: str) -> None:
    equal = ET.SubElement(parent, f"{{{OGC_NS}}}PropertyIsEqualTo")
    ET.SubElement(equal, f"{{{OGC_NS}}}PropertyName").text = field
    ET.SubElement(equal, f"{{{OGC_NS}}}Literal").text = value


def layer_sld(layer: str, name: str | None = None) -> str:
    """OGC SLD 1.0 document for one survey output layer, in the colours of its QML style.

    ``name`` is the layer name the SLD's ``NamedLayer`` carries (default: ``layer``), so that a
    server matching styles to layers by name finds it. Hazard areas get one rule per status and
    hazard type, filtered on ``status`` and ``hazard_type``, and a fallback in SHA orange.
    Widths and sizes are pixels (0.28 mm). ``KeyError`` if the layer has no style.
    """
    if layer != "hazard_areas" and layer not in _SINGLE_SYMBOLS:
        raise KeyError(f"{layer!r} has no rams style; styled: {', '.join(STYLED_LAYERS)}")
    ET.register_namespace("", SLD_NS)
    ET.register_namespace("ogc", OGC_NS)
    ET.register_namespace("xsi", _XSI_NS)
    root = ET.Element(f"{{{SLD_NS}}}StyledLayerDescriptor", {"version": "1.0.0",
                                                             f"{{{_XSI_NS}}}schemaLocation": _SLD_SCHEMA})
    named = _sld(root, "NamedLayer")
    _sld(named, "Name", name or layer)
    style = _sld(named, "UserStyle")
    _sld(style, "Name", STYLE_NAME)
    _sld(style, "Title", f"rams default style for {layer}")
    feature_style = _sld(style, "FeatureTypeStyle")
    if layer == "hazard_areas":
        for status, hazard_type, label, props in _HAZARD_CATEGORIES:
            rule = _sld(feature_style, "Rule")
            _sld(rule, "Name", f"{status} {hazard_type}")
            _sld(rule, "Title", label)
            both = ET.SubElement(ET.SubElement(rule, f"{{{OGC_NS}}}Filter"), f"{{{OGC_NS}}}And")
            _sld_equals(both, "status", status)
            _sld_equals(both, "hazard_type", hazard_type)
            _sld_symbolizer(rule, "fill", props)
        rule = _sld(feature_style, "Rule")
        _sld(rule, "Name", "other")
        _sld(rule, "Title", "other status or hazard type")
        _sld(rule, "ElseFilter")
        _sld_symbolizer(rule, "fill", _area_fill(SHA_ORANGE))
    else:
        kind, _, props = _SINGLE_SYMBOLS[layer]
        rule = _sld(feature_style, "Rule")
        _sld(rule, "Name", layer)
        _sld_symbolizer(rule, kind, props)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _ogr_colour(rgba: str, alpha: int | None = None) -> str:
    r, g, b, a = (int(v) for v in rgba.split(","))
    return f"#{r:02X}{g:02X}{b:02X}{a if alpha is None else alpha:02X}"


def _ogr_style(kind: str, props: dict[str, str]) -> str:
    """OGR feature style string of one QML symbol: what GDAL's KML writers turn into a ``<Style>``.

    KML has no hatching or dashes: hatched fills become the 40 % fill of their colour, and a
    symbol without fill gets a fully transparent one (KML viewers fill by default).
    """
    if kind == "marker":
        return f'SYMBOL(id:"{KML_ICON}",c:{_ogr_colour(props["color"])},s:{KML_ICON_SCALE})'
    if kind == "line":
        return f"PEN(c:{_ogr_colour(props['line_color'])},w:{_px(props['line_width'])}px)"
    alpha = {"no": 0, "b_diagonal": _FILL_ALPHA}.get(props["style"])
    return (f"BRUSH(fc:{_ogr_colour(props['color'], alpha)});"
            f"PEN(c:{_ogr_colour(props['outline_color'])},w:{_px(props['outline_width'])}px)")


def feature_styles(layer: str, frame: pd.DataFrame) -> list[str]:
    """OGR feature style strings, one per row of ``frame`` (a layer ``layer`` of the output).

    Hazard areas are styled by ``status`` and ``hazard_type`` as in QGIS (an unknown pair in SHA
    orange); other styled layers by their single symbol; layers without a style get none (``""``).
    """
    if layer == "hazard_areas":
        by_category = {(s, t): _ogr_style("fill", props) for s, t, _, props in _HAZARD_CATEGORIES}
        fallback = _ogr_style("fill", _area_fill(SHA_ORANGE))
        pairs = zip(frame["status"], frame["hazard_type"], strict=True)
        return [by_category.get(pair, fallback) for pair in pairs]
    if layer not in _SINGLE_SYMBOLS:
        return [""] * len(frame)
    kind, _, props = _SINGLE_SYMBOLS[layer]
    return [_ogr_style(kind, props)] * len(frame)
