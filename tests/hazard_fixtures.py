"""Hand-built detection sets with known answers, in UTM 38N metres."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
import shapely.ops
from shapely.geometry import LineString, Point, Polygon

CRS = "EPSG:32638"
ORIGIN = np.array([400_000.0, 4_400_000.0])


def strike(centre: tuple[float, float], n: int, major_m: float, minor_m: float,
           azimuth_deg: float, seed: int) -> np.ndarray:
    """``n`` item positions (m) scattered inside an ellipse around ``centre`` (relative)."""
    rng = np.random.default_rng(seed)
    r = np.sqrt(rng.uniform(0, 1, n))
    t = rng.uniform(0, 2 * np.pi, n)
    along, across = r * np.cos(t) * major_m / 2, r * np.sin(t) * minor_m / 2
    az = np.radians(azimuth_deg)  # clockwise from north
    x = along * np.sin(az) + across * np.cos(az)
    y = along * np.cos(az) - across * np.sin(az)
    return np.column_stack([x, y]) + ORIGIN + np.asarray(centre)


def submunitions(xy: np.ndarray, confidence: float = 0.9) -> gpd.GeoDataFrame:
    n = len(xy)
    return gpd.GeoDataFrame(
        {"confidence": np.full(n, confidence), "flight_id": "f1", "chip": "",
         "munition_class": "submunition", "evidence": "indirect"},
        geometry=[Point(p) for p in xy], crs=CRS,
    )


def trenches(lines: list[list[tuple[float, float]]], confidence: float = 0.9) -> gpd.GeoDataFrame:
    geoms = [LineString(np.asarray(c) + ORIGIN) for c in lines]
    return gpd.GeoDataFrame(
        {"length_m": [g.length for g in geoms], "width_m": 1.0, "confidence": confidence,
         "flight_id": "f1"},
        geometry=geoms, crs=CRS,
    )


def polygons(rings: list[list[tuple[float, float]]], **fields: object) -> gpd.GeoDataFrame:
    geoms = [Polygon(np.asarray(r) + ORIGIN) for r in rings]
    columns = {key: [value] * len(geoms) for key, value in {**fields, "flight_id": "f1"}.items()}
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries(geoms, crs=CRS), crs=CRS)


def square(x: float, y: float, size: float) -> list[tuple[float, float]]:
    return [(x, y), (x + size, y), (x + size, y + size), (x, y + size)]


def positions(rings: list[list[tuple[float, float]]], confidence: float = 0.9) -> gpd.GeoDataFrame:
    frame = polygons(rings, confidence=confidence)
    frame["area_m2"] = frame.geometry.area
    return frame


def not_assessable(rings: list[list[tuple[float, float]]]) -> gpd.GeoDataFrame:
    frame = polygons(rings, reason="vegetation")
    frame["area_m2"] = frame.geometry.area
    return frame


def write_detections(path: Path, crs: str | None = None) -> Path:
    """A detections GeoPackage as a survey writes it: two strikes, a trench, a position, a
    not-assessable square and the metadata `rams hazards` reads."""
    xy = np.vstack([strike((0, 0), 40, 150, 60, 0, seed=1), strike((700, 0), 30, 120, 50, 45,
                                                                    seed=2)])
    layers = {
        "submunitions": submunitions(xy),
        "trenches": trenches([[(0, -300), (250, -300)]]),
        "positions": positions([square(400, 400, 12)]),
        "not_assessable": not_assessable([square(-40, -40, 80)]),
    }
    for name, frame in layers.items():
        pyogrio.write_dataframe(frame.to_crs(crs) if crs else frame, path, layer=name)
    meta = pd.DataFrame({"key": ["flight_id", "survey_date", "model"],
                         "value": ["flight-007", "2025-05-01", "rams-unet-v1"]})
    pyogrio.write_dataframe(meta, path, layer="metadata")
    return path


def synthetic_detections(seed: int, size_m: float = 300.0) -> dict[str, gpd.GeoDataFrame]:
    """Detection layers as a survey of a synthetic flight reports them (UTM 38N): the scene of
    ``seed`` (``rams synth``'s layout), a quarter of its items missed, every item jittered by
    up to 0.2 m, one false item per hectare, and trench lines cut into pieces 2 m apart."""
    from rams.synthetic.labels import label_frames
    from rams.synthetic.layout import make_scene

    bounds = (*ORIGIN, *(ORIGIN + size_m))
    truth = label_frames(make_scene(seed, bounds, 0.03), CRS)
    rng = np.random.default_rng(seed)
    xy = shapely.get_coordinates(truth["submunitions"].geometry.to_numpy())
    xy = xy[rng.uniform(size=len(xy)) > 0.25]
    xy = xy + rng.uniform(-0.2, 0.2, xy.shape)
    false = ORIGIN + rng.uniform(0, size_m, (max(1, int(size_m**2 / 1e4)), 2))
    pieces = []
    for line in truth["trenches"].geometry:
        cuts = np.arange(0.0, line.length, 20.0)
        pieces += [shapely.ops.substring(line, a, min(a + 18.0, line.length)) for a in cuts]
    tr = gpd.GeoDataFrame({"length_m": [p.length for p in pieces], "width_m": 1.0, "confidence": 0.8,
                           "flight_id": "f1"}, geometry=pieces, crs=CRS)
    pos = truth["positions"][["geometry"]].assign(area_m2=truth["positions"].area, confidence=0.8,
                                                  flight_id="f1")
    return {"submunitions": submunitions(np.vstack([xy, false])), "trenches": tr, "positions": pos,
            "not_assessable": not_assessable([]), "truth": truth}
