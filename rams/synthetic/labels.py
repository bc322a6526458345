"""Ground-truth labels read straight off the scene description, written as a GeoPackage."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, Point, Polygon, box

from rams.synthetic.ground import TRACK_RUT_M
from rams.synthetic.scene import Blob, Scene

# GeoPackage stamps the write time into gpkg_contents; a fixed stamp keeps labels reproducible.
_FIXED_DATE = "2000-01-01T00:00:00.000Z"


def _blob_polygon(b: Blob, scale: float = 1.0, n: int = 96) -> Polygon:
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = b.radius_at(theta) * scale
    return Polygon(np.c_[b.x + r * np.cos(theta), b.y + r * np.sin(theta)])


def _rotated_box(x: float, y: float, length: float, width: float, angle: float) -> Polygon:
    g = box(-length / 2, -width / 2, length / 2, width / 2)
    return affinity.translate(affinity.rotate(g, angle, use_radians=True), x, y)


def _capsule(x: float, y: float, length: float, width: float, angle: float) -> Polygon:
    half = max(length / 2 - width / 2, 1e-4)
    g = LineString([(-half, 0), (half, 0)]).buffer(width / 2, quad_segs=8)
    return affinity.translate(affinity.rotate(g, angle, use_radians=True), x, y)


def _parts(geom: shapely.Geometry) -> list[shapely.Geometry]:
    """Single-part pieces of a clipped geometry (clipping can split lines and polygons)."""
    if geom.is_empty:
        return []
    return list(getattr(geom, "geoms", [geom]))


def label_frames(scene: Scene, crs: str) -> dict[str, gpd.GeoDataFrame]:
    """Every label layer of the contract, clipped to the raster; empty layers keep their fields."""
    frame = box(*scene.bounds)
    rows: dict[str, list[dict]] = {k: [] for k in (
        "submunitions", "strike_footprints", "trenches", "trench_polygons", "positions",
        "vegetation", "distractors")}

    def add(layer: str, geom: shapely.Geometry, clip: bool = True, **fields: object) -> None:
        for part in _parts(geom.intersection(frame) if clip else geom):
            rows[layer].append({**fields, "geometry": part})

    for it in scene.items:
        add("submunitions", Point(it.x, it.y), munition_type=it.munition_type,
            length_m=it.length_m, diameter_m=it.diameter_m, strike_id=it.strike_id,
            visible_fraction=it.visible_fraction)
    for s in scene.strikes:
        ellipse = affinity.scale(Point(0, 0).buffer(1, quad_segs=32), s.major_m / 2, s.minor_m / 2)
        ellipse = affinity.rotate(ellipse, 90 - s.azimuth_deg, origin=(0, 0))
        add("strike_footprints", affinity.translate(ellipse, s.x, s.y), clip=False,
            strike_id=s.strike_id, munition_type=s.munition_type, n_items=s.n_items,
            major_m=s.major_m, minor_m=s.minor_m, azimuth_deg=s.azimuth_deg)
    for t in scene.trenches:
        line = LineString(t.xy)
        add("trenches", line, trench_id=t.trench_id, width_m=t.width_m, shape=t.shape,
            condition=t.condition)
        add("trench_polygons", line.buffer(t.width_m / 2), trench_id=t.trench_id,
            width_m=t.width_m)
    for p in scene.positions:
        if p.kind.startswith("firing"):
            g = Point(p.x, p.y).buffer(p.length_m / 2, quad_segs=32)
        else:
            g = _rotated_box(p.x, p.y, p.length_m, p.width_m, p.angle_rad)
        add("positions", g, position_id=p.position_id, kind=p.kind)
    for b in scene.vegetation:
        layer = "distractors" if b.kind == "bush" else "vegetation"
        add(layer, _blob_polygon(b), kind=b.kind)
    for b in scene.stones:
        add("distractors", _blob_polygon(b, n=24), kind=b.kind)
    for c in scene.craters:
        add("distractors", _blob_polygon(c, scale=1.25, n=48), kind="crater")
    for t in scene.things:
        if t.kind in ("scrap", "fence_post"):
            g = _rotated_box(t.x, t.y, t.length_m, t.width_m, t.angle_rad)
        else:
            g = _capsule(t.x, t.y, t.length_m, t.width_m, t.angle_rad)
        add("distractors", g, kind=t.kind)
    for path in scene.paths:
        if path.kind == "tyre_track":
            add("distractors", LineString(path.xy).buffer((path.width_m + TRACK_RUT_M) / 2),
                kind="tyre_track")
    schema = {
        "submunitions": {"munition_type": str, "length_m": float, "diameter_m": float,
                         "strike_id": int, "visible_fraction": float},
        "strike_footprints": {"strike_id": int, "munition_type": str, "n_items": int,
                              "major_m": float, "minor_m": float, "azimuth_deg": float},
        "trenches": {"trench_id": int, "width_m": float, "shape": str, "condition": str},
        "trench_polygons": {"trench_id": int, "width_m": float},
        "positions": {"position_id": int, "kind": str},
        "vegetation": {"kind": str},
        "distractors": {"kind": str},
    }
    out = {}
    for layer, fields in schema.items():
        df = gpd.GeoDataFrame(rows[layer], columns=[*fields, "geometry"], geometry="geometry",
                              crs=crs)
        out[layer] = df.astype({k: ("int64" if v is int else "float64" if v is float else
                                    "object") for k, v in fields.items()})
    return out


def write_labels(frames: dict[str, gpd.GeoDataFrame], path: Path) -> Path:
    """Write all layers to ``path`` atomically (temporary file, then rename)."""
    import pyogrio  # file output only: scenes are labelled in memory without it

    tmp = path.with_name(path.stem + ".tmp.gpkg")
    tmp.unlink(missing_ok=True)
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _FIXED_DATE})
    try:
        for i, (layer, df) in enumerate(frames.items()):
            pyogrio.write_dataframe(df, tmp, layer=layer, driver="GPKG", append=i > 0)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
    os.replace(tmp, path)
    return path
