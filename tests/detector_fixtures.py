"""A tiny hand-made labelled flight (GeoTIFF + labels GeoPackage) for the detector tests."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import torch
from affine import Affine
from rasterio.features import rasterize
from shapely.geometry import LineString, Point

from rams.detector.model import build_model

CRS = "EPSG:32638"
GSD_M = 0.03
ORIGIN = (500_000.0, 4_000_000.0)


def make_flight(folder: Path, height: int = 256, width: int = 320, seed: int = 0
                ) -> tuple[Path, Path]:
    """Paint a trench, a firing position, a stone and six submunitions (the last labelled half
    buried); write tif + labels."""
    rng = np.random.default_rng(seed)
    transform = Affine(GSD_M, 0, ORIGIN[0], 0, -GSD_M, ORIGIN[1])
    x0, y1 = ORIGIN

    def xy(col: float, row: float) -> tuple[float, float]:
        return x0 + col * GSD_M, y1 - row * GSD_M

    trench = LineString([xy(20, 40), xy(120, 60), xy(220, 30), xy(300, 50)])
    trench_poly = trench.buffer(0.35)
    position = Point(*xy(80, 180)).buffer(1.5)
    stone = Point(*xy(250, 200)).buffer(0.12)
    subs = [Point(*xy(c + 0.5, r + 0.5)) for c, r in
            ((160, 120), (180, 150), (200, 110), (230, 140), (270, 110), (150, 220))]

    img = (rng.normal(0, 8, (3, height, width)) + np.array([110, 120, 80])[:, None, None])

    def paint(geoms: list, colour: tuple[int, int, int]) -> None:
        m = rasterize(geoms, out_shape=(height, width), transform=transform).astype(bool)
        for b in range(3):
            img[b][m] = colour[b] + rng.normal(0, 4, m.sum())

    paint([trench_poly], (60, 50, 40))
    paint([position.difference(Point(*xy(80, 180)).buffer(1.0))], (150, 130, 100))
    paint([Point(*xy(80, 180)).buffer(1.0)], (70, 60, 50))
    paint([stone], (170, 170, 170))
    paint([p.buffer(0.08) for p in subs], (200, 190, 60))

    tif = folder / "hand.tif"
    with rasterio.open(tif, "w", driver="GTiff", height=height, width=width, count=3,
                       dtype="uint8", crs=CRS, transform=transform) as ds:
        ds.write(np.clip(img, 0, 255).astype(np.uint8))
    gpkg = folder / "hand.labels.gpkg"
    layers = {
        "submunitions": gpd.GeoDataFrame(
            {"munition_type": ["9N235"] * len(subs), "length_m": [0.16] * len(subs),
             "diameter_m": [0.16] * len(subs), "strike_id": [1] * len(subs),
             "visible_fraction": [1.0] * (len(subs) - 1) + [0.5]}, geometry=subs, crs=CRS),
        "trenches": gpd.GeoDataFrame({"trench_id": [1], "width_m": [0.7]}, geometry=[trench],
                                     crs=CRS),
        "trench_polygons": gpd.GeoDataFrame({"trench_id": [1], "width_m": [0.7]},
                                            geometry=[trench_poly], crs=CRS),
        "positions": gpd.GeoDataFrame({"position_id": [1], "kind": ["firing_circular"]},
                                      geometry=[position], crs=CRS),
        "vegetation": gpd.GeoDataFrame({"kind": []}, geometry=[], crs=CRS),
        "distractors": gpd.GeoDataFrame({"kind": ["stone"]}, geometry=[stone], crs=CRS),
    }
    for name, gdf in layers.items():
        gdf.to_file(gpkg, layer=name, driver="GPKG")
    return tif, gpkg


def tamper(path: Path) -> None:
    """Flip one bit of the last byte of a file (a weights file that no longer matches its card)."""
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


#: The card of a tiny RamsNet (tile 64 px, overlap 16 px) for detector tests.
CARD = {"name": "t", "classes": ["trench", "position", "submunition"],
        "input_bands": ["red", "green", "blue"], "normalisation": {}, "gsd_range_m": [0.02, 0.04],
        "tile_px": 64, "overlap_px": 16, "arch": {"widths": [8, 8, 8, 8, 8]}}


def tiny_model() -> torch.nn.Module:
    """A small RamsNet of :data:`CARD`'s architecture, seeded, in eval mode."""
    torch.manual_seed(0)
    return build_model(CARD["arch"]).eval()
