"""Every export format of a real survey output (the shipped model on a synthetic flight), read
back through GDAL and compared with the GeoPackage; atomicity and refusals of the export."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from export_fixtures import CRS, X0, Y0, survey_layers
from pandas.testing import assert_frame_equal
from pyproj import Transformer
from shapely.geometry import LinearRing, Point

from rams.errors import RamsError
from rams.export import FORMATS, SCHEMA, SHAPEFILE_FIELDS, export_layers, write_geopackage
from rams.export.formats import LONLAT_DECIMALS, PLACEMARK_NAMES
from rams.export.styles import SHA_ORANGE, STYLED_LAYERS

# 1024 px at 3 cm (31 m square), seed 3: every detection layer non-empty with the shipped model
FLIGHT_PX, FLIGHT_GSD_M, FLIGHT_SEED = 1024, 0.03, 3
STEM = "survey"


@pytest.fixture(scope="module")
def survey_gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rams.pipelines.survey import survey
    from rams.synthetic import generate_flight

    folder = tmp_path_factory.mktemp("export_survey")
    flight, _ = generate_flight(folder / "flight.tif", FLIGHT_PX, FLIGHT_PX, FLIGHT_GSD_M, FLIGHT_SEED)
    out = folder / f"{STEM}.gpkg"
    survey(flight, out, report=None)
    empty = [name for name in SCHEMA if pyogrio.read_info(out, layer=name)["features"] == 0]
    assert not empty, f"the fixture flight should fill every layer; empty: {empty}"
    return out


@pytest.fixture(scope="module")
def exported(survey_gpkg: Path) -> tuple[Path, list[Path]]:
    out = survey_gpkg.parent / "exports"
    return out, export_layers(survey_gpkg, out)


@pytest.fixture(scope="module")
def source(survey_gpkg: Path) -> dict[str, gpd.GeoDataFrame]:
    return {name: pyogrio.read_dataframe(survey_gpkg, layer=name, fid_as_index=True) for name in SCHEMA}


def _by_place(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` sorted by where its features are (centroid x, then y), index reset."""
    centroids = frame.geometry.centroid
    return frame.iloc[np.lexsort((centroids.y.round(3), centroids.x.round(3)))].reset_index(drop=True)


def _fields(frame: gpd.GeoDataFrame) -> list[str]:
    return [c for c in frame.columns if c != frame.geometry.name]


def test_every_layer_gets_every_format(exported: tuple[Path, list[Path]]) -> None:
    out, written = exported
    names = sorted(str(p.relative_to(out)) for p in written)
    per_layer = [f"{fmt}/{STEM}_{layer}.{fmt}" for layer in SCHEMA for fmt in ("geojson", "shp", "fgb")]
    assert names == sorted([
        *per_layer, f"kml/{STEM}.kml", f"csv/{STEM}_hazard_areas.csv", f"csv/{STEM}_submunitions.csv",
        *(f"sld/{STEM}_{layer}.sld" for layer in STYLED_LAYERS),
    ])
    assert all(p.is_file() for p in written)
    assert sorted(p.name for p in out.iterdir()) == sorted([*FORMATS, "sld"])
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []  # no temporary folder


@pytest.mark.parametrize("layer", list(SCHEMA))
@pytest.mark.parametrize("fmt", ["geojson", "fgb"])
def test_geojson_and_flatgeobuf_hold_the_geopackage(exported, source, layer: str, fmt: str) -> None:
    out, _ = exported
    back = pyogrio.read_dataframe(out / fmt / f"{STEM}_{layer}.{fmt}")
    expected = source[layer].reset_index(drop=True)
    if fmt == "fgb":  # FlatGeobuf's spatial index stores features along a Hilbert curve
        back, expected = _by_place(back.to_crs(expected.crs)), _by_place(expected)
    assert len(back) == len(expected) > 0
    assert _fields(back) == _fields(expected)
    assert_frame_equal(pd.DataFrame(back[_fields(back)]), pd.DataFrame(expected[_fields(expected)]),
                       check_dtype=False)  # GeoJSON readers type small integers as 32-bit
    if fmt == "fgb":  # the projected CRS, exactly
        assert back.crs == expected.crs
        assert shapely.equals_exact(back.geometry.values, expected.geometry.values, tolerance=1e-6).all()
    else:  # 7 decimals of a degree: a vertex moves by under a centimetre
        assert back.crs.to_epsg() == 4326
        projected = back.to_crs(expected.crs).geometry.values
        assert (shapely.hausdorff_distance(projected, expected.geometry.values) < 0.01).all()


def _rings(geometry: dict) -> list[tuple[list, list[list]]]:
    """(exterior, interiors) of every polygon of a GeoJSON geometry."""
    if geometry["type"] == "Polygon":
        return [(geometry["coordinates"][0], geometry["coordinates"][1:])]
    if geometry["type"] == "MultiPolygon":
        return [(polygon[0], polygon[1:]) for polygon in geometry["coordinates"]]
    return []


def _positions(coordinates) -> list:
    if isinstance(coordinates[0], (int, float)):
        return [coordinates]
    return [p for part in coordinates for p in _positions(part)]


@pytest.mark.parametrize("layer", list(SCHEMA))
def test_geojson_is_rfc7946(exported, source, layer: str) -> None:
    out, _ = exported
    doc = json.loads((out / "geojson" / f"{STEM}_{layer}.geojson").read_text())
    assert "crs" not in doc  # RFC 7946 has no crs member: WGS84 is implied
    features = doc["features"]
    assert [f["id"] for f in features] == source[layer].index.tolist()  # the GeoPackage fids
    positions = np.array([p for f in features for p in _positions(f["geometry"]["coordinates"])])
    assert (np.abs(positions[:, 0]) <= 180).all() and (np.abs(positions[:, 1]) <= 90).all()
    for feature in features:
        for exterior, interiors in _rings(feature["geometry"]):
            assert LinearRing(exterior).is_ccw, feature["id"]  # right-hand rule
            assert not any(LinearRing(ring).is_ccw for ring in interiors), feature["id"]
    first = source[layer].geometry.iloc[0].representative_point()
    lon, lat = Transformer.from_crs(source[layer].crs, 4326, always_xy=True).transform(first.x, first.y)
    back = shapely.geometry.shape(features[0]["geometry"])
    assert back.distance(Point(lon, lat)) < 1e-6  # longitude first


def test_shapefiles_hold_the_geopackage_with_renamed_fields(exported, source) -> None:
    out, _ = exported
    for layer, expected in source.items():
        shp = out / "shp" / f"{STEM}_{layer}.shp"
        back = pyogrio.read_dataframe(shp)
        assert _fields(back) == [SHAPEFILE_FIELDS.get(f, f) for f in _fields(expected)], layer
        assert len(back) == len(expected), layer
        assert back.crs == expected.crs, layer
        assert shp.with_suffix(".prj").is_file() and shp.with_suffix(".cpg").read_text().strip() == "UTF-8"
        renamed = expected.rename(columns=SHAPEFILE_FIELDS)
        for field in _fields(back):
            if back[field].dtype.kind == "f":
                assert np.allclose(back[field], renamed[field], rtol=1e-9), (layer, field)
            else:  # dBase cannot tell an empty text from a missing one
                assert back[field].fillna("").tolist() == renamed[field].tolist(), (layer, field)
        assert np.allclose(back.geometry.area, expected.geometry.area, rtol=1e-9), layer


def test_hazard_areas_csv_has_wkt_in_wgs84_and_every_field(exported, source) -> None:
    out, _ = exported
    csv = out / "csv" / f"{STEM}_hazard_areas.csv"
    assert csv.read_text().splitlines()[0].split(",")[0] == "WKT"
    back = pyogrio.read_dataframe(csv)
    expected = source["hazard_areas"]
    assert _fields(back) == ["WKT", *_fields(expected)] and len(back) == len(expected)  # GDAL keeps the WKT
    assert back["hazard_id"].tolist() == expected["hazard_id"].tolist()
    wgs84 = expected.to_crs(4326).geometry.values
    assert shapely.equals_exact(back.geometry.values, wgs84, tolerance=1e-9).all()


def test_submunitions_csv_points_reproject_onto_the_geopackage_within_a_centimetre(exported, source) -> None:
    out, _ = exported
    csv = out / "csv" / f"{STEM}_submunitions.csv"
    back = pyogrio.read_dataframe(csv)
    expected = source["submunitions"]
    assert list(back.columns) == ["longitude", "latitude", "easting", "northing", *_fields(expected)]
    assert len(back) == len(expected)
    x, y = Transformer.from_crs(4326, expected.crs, always_xy=True).transform(back["longitude"], back["latitude"])
    assert np.hypot(x - expected.geometry.x.values, y - expected.geometry.y.values).max() < 0.01
    assert np.abs(back["easting"] - expected.geometry.x.values).max() <= 0.0005
    assert np.abs(back["northing"] - expected.geometry.y.values).max() <= 0.0005
    assert np.allclose(back["confidence"], expected["confidence"])
    for line in csv.read_text().splitlines()[1:]:
        lon, lat = line.split(",")[:2]
        assert len(lon.partition(".")[2]) <= LONLAT_DECIMALS and len(lat.partition(".")[2]) <= LONLAT_DECIMALS


@pytest.fixture(scope="module")
def kml(exported) -> Path:
    if "LIBKML" not in pyogrio.list_drivers():
        pytest.skip("this GDAL has no LIBKML driver, so rams cannot write (or read) the KML export")
    return exported[0] / "kml" / f"{STEM}.kml"


def _kml_styles(kml: Path, layer: str) -> gpd.GeoDataFrame:
    """Placemark names and the style GDAL reads from each (OGR SQL's OGR_STYLE)."""
    sql = f'SELECT Name, OGR_STYLE FROM "{layer}"'
    return pyogrio.read_dataframe(kml, sql=sql, sql_dialect="OGRSQL", read_geometry=False)


def test_kml_is_one_file_with_a_folder_per_layer(kml, source) -> None:
    assert [str(name) for name, _ in pyogrio.list_layers(kml)] == list(SCHEMA)
    root = ET.parse(kml).getroot()
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    assert [f.find("k:name", ns).text for f in root.iterfind("k:Document/k:Folder", ns)] == list(SCHEMA)
    for layer, expected in source.items():
        info = pyogrio.read_info(kml, layer=layer)
        assert info["features"] == len(expected), layer
        assert info["crs"] == "EPSG:4326"
        assert set(_fields(expected)) <= set(info["fields"]), layer  # every field, none swallowed
        assert "OGR_STYLE" not in info["fields"], layer


def test_kml_placemarks_are_named(kml, source) -> None:
    names = {layer: _kml_styles(kml, layer)["Name"].tolist() for layer in SCHEMA}
    assert names["hazard_areas"] == source["hazard_areas"]["hazard_id"].tolist()
    assert names["submunitions"] == [f"submunition {n}" for n in range(1, len(source["submunitions"]) + 1)]
    assert names["trenches"] == [f"trench {n}" for n in source["trenches"].index]
    assert names["positions"] == [f"position {n}" for n in source["positions"].index]
    assert names["strike_footprints"] == [f"strike footprint {n}" for n in source["strike_footprints"]["footprint_id"]]
    assert set(PLACEMARK_NAMES) == set(SCHEMA)


def test_every_kml_placemark_has_its_layers_style(kml, source) -> None:
    orange = "#{:02X}{:02X}{:02X}".format(*SHA_ORANGE)
    for layer in SCHEMA:
        styles = _kml_styles(kml, layer)["OGR_STYLE"]
        assert len(styles) == len(source[layer]) and styles.str.len().gt(0).all(), layer
    hazards = _kml_styles(kml, "hazard_areas")["OGR_STYLE"]
    sha = source["hazard_areas"]["status"].eq("SHA").to_numpy()
    assert hazards[sha].str.contains(f"BRUSH(fc:{orange}66)", regex=False).all()  # filled, 40 %
    assert hazards[sha].str.contains(f"PEN(c:{orange}FF", regex=False).all()
    assert _kml_styles(kml, "submunitions")["OGR_STYLE"].str.startswith("SYMBOL(").all()
    assert _kml_styles(kml, "trenches")["OGR_STYLE"].str.contains("#8B4513", regex=False).all()


def test_sld_files_are_ogc_sld_named_after_their_layer(exported) -> None:
    out, _ = exported
    for layer in STYLED_LAYERS:
        root = ET.parse(out / "sld" / f"{STEM}_{layer}.sld").getroot()
        assert root.tag == "{http://www.opengis.net/sld}StyledLayerDescriptor" and root.get("version") == "1.0.0"
        assert root.findtext("{*}NamedLayer/{*}Name") == f"{STEM}_{layer}"


def test_every_contract_field_fits_a_shapefile() -> None:
    """Fails as soon as SCHEMA gains a field longer than 10 characters without a Shapefile name."""
    for layer, schema in SCHEMA.items():
        names = [SHAPEFILE_FIELDS.get(field, field) for field in schema.field_names]
        assert all(len(name) <= 10 for name in names), (layer, [n for n in names if len(n) > 10])
        assert len({n.lower() for n in names}) == len(names), layer
    contract = {field for schema in SCHEMA.values() for field in schema.field_names}
    assert set(SHAPEFILE_FIELDS) <= contract, "SHAPEFILE_FIELDS names fields the contract does not have"


@pytest.fixture
def small_gpkg(tmp_path: Path) -> Path:
    return write_geopackage(tmp_path / "small.gpkg", survey_layers(), {"flight_id": "f1"})


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_failure_half_way_leaves_nothing(tmp_path: Path) -> None:
    layers = survey_layers()
    layers["notes"] = gpd.GeoDataFrame({"a_very_long_field": [1]}, geometry=[Point(X0, Y0)], crs=CRS)
    gpkg = write_geopackage(tmp_path / "x.gpkg", layers, {})
    with pytest.raises(RamsError, match="a_very_long_field"):  # after every GeoJSON is written
        export_layers(gpkg, tmp_path / "out", formats=("geojson", "shp"))
    assert not (tmp_path / "out").exists()
    assert _leftovers(tmp_path) == []


def test_overwrite_replaces_only_a_complete_export(small_gpkg: Path, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("previous export")
    with pytest.raises(RamsError, match="exists"):
        export_layers(small_gpkg, out)
    assert [p.name for p in out.iterdir()] == ["old.txt"]

    def fail(*args, **kwargs):
        raise RamsError("sld", "injected failure")

    monkeypatch.setattr("rams.export.formats.layer_sld", fail)
    with pytest.raises(RamsError, match="injected failure"):
        export_layers(small_gpkg, out, overwrite=True)
    assert [p.name for p in out.iterdir()] == ["old.txt"] and _leftovers(tmp_path) == []
    monkeypatch.undo()
    written = export_layers(small_gpkg, out, formats=("csv",), overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["csv", "sld"] and all(p.is_file() for p in written)
    assert _leftovers(tmp_path) == []


def test_a_clashing_output_is_refused_before_anything_is_written(small_gpkg: Path, tmp_path: Path) -> None:
    clash = tmp_path / "clash"
    clash.write_text("a file, not a folder")
    with pytest.raises(RamsError, match="not a folder"):
        export_layers(small_gpkg, clash, overwrite=True)
    with pytest.raises(RamsError, match="holds the GeoPackage"):
        export_layers(small_gpkg, tmp_path, overwrite=True)  # would delete its own input
    with pytest.raises(RamsError, match="does not exist"):
        export_layers(small_gpkg, tmp_path / "missing" / "out")
    assert clash.read_text() == "a file, not a folder" and small_gpkg.is_file()
    assert _leftovers(tmp_path) == []


def test_not_a_survey_output_is_refused(tmp_path: Path) -> None:
    gpkg = write_geopackage(tmp_path / "x.gpkg", {"coverage": survey_layers()["coverage"]}, {})
    with pytest.raises(RamsError, match="lacks layers submunitions"):
        export_layers(gpkg, tmp_path / "out")


def test_unknown_format_is_refused(small_gpkg: Path, tmp_path: Path) -> None:
    with pytest.raises(RamsError, match="unknown export formats"):
        export_layers(small_gpkg, tmp_path / "out", formats=("dxf",))
