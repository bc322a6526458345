"""The survey GeoPackage: contract layout, atomic writes, GDAL's validator, headless QGIS."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from export_fixtures import CRS, X0, Y0, survey_layers
from gis_clients import assert_gdal_validates, assert_qgis_finds_no_invalid_geometries, qgis_report
from shapely.geometry import LineString, MultiPolygon, Point, box

from rams.errors import RamsError
from rams.export import SCHEMA, SCHEMA_VERSION, empty_layer, write_geopackage


@pytest.fixture(scope="module")
def survey_gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gpkg") / "survey.gpkg"
    return write_geopackage(path, survey_layers(), {"flight_id": "f1", "model": "rams-unet-s"})


def test_layers_fields_and_geometry_types_follow_the_contract(survey_gpkg: Path) -> None:
    listed = {str(name): kind for name, kind in pyogrio.list_layers(survey_gpkg)}
    for name, schema in SCHEMA.items():
        info = pyogrio.read_info(survey_gpkg, layer=name)
        assert listed[name] == schema.geometry_type
        assert tuple(info["fields"]) == schema.field_names
        assert info["crs"] == CRS
    assert listed["metadata"] is None and listed["layer_styles"] is None
    empty = pyogrio.read_info(survey_gpkg, layer="strike_footprints")
    assert empty["features"] == 0
    assert empty["ogr_types"][:2] == ["OFTInteger64", "OFTInteger64"]
    submunitions = pyogrio.read_dataframe(survey_gpkg, layer="submunitions")
    assert submunitions["confidence"].tolist() == [0.91, 0.7, 0.55]
    coverage = pyogrio.read_dataframe(survey_gpkg, layer="coverage")
    assert set(coverage.geom_type) == {"MultiPolygon"}


def test_metadata_is_a_registered_attributes_table(survey_gpkg: Path) -> None:
    metadata = pyogrio.read_dataframe(survey_gpkg, layer="metadata")
    assert dict(zip(metadata["key"], metadata["value"], strict=True)) == {
        "schema_version": SCHEMA_VERSION,
        "flight_id": "f1",
        "model": "rams-unet-s",
    }
    contents = pyogrio.read_dataframe(
        survey_gpkg,
        sql="SELECT table_name, data_type FROM gpkg_contents ORDER BY table_name",
    )
    kinds = dict(zip(contents["table_name"], contents["data_type"], strict=True))
    assert kinds["metadata"] == "attributes"
    assert kinds["hazard_areas"] == "features"


def test_polygon_layer_with_a_multipart_area_is_promoted() -> None:
    layers = {"hazard_areas": survey_layers()["hazard_areas"]}
    layers["hazard_areas"].loc[1, "geometry"] = MultiPolygon(
        [box(X0, Y0, X0 + 1, Y0 + 1), box(X0 + 3, Y0, X0 + 4, Y0 + 1)]
    )
    (frame,) = [layers["hazard_areas"]]
    assert set(frame.geom_type) == {"Polygon", "MultiPolygon"}


def test_mixed_polygon_layer_is_written_as_multipolygon(tmp_path: Path) -> None:
    hazards = survey_layers()["hazard_areas"]
    hazards.loc[1, "geometry"] = MultiPolygon([box(X0, Y0, X0 + 1, Y0 + 1), box(X0 + 3, Y0, X0 + 4, Y0 + 1)])
    path = write_geopackage(tmp_path / "m.gpkg", {"hazard_areas": hazards}, {})
    assert pyogrio.read_info(path, layer="hazard_areas")["geometry_type"] == "MultiPolygon"
    assert set(pyogrio.read_dataframe(path, layer="hazard_areas").geom_type) == {"MultiPolygon"}


def test_unknown_layers_are_written_as_given(tmp_path: Path) -> None:
    extra = gpd.GeoDataFrame({"label": ["a"]}, geometry=[LineString([(X0, Y0), (X0 + 1, Y0 + 1)])], crs=CRS)
    path = write_geopackage(tmp_path / "u.gpkg", {"debug_lines": extra}, {"schema_version": "9"})
    assert pyogrio.read_info(path, layer="debug_lines")["fields"].tolist() == ["label"]
    assert pyogrio.read_dataframe(path, layer="metadata")["value"].tolist() == ["9"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["area_m2"]), "lacks contract fields area_m2"),
        (lambda f: f.assign(evidence_count=["x", "y"]), "wrong type"),
        (lambda f: f.set_geometry([Point(X0, Y0)] * 2, crs=CRS), "must hold Polygons, has Point"),
        (lambda f: f.to_crs("EPSG:4326"), "projected CRS"),
        (
            lambda f: f.set_geometry(
                [
                    box(X0, Y0, X0 + 1, Y0 + 1),
                    LineString([(0, 0), (1, 1), (1, 0), (0, 1)]).buffer(0).union(box(X0, Y0, X0 + 1, Y0 + 1)),
                ],
                crs=CRS,
            ).iloc[:1],
            None,
        ),
    ],
)
def test_contract_violations_are_one_line_errors(tmp_path: Path, change, message) -> None:
    hazards = change(survey_layers()["hazard_areas"])
    if message is None:  # a valid variant: must write
        write_geopackage(tmp_path / "ok.gpkg", {"hazard_areas": hazards}, {})
        return
    with pytest.raises(RamsError, match=message) as err:
        write_geopackage(tmp_path / "bad.gpkg", {"hazard_areas": hazards}, {})
    assert "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_invalid_geometry_is_refused(tmp_path: Path) -> None:
    from shapely.geometry import Polygon

    bowtie = Polygon([(X0, Y0), (X0 + 1, Y0 + 1), (X0 + 1, Y0), (X0, Y0 + 1)])
    hazards = survey_layers()["hazard_areas"]
    hazards.loc[0, "geometry"] = bowtie
    with pytest.raises(RamsError, match="1 invalid geometries"):
        write_geopackage(tmp_path / "bad.gpkg", {"hazard_areas": hazards}, {})


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = write_geopackage(tmp_path / "survey.gpkg", survey_layers(), {"run": "first"})
    before = path.read_bytes()
    layers = survey_layers()
    # Outside the contract, so it passes the checks and fails inside GDAL after the contract
    # layers are already in the temporary file.
    layers["zz_broken"] = gpd.GeoDataFrame(
        {"value": pd.Series([1 + 2j], dtype="complex128")}, geometry=[Point(X0, Y0)], crs=CRS
    )
    with pytest.raises(RamsError, match="writing layer 'zz_broken' failed") as err:
        write_geopackage(path, layers, {"run": "second"})
    assert "\n" not in str(err.value)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["survey.gpkg"]


def test_rewrite_replaces_the_file(tmp_path: Path) -> None:
    path = write_geopackage(tmp_path / "survey.gpkg", survey_layers(), {"run": "first"})
    write_geopackage(path, {"positions": empty_layer("positions", CRS)}, {"run": "second"})
    assert pyogrio.read_info(path, layer="positions")["features"] == 0
    assert "hazard_areas" not in pyogrio.list_layers(path)[:, 0]
    assert [p.name for p in tmp_path.iterdir()] == ["survey.gpkg"]


def test_gdal_conformance_validator_accepts_the_output(survey_gpkg: Path) -> None:
    assert_gdal_validates(survey_gpkg)


def test_qgis_opens_every_layer_with_the_embedded_styles(survey_gpkg: Path) -> None:
    report = qgis_report(survey_gpkg, list(SCHEMA))
    for name in SCHEMA:
        assert report[name]["valid"], name
        assert report[name]["count"] == len(survey_layers()[name]), name
    hazards = report["hazard_areas"]
    assert hazards["renderer"] == "categorizedSymbol"
    # #AARRGGBB: SHA orange, semi-transparent fill (CMR) and hatch lines (FORTIFICATION)
    assert hazards["colours"] == ["#66f4a718", "#fff4a718"]
    assert hazards["symbol"]["outline_style"] == "solid"
    assert report["submunitions"]["renderer"] == "singleSymbol"
    assert report["submunitions"]["colours"][0] == "#ffdc143c"
    assert report["trenches"]["symbol"]["line_color"].startswith("139,69,19")
    assert report["strike_footprints"]["symbol"]["outline_style"] == "dash"
    assert report["coverage"]["symbol"]["style"] == "no"
    assert report["not_assessable"]["symbol"]["style"] == "b_diagonal"
    assert report["positions"]["colours"][0].endswith("800080")


def test_qgis_finds_no_invalid_geometries(survey_gpkg: Path) -> None:
    assert_qgis_finds_no_invalid_geometries(survey_gpkg, {k: len(v) for k, v in survey_layers().items()})
