"""Write the survey output GeoPackage atomically, in the layout of the output contract."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from rams.errors import RamsError
from rams.export.schema import METADATA_LAYER, SCHEMA, SCHEMA_VERSION
from rams.export.styles import STYLES_TABLE, layer_styles_table

# GeoPackage 1.4 (the default of GDAL >= 3.7's writer) uses R-tree triggers that older readers
# and validators (e.g. GDAL 3.6) reject; 1.3 is read by every current GIS.
GPKG_VERSION = "1.3"
GEOMETRY_COLUMN = "geom"
_RESERVED = {METADATA_LAYER, STYLES_TABLE}


def write_geopackage(
    path: str | os.PathLike[str],
    layers: dict[str, gpd.GeoDataFrame],
    metadata: dict[str, str] | Callable[[], dict[str, str]],
    *,
    styles: bool = True,
    finish: Callable[[Path], None] | None = None,
) -> Path:
    """Write ``layers`` and a ``metadata`` key/value table to the GeoPackage ``path``; return it.

    Every layer goes into a temporary file in the same folder, which is then renamed over
    ``path``: a reader sees the old file or the new one, never a half-written one, and on any
    error the temporary file is removed and an existing ``path`` is left untouched.
    Layers named in ``SCHEMA`` are checked against it (missing fields and wrong geometry types
    are errors, except fields with a contract default, which are filled with it), cast to its
    field types and written in its field order, extra fields after (an integer ``fid`` field
    is the GeoPackage feature id);
    empty layers keep their geometry type and fields. Other layers are written as given.
    All layers must share one projected CRS (metres). ``metadata`` (or what it returns, called
    once the layers are written, so that it can hold the time spent writing them) gains
    ``schema_version`` unless given. With ``styles``, QGIS default styles go in ``layer_styles``.
    ``finish`` is called with the temporary file once all that is written and before the rename,
    for a caller's own tables (the reviews table): they appear with the layers or not at all.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise RamsError(path, "output folder does not exist")
    prepared = {name: _conform(path, name, frame) for name, frame in layers.items()}
    _check_one_projected_crs(path, layers)
    workdir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        temp = workdir / path.name
        step = "creating the file"
        try:
            options = {"VERSION": GPKG_VERSION}
            for name, (frame, geometry_type) in prepared.items():
                step = f"writing layer {name!r}"
                pyogrio.write_dataframe(
                    frame,
                    temp,
                    layer=name,
                    driver="GPKG",
                    geometry_type=geometry_type,
                    promote_to_multi=geometry_type.startswith("Multi"),
                    dataset_options=options,
                )
                options = {}
            if styles:
                step = "writing layer styles"
                rows = layer_styles_table({name: GEOMETRY_COLUMN for name in prepared})
                if len(rows):
                    pyogrio.write_dataframe(
                        rows, temp, layer=STYLES_TABLE, driver="GPKG", layer_options={"FID": "id"}
                    )
            step = "writing the metadata table"
            table = pd.DataFrame(
                list({"schema_version": SCHEMA_VERSION, **(metadata() if callable(metadata) else metadata)}.items()),
                columns=["key", "value"],
            ).astype({"key": "str", "value": "str"})
            pyogrio.write_dataframe(
                table, temp, layer=METADATA_LAYER, driver="GPKG", dataset_options=options
            )
        except Exception as err:  # whatever GDAL or pyogrio raise, one line naming the file
            raise RamsError(path, f"{step} failed: {err}") from err
        if finish is not None:
            finish(temp)
        with open(temp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return path


def _conform(path: Path, name: str, frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, str]:
    """``frame`` checked, cast and ordered to the contract, with its GeoPackage geometry type."""
    if name in _RESERVED:
        raise RamsError(path, f"layer name {name!r} is reserved for rams' own tables")
    if not isinstance(frame, gpd.GeoDataFrame) or frame._geometry_column_name not in frame:
        raise RamsError(path, f"layer {name!r} is not a GeoDataFrame with a geometry column")
    geometry = frame.geometry
    present = set(geometry[~geometry.is_empty & geometry.notna()].geom_type)
    invalid = int((~geometry.is_valid & geometry.notna()).sum())
    if invalid:
        raise RamsError(path, f"layer {name!r} has {invalid} invalid geometries")
    schema = SCHEMA.get(name)
    if schema is None:
        return frame, _inferred_type(present)
    frame = frame.assign(**{field: value for field, value in schema.defaults if field not in frame.columns})
    missing = [field for field in schema.field_names if field not in frame.columns]
    if missing:
        raise RamsError(path, f"layer {name!r} lacks contract fields {', '.join(missing)}")
    single = schema.geometry_type.removeprefix("Multi")
    allowed = {single, "Multi" + single}
    wrong = present - allowed
    if wrong:
        found = ", ".join(sorted(wrong))
        raise RamsError(path, f"layer {name!r} must hold {schema.geometry_type}s, has {found}")
    promote = schema.geometry_type.startswith("Multi") or "Multi" + single in present
    geometry_type = "Multi" + single if promote else single
    extras = [c for c in frame.columns if c not in schema.field_names and c != geometry.name]
    try:
        out = frame[[*schema.field_names, *extras, geometry.name]].astype(dict(schema.fields))
    except (ValueError, TypeError) as err:
        raise RamsError(path, f"layer {name!r} has a field of the wrong type: {err}") from err
    return out, geometry_type


def _inferred_type(present: set[str]) -> str:
    """GeoPackage geometry type for a layer outside the contract; mixed single/multi → multi."""
    if len(present) == 1:
        return present.pop()
    bases = {kind.removeprefix("Multi") for kind in present}
    return "Multi" + bases.pop() if len(bases) == 1 else "Unknown"


def _check_one_projected_crs(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    crs = {name: frame.crs for name, frame in layers.items()}
    for name, layer_crs in crs.items():
        if layer_crs is None or not layer_crs.is_projected:
            problem = f"layer {name!r} needs a projected CRS in metres, has {layer_crs}"
            raise RamsError(path, problem)
    if len({c.to_wkt() for c in crs.values()}) > 1:
        raise RamsError(path, "layers are in different CRSs; the output needs one")
