"""A small survey output with every contract layer, for the export tests."""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import MultiPolygon, Point, box

from rams.export import SCHEMA, empty_layer

CRS = "EPSG:32638"  # UTM 38N, metres
X0, Y0 = 500_000.0, 4_400_000.0


def survey_layers() -> dict[str, gpd.GeoDataFrame]:
    """Every contract layer; trenches and strike footprints empty, coverage mixing part counts."""
    layers = {name: empty_layer(name, CRS) for name in SCHEMA}
    layers["hazard_areas"] = gpd.GeoDataFrame(
        {
            "hazard_id": ["f1-CMR-1", "f1-FORT-1"],
            "hazard_type": ["CMR", "FORTIFICATION"],
            "status": ["SHA", "SHA"],
            "evidence_count": [3, 2],
            "max_confidence": [0.91, 0.8],
            "area_m2": [400.0, 600.0],
            "buffer_m": [25.0, 50.0],
            "not_assessable_m2": [0.0, 12.5],
            "unimaged_m2": [0.0, 40.0],
            "flight_id": ["f1", "f1"],
            "survey_date": ["2026-05-01", "2026-05-01"],
            "model": ["rams-unet-s", "rams-unet-s"],
            "review_status": ["unreviewed", "unreviewed"],
            "supersedes": ["", ""],
        },
        geometry=[box(X0, Y0, X0 + 20, Y0 + 20), box(X0 + 10, Y0, X0 + 40, Y0 + 20)],
        crs=CRS,
    )
    layers["submunitions"] = gpd.GeoDataFrame(
        {
            "evidence": ["indirect"] * 3,  # out of contract order on purpose
            "confidence": [0.91, 0.7, 0.55],
            "flight_id": ["f1"] * 3,
            "chip": ["chips/s1.png", "chips/s2.png", "chips/s3.png"],
            "munition_class": ["submunition"] * 3,
        },
        geometry=[Point(X0 + 5, Y0 + 5), Point(X0 + 8, Y0 + 6), Point(X0 + 12, Y0 + 9)],
        crs=CRS,
    )
    layers["positions"] = gpd.GeoDataFrame(
        {"area_m2": [16.0], "confidence": [0.8], "flight_id": ["f1"]},
        geometry=[box(X0 + 20, Y0 + 5, X0 + 24, Y0 + 9)],
        crs=CRS,
    )
    layers["coverage"] = gpd.GeoDataFrame(
        {"area_m2": [10_000.0, 200.0], "flight_id": ["f1", "f1"]},
        geometry=[
            box(X0 - 30, Y0 - 30, X0 + 70, Y0 + 70),
            MultiPolygon([box(X0 + 100, Y0, X0 + 110, Y0 + 10), box(X0 + 120, Y0, X0 + 130, Y0 + 10)]),
        ],
        crs=CRS,
    )
    layers["not_assessable"] = gpd.GeoDataFrame(
        {"reason": ["vegetation"], "area_m2": [100.0], "flight_id": ["f1"]},
        geometry=[box(X0 + 30, Y0, X0 + 40, Y0 + 10)],
        crs=CRS,
    )
    return layers
