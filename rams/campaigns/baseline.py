"""The baseline of a survey campaign: what the merged survey layers say about each task polygon.

A campaign merges many flights into one set of survey layers (rams.export.schema: ``coverage``,
``not_assessable``, ``submunitions``, ``hazard_areas``), all in one projected CRS (metres). Its
baseline is one row per task polygon (a clearance task, a district, a grid cell) and the same
figures for the campaign as a whole:

- ``task_area_m2``: the task's area;
- ``imaged_m2`` / ``imaged_share``: ground the flights imaged, in m² and as a share (0-1) of
  the task's area; overlapping flights count once;
- ``assessable_m2`` / ``assessable_share``: imaged ground less the ground imaged but not
  assessable (``not_assessable``); unimaged or unassessable ground is never read as clear;
- ``cmr_area_m2``: hazard areas of type ``CMR`` or ``CMR+FORTIFICATION`` (CMR ground is always
  counted apart from other evidence); ``fortification_area_m2``: ``FORTIFICATION`` or
  ``CMR+FORTIFICATION``. A ``CMR+FORTIFICATION`` area counts in both;
- ``submunitions_confirmed``: submunitions a person confirmed; ``submunitions_unreviewed``:
  those still ``unreviewed`` or marked ``unsure``; ``rejected`` ones count nowhere. A point on a
  task's border counts in the task (``covers``), on the shared border of two tasks in both;
- ``task_to_cmr_ratio``: task area / CMR area, NaN where the task holds no CMR area.

The campaign totals are taken over the union of the task polygons, so ground (or a point) in
two overlapping tasks counts once. Areas are m² in the layers' projected CRS; shares are 0-1.
Intersection areas under ``AREA_NOISE_M2`` (float noise where a polygon only touches a task)
count as 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from rams.errors import RamsError, gdal_message, is_gdal_error
from rams.hazards.areas import CMR_GROUND, FORTIFICATION_GROUND, HAZARD_TYPES

#: The baseline's fields, ``(name, pandas dtype)`` in column order (the geometry follows).
#: Areas are m² in the layers' projected CRS, shares 0-1, counts of submunition points.
BASELINE_FIELDS: tuple[tuple[str, str], ...] = (
    ("task", "str"),
    ("task_area_m2", "float64"),
    ("imaged_m2", "float64"),
    ("imaged_share", "float64"),  # imaged_m2 / task_area_m2
    ("assessable_m2", "float64"),  # imaged less not assessable
    ("assessable_share", "float64"),  # assessable_m2 / task_area_m2
    ("cmr_area_m2", "float64"),  # hazard areas CMR or CMR+FORTIFICATION
    ("fortification_area_m2", "float64"),  # hazard areas FORTIFICATION or CMR+FORTIFICATION
    ("submunitions_confirmed", "int64"),
    ("submunitions_unreviewed", "int64"),  # unreviewed or unsure; rejected count nowhere
    ("task_to_cmr_ratio", "float64"),  # task_area_m2 / cmr_area_m2; NaN without CMR area
)

#: The survey layers a baseline reads (rams.export.schema).
BASELINE_LAYERS: tuple[str, ...] = ("coverage", "not_assessable", "submunitions", "hazard_areas")

#: Polygons with more vertices than this are cut into pieces before intersecting (speed only).
DICE_VERTICES = 256
_DICE_DEPTH = 40

#: Intersection areas below this (m²) are float noise of polygons that only touch, and count as 0.
AREA_NOISE_M2 = 1e-6

CONFIRMED: tuple[str, ...] = ("confirmed",)
UNREVIEWED: tuple[str, ...] = ("unreviewed", "unsure")
REVIEW_STATES: tuple[str, ...] = ("unreviewed", "confirmed", "rejected", "unsure")

_POLYGON_IDS = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)
_COLLECTION_IDS = (shapely.GeometryType.MULTIPOLYGON, shapely.GeometryType.GEOMETRYCOLLECTION)
# Layer geometry types that may hold polygons among other things (GeoJSON, generic GeoPackage).
_GENERIC_TYPES = ("Unknown", "Geometry", "GeometryCollection")
_NAMES_SHOWN = 5


# --------------------------------------------------------------------------------------------
# Task polygons
# --------------------------------------------------------------------------------------------


def read_tasks(path: str | Path, field: str, crs: object, layer: str | None = None) -> gpd.GeoDataFrame:
    """Task polygons from any polygon layer GDAL reads (GeoPackage, Shapefile, GeoJSON, ...).

    ``field`` names each task (values become text); ``crs`` (anything pyproj accepts, projected:
    the survey layers' CRS) is the CRS the polygons are reprojected to; ``layer`` picks a layer
    of a multi-layer source, which otherwise must hold exactly one polygon layer. Returns a
    GeoDataFrame with columns ``task`` (str) and ``geometry`` (valid Polygon / MultiPolygon, in
    ``crs``), one row per feature in the file's order.

    Raises RamsError(path, one line) for a file GDAL cannot read, no polygon layer or several
    (naming them), a missing field (naming the fields there are), features without a name,
    duplicate names, a layer without a CRS, features with no geometry, non-polygon geometries,
    zero-area polygons, or polygons that do not reproject into ``crs``. Raises ValueError if
    ``crs`` is not a projected CRS.
    """
    target = _projected_crs(crs)
    name = _polygon_layer(path, layer)
    try:
        frame = pyogrio.read_dataframe(path, layer=name)
    except Exception as err:
        if not is_gdal_error(err):
            raise
        raise RamsError(path, f"GDAL cannot read layer {name!r}: {gdal_message(err)}") from err
    where = f"layer {name!r}"
    if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame:
        raise RamsError(path, f"{where} has no geometry: task polygons are needed")
    if field not in frame.columns or field == frame.geometry.name:
        fields = [c for c in frame.columns if c != frame.geometry.name]
        raise RamsError(path, f"{where} has no field {field!r}; its fields: {', '.join(fields) or 'none'}")
    if frame.empty:
        raise RamsError(path, f"{where} holds no features: task polygons are needed")

    tasks = _task_names(frame[field])
    blank = tasks.isna()
    if blank.any():
        raise RamsError(path, f"{where}: {int(blank.sum())} feature(s) have no name in field {field!r}")
    duplicated = tasks[tasks.duplicated()].unique()
    if len(duplicated):
        raise RamsError(path, f"{where}: duplicate task names in field {field!r}: {_listed(duplicated)}")
    if frame.crs is None:
        raise RamsError(
            path, f"{where} has no CRS: say which CRS its coordinates are in (a Shapefile's .prj, for one)"
        )

    geoms = np.asarray(frame.geometry.values, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        raise RamsError(path, f"{where}: task(s) with no geometry: {_listed(tasks[missing])}")
    other = ~np.isin(shapely.get_type_id(geoms), _POLYGON_IDS)
    if other.all():
        kinds = sorted({g.geom_type for g in geoms})
        raise RamsError(path, f"{where} holds no polygons ({', '.join(kinds)}): task polygons are needed")
    if other.any():
        raise RamsError(path, f"{where}: task(s) that are not polygons: {_listed(tasks[other])}")

    try:
        projected = frame.geometry.to_crs(target)
    except Exception as err:
        if not is_gdal_error(err):
            raise
        raise RamsError(path, f"{where} does not reproject to {target.name}: {gdal_message(err)}") from err
    geoms = shapely.force_2d(np.asarray(projected.values, dtype=object))
    outside = ~np.isfinite(shapely.bounds(geoms)).all(axis=1)
    if outside.any():
        raise RamsError(path, f"{where}: task(s) outside the area of {target.name}: {_listed(tasks[outside])}")
    geoms = _valid_polygonal(geoms)
    flat = shapely.is_empty(geoms) | (shapely.area(geoms) <= AREA_NOISE_M2)
    if flat.any():
        raise RamsError(path, f"{where}: task(s) with no area: {_listed(tasks[flat])}")
    return gpd.GeoDataFrame(
        {"task": pd.Series(tasks.to_numpy(), dtype="str")}, geometry=gpd.GeoSeries(geoms, crs=target)
    )


def _projected_crs(crs: object) -> CRS:
    target = CRS.from_user_input(crs)
    if not target.is_projected:
        raise ValueError(f"task polygons go into a projected CRS (metres), not {target.name}")
    return target


def _polygon_layer(path: str | Path, layer: str | None) -> str:
    """The layer of ``path`` to read tasks from: ``layer``, else its only polygon layer."""
    try:
        listed = [(str(name), str(kind) if kind is not None else None) for name, kind in pyogrio.list_layers(path)]
    except Exception as err:
        if not is_gdal_error(err):
            raise
        raise RamsError(path, f"not a vector file GDAL can read: {gdal_message(err)}") from err
    spatial = [(name, kind) for name, kind in listed if kind is not None]
    described = ", ".join(f"{name} ({kind})" for name, kind in spatial) or "none"
    if layer is not None:
        kinds = dict(listed)
        if layer not in kinds:
            raise RamsError(path, f"has no layer {layer!r}; its layers: {', '.join(kinds) or 'none'}")
        kind = kinds[layer]
        if kind is None or not (_is_polygonal(kind) or _is_generic(kind)):
            raise RamsError(path, f"layer {layer!r} is not a polygon layer ({kind or 'no geometry'})")
        return layer
    polygonal = [name for name, kind in spatial if _is_polygonal(kind)]
    if not polygonal:  # a layer of any geometry may still hold polygons only
        polygonal = [name for name, kind in spatial if _is_generic(kind)]
    if len(polygonal) == 1:
        return polygonal[0]
    if not polygonal:
        raise RamsError(path, f"holds no polygon layer; its layers: {described}")
    raise RamsError(path, f"holds several polygon layers ({', '.join(polygonal)}): name the one to read")


def _is_polygonal(kind: str) -> bool:
    return "Polygon" in kind or "Surface" in kind


def _is_generic(kind: str) -> bool:
    return kind.split()[0] in _GENERIC_TYPES


def _task_names(values: pd.Series) -> pd.Series:
    """Task names as text (whole-number floats without ``.0``); NaN for missing or blank names."""
    if pd.api.types.is_float_dtype(values) and values.dropna().mod(1).eq(0).all():
        values = values.astype("Int64")
    names = pd.Series([None if pd.isna(v) else str(v).strip() for v in values], dtype=object)
    return names.where(names.ne("") & names.notna(), np.nan)


def _listed(names: Iterable[object]) -> str:
    names = [str(n) for n in names]
    shown = ", ".join(names[:_NAMES_SHOWN])
    return shown if len(names) <= _NAMES_SHOWN else f"{shown} and {len(names) - _NAMES_SHOWN} more"


def _valid_polygonal(geoms: np.ndarray) -> np.ndarray:
    """Valid (Multi)Polygons of ``geoms``: repaired, keeping the polygonal parts only."""
    invalid = ~shapely.is_valid(geoms)
    if not invalid.any():
        return geoms
    geoms = geoms.copy()
    try:  # shapely >= 2.1: overlapping parts are unioned, collapsed parts dropped
        geoms[invalid] = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
    except (TypeError, ValueError):
        geoms[invalid] = shapely.make_valid(geoms[invalid])
    for i in np.flatnonzero(~np.isin(shapely.get_type_id(geoms), _POLYGON_IDS)):
        parts = _polygon_parts(geoms[i])  # a collection, or nothing left but lines or points
        geoms[i] = shapely.union_all(parts) if len(parts) else shapely.Polygon()
    return geoms


def _polygon_parts(geoms: object) -> np.ndarray:
    """The non-empty polygons of ``geoms`` (a geometry or an array), collections flattened."""
    geoms = np.atleast_1d(np.asarray(geoms, dtype=object))
    return _exploded(geoms, np.zeros(len(geoms), dtype=np.int64))[0]


# --------------------------------------------------------------------------------------------
# Baseline
# --------------------------------------------------------------------------------------------


def baseline(tasks: gpd.GeoDataFrame, layers: Mapping[str, gpd.GeoDataFrame]) -> tuple[gpd.GeoDataFrame, dict]:
    """The campaign baseline: what the merged survey ``layers`` say about each task polygon.

    ``tasks``: a GeoDataFrame with a ``task`` column and valid (Multi)Polygons (read_tasks gives
    one); ``layers``: the merged survey layers ``coverage``, ``not_assessable``, ``submunitions``
    (field ``review_status``; missing → unreviewed) and ``hazard_areas`` (field ``hazard_type``),
    all in the tasks' projected CRS (metres). Pure: nothing is read or written.

    Returns ``(rows, totals)``: ``rows`` has one row per task, in the tasks' order, with the
    columns of ``BASELINE_FIELDS`` and the task geometry; ``totals`` holds ``tasks`` (the number
    of tasks) and every other field of ``BASELINE_FIELDS`` for the union of the task polygons, so
    that ground or a point in two overlapping tasks counts once. Areas are m², shares 0-1,
    ``task_to_cmr_ratio`` NaN where there is no CMR area.

    Raises ValueError for a missing layer or column, CRSs that differ or are not projected,
    invalid task geometries, or review states and hazard types outside the contract.
    """
    missing = [name for name in BASELINE_LAYERS if name not in layers]
    if missing:
        raise ValueError(f"survey layers missing: {', '.join(missing)}")
    if "task" not in tasks.columns:
        raise ValueError("tasks need a 'task' column")
    crs = _common_crs(tasks, layers)
    names = pd.Series(tasks["task"].to_numpy(), dtype="str")
    task_geoms = np.asarray(tasks.geometry.values, dtype=object)
    bad = shapely.is_missing(task_geoms) | ~shapely.is_valid(task_geoms)
    if bad.any():
        raise ValueError(f"tasks without a valid geometry: {_listed(names[bad])}")

    imaged = _union(layers["coverage"])
    assessable = shapely.difference(imaged, _union(layers["not_assessable"]))
    cmr, fortification = _hazard_ground(layers["hazard_areas"])
    confirmed, unreviewed = _submunitions(layers["submunitions"])

    task_union = shapely.union_all(task_geoms) if len(task_geoms) else shapely.Polygon()
    task_pieces = _dice(task_geoms)
    union_pieces = _dice(np.array([task_union], dtype=object))

    rows = {"task": names, "task_area_m2": _clean(shapely.area(task_geoms))}
    totals: dict[str, float | int] = {"tasks": len(task_geoms), "task_area_m2": _clean(shapely.area(task_union))}
    for field, region in (
        ("imaged_m2", imaged),
        ("assessable_m2", assessable),
        ("cmr_area_m2", cmr),
        ("fortification_area_m2", fortification),
    ):
        region_pieces, _ = _dice(_polygon_parts(region))
        tree = shapely.STRtree(region_pieces)
        rows[field] = _area_within(task_pieces, len(task_geoms), tree)
        totals[field] = _clean(_area_within(union_pieces, 1, tree).sum())
    for field, points in (("submunitions_confirmed", confirmed), ("submunitions_unreviewed", unreviewed)):
        rows[field], totals[field] = _points_within(task_geoms, points)

    frame = pd.DataFrame(rows)
    _derived(frame)
    for field in ("imaged_share", "assessable_share", "task_to_cmr_ratio"):
        totals[field] = np.nan
    _derived(totals)

    out = gpd.GeoDataFrame(
        frame[[name for name, _ in BASELINE_FIELDS]].astype(dict(BASELINE_FIELDS)),
        geometry=gpd.GeoSeries(task_geoms, crs=crs),
    )
    totals = {"tasks": int(totals["tasks"])} | {
        name: (int(totals[name]) if dtype == "int64" else float(totals[name]))
        for name, dtype in BASELINE_FIELDS
        if name != "task"
    }
    return out, totals


def _common_crs(tasks: gpd.GeoDataFrame, layers: Mapping[str, gpd.GeoDataFrame]) -> CRS:
    """The one projected CRS of the tasks and the layers (empty layers may lack one)."""
    frames = {"tasks": tasks, **{name: layers[name] for name in BASELINE_LAYERS}}
    crss = {name: frame.crs for name, frame in frames.items() if frame.crs is not None or not frame.empty}
    if any(crs is None for crs in crss.values()):
        raise ValueError(f"no CRS: {', '.join(name for name, crs in crss.items() if crs is None)}")
    found = {name: CRS.from_user_input(crs) for name, crs in crss.items()}
    crs = found["tasks"] if "tasks" in found else next(iter(found.values()), None)
    if crs is None:
        raise ValueError("no CRS: the tasks and the survey layers are all empty and without one")
    if not all(other.equals(crs, ignore_axis_order=True) for other in found.values()):
        listed = ", ".join(f"{name} {other.name}" for name, other in found.items())
        raise ValueError(f"tasks and survey layers must share one CRS; they are in {listed}")
    if not crs.is_projected:
        raise ValueError(f"areas need a projected CRS (metres), not {crs.name}")
    return crs


def _union(frame: gpd.GeoDataFrame) -> shapely.Geometry:
    """The union of a polygon layer's geometries (repaired first), as a polygonal geometry."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    parts = _polygon_parts(_valid_polygonal(shapely.force_2d(geoms)))
    if not len(parts):
        return shapely.MultiPolygon()
    return shapely.union_all(parts)


def _hazard_ground(hazards: gpd.GeoDataFrame) -> tuple[shapely.Geometry, shapely.Geometry]:
    """(CMR ground, fortification ground): the unions of the hazard areas of each kind."""
    if "hazard_type" not in hazards.columns:
        raise ValueError("hazard_areas has no 'hazard_type' field")
    kinds = hazards["hazard_type"].astype(object)
    unknown = sorted(set(kinds.dropna()) - set(HAZARD_TYPES))
    if unknown or kinds.isna().any():
        raise ValueError(f"hazard_areas: hazard_type must be one of {', '.join(HAZARD_TYPES)}; got {unknown or 'null'}")
    cmr = kinds.isin(CMR_GROUND).to_numpy()
    fortification = kinds.isin(FORTIFICATION_GROUND).to_numpy()
    return _union(hazards[cmr]), _union(hazards[fortification])


def _submunitions(points: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(confirmed points, unreviewed or unsure points); rejected ones are left out."""
    if "review_status" in points.columns:
        states = points["review_status"].astype(object).fillna("unreviewed").replace("", "unreviewed")
    else:
        states = pd.Series("unreviewed", index=points.index, dtype=object)
    unknown = sorted(set(states) - set(REVIEW_STATES))
    if unknown:
        raise ValueError(f"submunitions: review_status must be one of {', '.join(REVIEW_STATES)}; got {unknown}")
    geoms = np.asarray(points.geometry.values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    geoms = shapely.force_2d(geoms)
    return (
        geoms[present & states.isin(CONFIRMED).to_numpy()],
        geoms[present & states.isin(UNREVIEWED).to_numpy()],
    )


def _dice(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``geoms``' polygons cut into pieces of at most ``DICE_VERTICES`` vertices (halving each
    larger piece's bounding box along its longer side), and the index of the geometry each piece
    comes from. The pieces of one geometry are disjoint, so their areas add up to its area; small
    pieces keep every later intersection cheap however large a task or a coverage polygon is."""
    pieces, owner = _exploded(geoms, np.arange(len(geoms)))
    for _ in range(_DICE_DEPTH):
        big = shapely.get_num_coordinates(pieces) > DICE_VERTICES
        if not big.any():
            break
        x0, y0, x1, y1 = shapely.bounds(pieces[big]).T
        wide = (x1 - x0) >= (y1 - y0)
        xm, ym = np.where(wide, (x0 + x1) / 2, x1), np.where(wide, y1, (y0 + y1) / 2)
        first = shapely.box(x0, y0, xm, ym)
        second = shapely.box(np.where(wide, xm, x0), np.where(wide, y0, ym), x1, y1)
        halves = shapely.intersection(np.concatenate([pieces[big]] * 2), np.concatenate([first, second]))
        cut, cut_owner = _exploded(halves, np.concatenate([owner[big]] * 2))
        pieces, owner = np.concatenate([pieces[~big], cut]), np.concatenate([owner[~big], cut_owner])
    return pieces, owner


def _exploded(geoms: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The non-empty polygons of ``geoms`` (collections flattened), each with its ``owner``."""
    parts, index = shapely.get_parts(geoms, return_index=True)
    owner = owner[index]
    while (nested := np.isin(shapely.get_type_id(parts), _COLLECTION_IDS)).any():
        inner, index = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], inner])
        owner = np.concatenate([owner[~nested], owner[nested][index]])
    keep = (shapely.get_type_id(parts) == shapely.GeometryType.POLYGON) & ~shapely.is_empty(parts)
    return parts[keep], owner[keep]


def _area_within(pieces: tuple[np.ndarray, np.ndarray], n: int, region: shapely.STRtree) -> np.ndarray:
    """Area (m²) of the region within each of ``n`` geometries, given as diced ``pieces``
    (pieces, owner index); ``region`` holds the region's diced pieces (disjoint)."""
    geoms, owner = pieces
    which, part = region.query(geoms, predicate="intersects")
    areas = shapely.area(shapely.intersection(geoms[which], region.geometries[part]))
    return _clean(np.bincount(owner[which], weights=areas, minlength=n))


def _points_within(geoms: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, int]:
    """(points each of ``geoms`` covers, points any of them covers: each counted once)."""
    if not len(geoms) or not len(points):
        return np.zeros(len(geoms), dtype=np.int64), 0
    which, point = shapely.STRtree(points).query(geoms, predicate="covers")
    return np.bincount(which, minlength=len(geoms)).astype(np.int64), int(len(np.unique(point)))


def _clean(areas: np.ndarray | float) -> np.ndarray | float:
    """Areas with float noise (< AREA_NOISE_M2) set to 0."""
    return np.where(np.asarray(areas) < AREA_NOISE_M2, 0.0, areas)


def _derived(row: pd.DataFrame | dict) -> None:
    """Shares (0-1) and the task-to-CMR ratio from the areas, in place (a frame or totals)."""
    task = np.asarray(row["task_area_m2"], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        for share, area in (("imaged_share", "imaged_m2"), ("assessable_share", "assessable_m2")):
            value = np.where(task > 0, np.clip(np.asarray(row[area], dtype=float) / task, 0.0, 1.0), np.nan)
            row[share] = value if isinstance(row, pd.DataFrame) else float(value)
        cmr = np.asarray(row["cmr_area_m2"], dtype=float)
        ratio = np.where(cmr > 0, task / cmr, np.nan)
        row["task_to_cmr_ratio"] = ratio if isinstance(row, pd.DataFrame) else float(ratio)
