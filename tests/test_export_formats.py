"""GeoJSON, Shapefile, KML and CSV exports, each read back through GDAL."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from export_fixtures import CRS, X0, Y0, survey_layers
from shapely.geometry import Point

from rams.errors import RamsError
from rams.export import SCHEMA, SHAPEFILE_FIELDS, export_layers, write_geopackage


@pytest.fixture(scope="module")
def survey_gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("formats") / "survey.gpkg"
    return write_geopackage(path, survey_layers(), {"flight_id": "f1"})


@pytest.fixture(scope="module")
def exported(survey_gpkg: Path) -> list[Path]:
    return export_layers(survey_gpkg, survey_gpkg.parent / "out")


def test_every_layer_gets_every_format_and_csv_is_hazard_areas_only(exported: list[Path]) -> None:
    names = sorted(f"{p.parent.name}/{p.name}" for p in exported)
    assert names == sorted(
        [f"{ext}/survey_{layer}.{ext}" for layer in SCHEMA
         for ext in ("geojson", "shp", "kml")] + ["csv/survey_hazard_areas.csv"]
    )  # fmt: skip
    assert all(p.is_file() for p in exported)


@pytest.mark.parametrize("ext", ["geojson", "kml", "csv"])
def test_wgs84_formats_round_trip(survey_gpkg: Path, exported: list[Path], ext: str) -> None:
    source = pyogrio.read_dataframe(survey_gpkg, layer="hazard_areas")
    back = pyogrio.read_dataframe(survey_gpkg.parent / "out" / ext / f"survey_hazard_areas.{ext}")
    assert len(back) == len(source)
    assert back["hazard_id"].tolist() == source["hazard_id"].tolist()
    assert back["hazard_type"].tolist() == ["CMR", "FORTIFICATION"]
    assert back["max_confidence"].astype(float).tolist() == [0.91, 0.8]
    if ext != "csv":  # the CSV's WKT column carries no CRS
        assert back.crs.to_epsg() == 4326
    expected = source.to_crs("EPSG:4326").geometry
    assert shapely.equals_exact(back.set_crs(None, allow_override=True).geometry.values,
                                expected.values, tolerance=1e-6).all()  # fmt: skip


def test_geojson_is_rfc7946(exported: list[Path]) -> None:
    text = next(p for p in exported if p.name == "survey_submunitions.geojson").read_text()
    assert '"crs"' not in text  # RFC 7946 has no crs member: WGS84 is implied
    lon, lat = pyogrio.read_dataframe(text).geometry[0].coords[0]
    assert 44 < lon < 46 and 39 < lat < 41  # UTM 38N, 500 km easting: 45° E


def test_shapefile_round_trips_with_renamed_fields(survey_gpkg: Path, exported: list[Path]) -> None:
    shp = next(p for p in exported if p.name == "survey_hazard_areas.shp")
    info = pyogrio.read_info(shp)
    expected = [SHAPEFILE_FIELDS.get(f, f) for f in SCHEMA["hazard_areas"].field_names]
    assert info["fields"].tolist() == expected
    assert all(len(f) <= 10 for f in expected)
    assert info["crs"] == CRS
    back = pyogrio.read_dataframe(shp)
    source = pyogrio.read_dataframe(survey_gpkg, layer="hazard_areas")
    assert back["max_conf"].tolist() == source["max_confidence"].tolist()
    assert back["na_m2"].tolist() == source["not_assessable_m2"].tolist()
    assert back["evid_cnt"].tolist() == source["evidence_count"].tolist()
    assert back["surv_date"].tolist() == ["2026-05-01", "2026-05-01"]
    assert back.geometry.area.round(6).tolist() == [400.0, 600.0]
    points = pyogrio.read_dataframe(shp.with_name("survey_submunitions.shp"))
    assert points.columns.tolist()[:4] == ["confidence", "flight_id", "chip", "mun_class"]
    empty = pyogrio.read_info(shp.with_name("survey_trenches.shp"))
    assert empty["features"] == 0 and empty["geometry_type"] == "LineString"


def test_every_contract_field_fits_a_shapefile() -> None:
    for schema in SCHEMA.values():
        for field in schema.field_names:
            assert len(SHAPEFILE_FIELDS.get(field, field)) <= 10, field


def test_long_field_outside_the_map_is_refused(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"a_very_long_field": [1]}, geometry=[Point(X0, Y0)], crs=CRS)
    gpkg = write_geopackage(tmp_path / "x.gpkg", {"notes": frame}, {})
    with pytest.raises(RamsError, match="a_very_long_field"):
        export_layers(gpkg, tmp_path / "out", formats=("shp",))


def test_unknown_format_is_refused(survey_gpkg: Path, tmp_path: Path) -> None:
    with pytest.raises(RamsError, match="unknown export formats"):
        export_layers(survey_gpkg, tmp_path, formats=("dxf",))
