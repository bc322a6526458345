"""Exports of a survey GeoPackage for systems that do not read GeoPackage.

GeoJSON, KML and CSV are written in WGS84 (EPSG:4326, longitude/latitude): RFC 7946 requires it
for GeoJSON, KML is defined in it, and table-import systems expect it. Shapefiles keep the
survey's projected CRS (metres, with a ``.prj``) and shorten field names with ``SHAPEFILE_FIELDS``.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pyogrio

from rams.errors import RamsError
from rams.export.schema import METADATA_LAYER
from rams.export.styles import STYLES_TABLE

FORMATS = ("geojson", "shp", "kml", "csv")
# format -> (GDAL driver, written in WGS84, layer creation options)
_DRIVERS: dict[str, tuple[str, bool, dict[str, str]]] = {
    "geojson": ("GeoJSON", True, {"RFC7946": "YES"}),
    "shp": ("ESRI Shapefile", False, {"ENCODING": "UTF-8"}),
    "kml": ("KML", True, {}),
    "csv": ("CSV", True, {"GEOMETRY": "AS_WKT", "CREATE_CSVT": "YES"}),
}
WGS84 = "EPSG:4326"
CSV_LAYER = "hazard_areas"
_DBF_NAME_MAX = 10  # dBase field names are at most 10 characters

# Contract field → Shapefile field for every contract field longer than 10 characters (GDAL
# would otherwise truncate them, possibly into clashes). Shorter fields keep their names.
SHAPEFILE_FIELDS: dict[str, str] = {
    "max_confidence": "max_conf",
    "not_assessable_m2": "na_m2",
    "unimaged_m2": "unimg_m2",
    "outline_area_m2": "outl_m2",
    "evidence_count": "evid_cnt",
    "review_status": "review",
    "survey_date": "surv_date",
    "orientation_deg": "orient_deg",
    "munition_class": "mun_class",
    "footprint_id": "fp_id",
    "hazard_type": "haz_type",
}


def export_layers(
    gpkg_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    formats: tuple[str, ...] = FORMATS,
) -> list[Path]:
    """Export every spatial layer of ``gpkg_path`` into ``out_dir``; return the files written.

    Each format has its own subfolder, so sidecar files (a Shapefile's and a CSV's ``.prj``)
    never collide. Per layer ``L`` of a GeoPackage ``S.gpkg``: ``geojson/S_L.geojson``
    (RFC 7946, EPSG:4326); ``shp/S_L.shp`` (+ .shx/.dbf/.prj/.cpg; projected CRS; fields renamed
    by ``SHAPEFILE_FIELDS``); ``kml/S_L.kml`` (EPSG:4326); ``csv/S_hazard_areas.csv``: hazard
    areas only, geometry as a ``WKT`` column in EPSG:4326, with ``.csvt`` field types and ``.prj``.
    Empty layers are exported too, so the set of files does not depend on what was found.
    """
    gpkg_path, out_dir = Path(gpkg_path), Path(out_dir)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise RamsError(out_dir, f"unknown export formats {unknown}; known: {', '.join(FORMATS)}")
    if not gpkg_path.is_file():
        raise RamsError(gpkg_path, "no such GeoPackage")
    for fmt in formats:
        (out_dir / fmt).mkdir(parents=True, exist_ok=True)
    spatial = [
        (str(name), str(kind))
        for name, kind in pyogrio.list_layers(gpkg_path)
        if kind is not None and name not in (METADATA_LAYER, STYLES_TABLE)
    ]
    written: list[Path] = []
    for name, geometry_type in spatial:
        frame = pyogrio.read_dataframe(gpkg_path, layer=name)
        for fmt in formats:
            if fmt == "csv" and name != CSV_LAYER:
                continue
            driver, in_wgs84, options = _DRIVERS[fmt]
            target = out_dir / fmt / f"{gpkg_path.stem}_{name}.{fmt}"
            data = frame.to_crs(WGS84) if in_wgs84 else frame
            if fmt == "shp":
                data = _shapefile_fields(data, target)
            written.append(_write(data, target, driver, geometry_type, options))
    return written


def _shapefile_fields(frame: gpd.GeoDataFrame, shp: Path) -> gpd.GeoDataFrame:
    """``frame`` with fields renamed by ``SHAPEFILE_FIELDS``; refuses names that would not fit."""
    renamed = frame.rename(columns=SHAPEFILE_FIELDS)
    fields = [c for c in renamed.columns if c != renamed.geometry.name]
    too_long = [c for c in fields if len(c) > _DBF_NAME_MAX]
    if too_long:
        raise RamsError(
            shp,
            f"field names longer than {_DBF_NAME_MAX} characters and not in SHAPEFILE_FIELDS: "
            + ", ".join(too_long),
        )
    if len({c.lower() for c in fields}) < len(fields):
        raise RamsError(shp, f"field names clash after renaming: {fields}")
    return renamed


def _write(
    frame: gpd.GeoDataFrame,
    path: Path,
    driver: str,
    geometry_type: str,
    layer_options: dict[str, str] | None = None,
) -> Path:
    try:
        pyogrio.write_dataframe(
            frame,
            path,
            driver=driver,
            geometry_type=geometry_type,
            promote_to_multi=geometry_type.startswith("Multi"),
            layer_options=layer_options,
        )
    except (pyogrio.errors.DataSourceError, pyogrio.errors.FieldError, OSError) as err:
        raise RamsError(path, f"{driver} export failed: {err}") from err
    return path
