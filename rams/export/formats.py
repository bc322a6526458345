"""Exports of a survey GeoPackage for systems that do not read GeoPackage, in one folder.

GeoJSON, KML and CSV are written in WGS84 (EPSG:4326, longitude/latitude): RFC 7946 requires it
for GeoJSON, KML is defined in it, and table-import systems expect it. Shapefiles and
FlatGeobuf keep the survey's projected CRS (metres). Every layer and field comes from the
GeoPackage, which holds them as :data:`rams.export.schema.SCHEMA` defines; Shapefiles shorten
field names with ``SHAPEFILE_FIELDS``. SLD styles for every styled layer are written beside.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from rams.errors import RamsError, refuse_existing
from rams.export.schema import METADATA_LAYER, SCHEMA
from rams.export.styles import STYLED_LAYERS, STYLES_TABLE, feature_styles, layer_sld
from rams.outputs import move_folder_into_place

# format → the GDAL driver writing it
DRIVERS = {"geojson": "GeoJSON", "shp": "ESRI Shapefile", "kml": "LIBKML", "csv": "CSV", "fgb": "FlatGeobuf"}
FORMATS = tuple(DRIVERS)
WGS84 = "EPSG:4326"
CSV_LAYERS = ("hazard_areas", "submunitions")
LONLAT_DECIMALS = 7  # 1e-7° is at most 1.1 cm on the ground
EASTING_NORTHING_DECIMALS = 3  # millimetres
_DBF_NAME_MAX = 10  # dBase field names are at most 10 characters
_FID = "rams_fid"  # the GeoPackage fid, carried into GeoJSON as each feature's id
_KML_NS = "http://www.opengis.net/kml/2.2"
_OGR_STYLE = "OGR_STYLE"  # the field GDAL reads a feature's style string from
# Field names GDAL's LIBKML writer maps to KML elements → the configuration option renaming each
_LIBKML_SPECIAL_FIELDS = {
    **{f: f"LIBKML_{f.upper()}_FIELD" for f in (
        "description", "timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude", "visibility",
        "drawOrder", "icon", "snippet", "heading", "tilt", "roll", "model", "scale_x", "scale_y", "scale_z",
        "networklink", "photooverlay", "leftfov", "rightfov", "bottomfov", "topfov",
        "camera_longitude", "camera_latitude", "camera_altitude", "camera_altitudemode")},
    "near": "LIBKML_NEARFOV_FIELD",
    "shape": "LIBKML_PHOTOOVERLAY_SHAPE_FIELD",
}

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
    "reviewed_at": "review_at",
    "proposed_status": "proposed",
}

# layer → (placemark name prefix, field numbering the placemark; None: the GeoPackage fid).
# Hazard areas are named by their hazard_id alone.
PLACEMARK_NAMES: dict[str, tuple[str, str | None]] = {
    "submunitions": ("submunition", None),
    "trenches": ("trench", None),
    "positions": ("position", None),
    "strike_footprints": ("strike footprint", "footprint_id"),
    "hazard_areas": ("", "hazard_id"),
    "coverage": ("coverage", None),
    "not_assessable": ("not assessable", None),
}


def export_layers(
    gpkg_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    formats: tuple[str, ...] = FORMATS,
    *,
    overwrite: bool = False,
) -> list[Path]:
    """Export every layer of the survey GeoPackage ``gpkg_path`` into the folder ``out_dir``.

    Returns the files written (one per layer and format; sidecars such as a Shapefile's
    ``.dbf`` are not listed). For a GeoPackage ``S.gpkg`` with layers ``L``, under ``out_dir``:

    - ``geojson/S_L.geojson``: RFC 7946 (EPSG:4326, lon/lat, exterior rings counter-clockwise,
      7 decimals); each feature's ``id`` is its fid in the GeoPackage.
    - ``shp/S_L.shp`` (+ .shx/.dbf/.prj/.cpg): the survey's projected CRS (m), UTF-8, fields
      renamed by ``SHAPEFILE_FIELDS``.
    - ``kml/S.kml``: one file, one Folder per layer (GDAL's LIBKML driver), EPSG:4326; placemarks
      named by ``PLACEMARK_NAMES`` and styled as the layer's QGIS style.
    - ``csv/S_hazard_areas.csv``: geometry as a ``WKT`` column in EPSG:4326, then every field;
      ``csv/S_submunitions.csv``: ``longitude``, ``latitude`` (EPSG:4326, 7 decimals),
      ``easting``, ``northing`` (projected CRS, m), then every field. ``.csvt`` field types beside.
    - ``fgb/S_L.fgb``: FlatGeobuf, projected CRS (m).
    - ``sld/S_L.sld``: OGC SLD 1.0 style of each styled layer, whatever the ``formats``.

    Contract layers come first, in ``SCHEMA`` order, then any other spatial layer; empty layers
    are exported too, so the set of files does not depend on what was found. The export is
    atomic: everything is written into a temporary folder beside ``out_dir`` that is renamed
    into place once complete; on any error it is removed and nothing is left. An existing
    ``out_dir`` is refused (`RamsError`) unless ``overwrite``, when it is replaced only after
    the new export is complete.
    """
    gpkg_path, out_dir = Path(gpkg_path), Path(out_dir)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise RamsError(out_dir, f"unknown export formats {unknown}; known: {', '.join(FORMATS)}")
    if not gpkg_path.is_file():
        raise RamsError(gpkg_path, "no such GeoPackage")
    writable = pyogrio.list_drivers(write=True)
    lacking = [f"{fmt} ({DRIVERS[fmt]})" for fmt in formats if DRIVERS[fmt] not in writable]
    if lacking:
        raise RamsError(out_dir, f"this GDAL cannot write {', '.join(lacking)}: leave them out of the formats")
    _check_out_dir(gpkg_path, out_dir, overwrite)
    layers = _survey_layers(gpkg_path)
    workdir = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        written = _write_formats(layers, gpkg_path.stem, workdir, formats)
        written += _write_slds(layers, gpkg_path.stem, workdir)
        move_folder_into_place(workdir, out_dir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return [out_dir / path.relative_to(workdir) for path in written]


def _check_out_dir(gpkg_path: Path, out_dir: Path, overwrite: bool) -> None:
    if not out_dir.parent.is_dir():
        raise RamsError(out_dir, "the folder it would go in does not exist")
    if out_dir.exists() and not out_dir.is_dir():
        raise RamsError(out_dir, "exists and is not a folder")
    if gpkg_path.resolve().is_relative_to(out_dir.resolve()):
        raise RamsError(out_dir, f"holds the GeoPackage {gpkg_path.name}: export to another folder")
    refuse_existing(out_dir, overwrite=overwrite)


def _survey_layers(gpkg_path: Path) -> dict[str, tuple[gpd.GeoDataFrame, str]]:
    """Spatial layers → (frame indexed by fid, geometry type); contract layers first."""
    try:
        listed = {str(name): str(kind) for name, kind in pyogrio.list_layers(gpkg_path) if kind is not None}
    except pyogrio.errors.DataSourceError as err:
        raise RamsError(gpkg_path, f"not a GeoPackage GDAL can read: {err}") from err
    missing = [name for name in SCHEMA if name not in listed]
    if missing:
        raise RamsError(gpkg_path, f"not a rams survey output: lacks layers {', '.join(missing)}")
    names = [*SCHEMA, *(n for n in listed if n not in SCHEMA and n not in (METADATA_LAYER, STYLES_TABLE))]
    return {name: (pyogrio.read_dataframe(gpkg_path, layer=name, fid_as_index=True), listed[name])
            for name in names}


def _write_formats(
    layers: dict[str, tuple[gpd.GeoDataFrame, str]], stem: str, workdir: Path, formats: tuple[str, ...]
) -> list[Path]:
    written: list[Path] = []
    for fmt in formats:
        folder = workdir / fmt
        folder.mkdir()
        if fmt == "kml":
            written.append(_write_kml(layers, folder / f"{stem}.kml", stem))
            continue
        for name, (frame, geometry_type) in layers.items():
            target = folder / f"{stem}_{name}.{fmt}"
            if fmt == "geojson":
                data = frame.to_crs(WGS84).assign(**{_FID: frame.index})
                options = {"RFC7946": "YES", "ID_FIELD": _FID, "WRITE_NAME": "NO"}
                written.append(_write(data, target, DRIVERS[fmt], geometry_type, options))
            elif fmt == "shp":
                data = _shapefile_fields(frame, target)
                written.append(_write(data, target, DRIVERS[fmt], geometry_type, {"ENCODING": "UTF-8"}))
            elif fmt == "fgb":
                written.append(_write(frame, target, DRIVERS[fmt], geometry_type))
            elif name == "hazard_areas":
                options = {"GEOMETRY": "AS_WKT", "CREATE_CSVT": "YES"}
                written.append(_write(frame.to_crs(WGS84), target, DRIVERS[fmt], geometry_type, options))
            elif name == "submunitions":
                written.append(_write(_point_table(frame), target, DRIVERS[fmt], None, {"CREATE_CSVT": "YES"}))
    return written


def _point_table(frame: gpd.GeoDataFrame) -> pd.DataFrame:
    """Points as longitude/latitude (EPSG:4326) and easting/northing (their projected CRS, m)
    columns, then every field of ``frame``."""
    lonlat = frame.geometry.to_crs(WGS84)
    columns = {
        "longitude": lonlat.x.round(LONLAT_DECIMALS),
        "latitude": lonlat.y.round(LONLAT_DECIMALS),
        "easting": frame.geometry.x.round(EASTING_NORTHING_DECIMALS),
        "northing": frame.geometry.y.round(EASTING_NORTHING_DECIMALS),
    }
    return pd.DataFrame(columns).join(pd.DataFrame(frame.drop(columns=frame.geometry.name)))


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


def placemark_names(layer: str, frame: pd.DataFrame) -> list[str]:
    """KML placemark names of the rows of ``frame`` (layer ``layer``, indexed by fid), by
    ``PLACEMARK_NAMES``: ``"submunition 3"``, ``"strike footprint 1"``, a hazard area's id."""
    prefix, field = PLACEMARK_NAMES.get(layer, (layer, None))
    numbers = frame.index if field is None else frame[field]
    return [f"{prefix} {n}".strip() for n in numbers]


def _write_kml(layers: dict[str, tuple[gpd.GeoDataFrame, str]], path: Path, title: str) -> Path:
    """One KML file, one Folder per layer, each placemark named and with an inline style."""
    fields = {c for frame, _ in layers.values() for c in frame.columns}
    # GDAL's LIBKML writer takes fields of these names for KML elements (a `model` field would
    # become a 3D model's URL and vanish from the data): point them at names no layer has
    specials = {_LIBKML_SPECIAL_FIELDS[f]: f"rams_no_{f}" for f in fields if f in _LIBKML_SPECIAL_FIELDS}
    before = {option: pyogrio.get_gdal_config_option(option) for option in specials}
    pyogrio.set_gdal_config_options(specials)
    try:
        for name, (frame, geometry_type) in layers.items():
            data = _kml_integers(frame.to_crs(WGS84))
            data.insert(0, "name", placemark_names(name, frame))
            data[_OGR_STYLE] = feature_styles(name, frame)
            _write(data, path, DRIVERS["kml"], geometry_type, {"FOLDER": "YES"}, {"NAME": title}, layer=name)
    finally:
        pyogrio.set_gdal_config_options(before)
    _drop_kml_field(path, _OGR_STYLE)
    return path


def _kml_integers(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """64-bit integer fields as 32-bit where they fit: KML's schema types have no 64-bit
    integer, and GDAL would declare them as strings."""
    small = [c for c in frame.columns if frame[c].dtype == "int64"
             and frame[c].between(-(2**31), 2**31 - 1).all()]
    return frame.astype({c: "int32" for c in small})


def _drop_kml_field(path: Path, field: str) -> None:
    """Remove ``field`` from a KML's schemas and data: GDAL writes the style-string field both
    as the placemark's ``<Style>`` and as data, where a viewer would show it in every balloon."""
    ET.register_namespace("", _KML_NS)
    tree = ET.parse(path)
    for parent in tree.iter():
        for child in list(parent):
            if child.tag in (f"{{{_KML_NS}}}SimpleField", f"{{{_KML_NS}}}SimpleData") and child.get("name") == field:
                parent.remove(child)
    ET.indent(tree, space="  ")
    tree.write(path, encoding="UTF-8", xml_declaration=True)


def _write_slds(layers: dict[str, tuple[gpd.GeoDataFrame, str]], stem: str, workdir: Path) -> list[Path]:
    folder = workdir / "sld"
    folder.mkdir()
    written = []
    for name in layers:
        if name in STYLED_LAYERS:
            path = folder / f"{stem}_{name}.sld"
            path.write_text(layer_sld(name, f"{stem}_{name}"), encoding="utf-8")
            written.append(path)
    return written


def _write(
    frame: pd.DataFrame,
    path: Path,
    driver: str,
    geometry_type: str | None,
    layer_options: dict[str, str] | None = None,
    dataset_options: dict[str, str] | None = None,
    *,
    layer: str | None = None,
) -> Path:
    try:
        pyogrio.write_dataframe(
            frame,
            path,
            layer=layer,
            driver=driver,
            geometry_type=geometry_type,
            promote_to_multi=bool(geometry_type and geometry_type.startswith("Multi")),
            layer_options=layer_options,
            dataset_options=dataset_options,
        )
    except (pyogrio.errors.DataSourceError, pyogrio.errors.FieldError, OSError) as err:
        raise RamsError(path, f"{driver} export failed: {err}") from err
    return path
