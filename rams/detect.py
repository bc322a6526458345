"""Detection on the survey's own path: TileGrid → predict_region → rams.vectorize → merge.

A survey runs :func:`detect_region` on each region it reads from the flight; training
validation and candidate mining run :func:`detect_image` over a flight held in memory, which
cuts the same grid and calls the same function, so validation measures what the survey ships.
Everything here is pure: arrays, transforms and GeoDataFrames in, GeoDataFrames out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from affine import Affine
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from rams.assess import not_assessable
from rams.detector.verifier import PatchSource, verify_points
from rams.errors import RamsError
from rams.inference import Predictor, predict_region
from rams.merge import merge_regions
from rams.reading import RegionPixels, array_pixels
from rams.settings import DetectionSettings, SurveySettings, TilingSettings
from rams.tiling import Region, TileGrid
from rams.vectorize import mask_polygons, position_polygons, submunition_points, trench_lines

#: The largest object the detector must see whole in one tile (m): submunitions are <= ~30 cm.
LARGEST_WHOLE_OBJECT_M = 0.4


@dataclass
class RegionDetections:
    """A region's features (GeoDataFrames in the flight CRS, see :data:`rams.merge.FEATURE_LAYERS`)
    and the seconds its stages took (``inference``, ``vectorize``)."""

    layers: dict[str, gpd.GeoDataFrame]
    seconds: dict[str, float] = field(default_factory=dict)


def detection_grid(width: int, height: int, gsd_m: float, card: dict[str, Any], tiling: TilingSettings,
                   block_shape: tuple[int, int] = (512, 512)) -> TileGrid:
    """The survey's tile grid over a ``width`` × ``height`` px flight at ``gsd_m`` (m per px):
    tile and overlap from ``tiling`` or else the model ``card``, regions aligned to the file's
    ``block_shape`` (rows, cols). Refuses an overlap that cannot hold a submunition whole."""
    try:
        grid = TileGrid(
            width,
            height,
            tile_px=tiling.tile_px or int(card["tile_px"]),
            overlap_px=tiling.overlap_px if tiling.overlap_px is not None else int(card["overlap_px"]),
            region_px=tiling.region_px,
            block_shape=block_shape,
        )
    except ValueError as err:  # settings that cannot tile together (each one alone is in range)
        raise RamsError("tiling", str(err)) from None
    if grid.overlap_px * gsd_m < LARGEST_WHOLE_OBJECT_M:
        raise RamsError(
            "tiling.overlap_px",
            f"tile overlap {grid.overlap_px} px is {grid.overlap_px * gsd_m:.2f} m at this GSD: "
            f"it must exceed {LARGEST_WHOLE_OBJECT_M} m so every submunition is seen whole by one tile",
        )
    return grid


def _core_box(transform: Affine, core: Window) -> shapely.Geometry:
    """The core window as a box in map coordinates (``transform``: the raster's, px → m)."""
    left, top = transform @ (core.col_off, core.row_off)
    right, bottom = transform @ (core.col_off + core.width, core.row_off + core.height)
    return shapely.box(min(left, right), min(top, bottom), max(left, right), max(top, bottom))


def _in_core(points: gpd.GeoDataFrame, box: shapely.Geometry) -> gpd.GeoDataFrame:
    """Points whose anchor lies in the core: half-open on the right and bottom edges, so a point
    on a shared border belongs to exactly one region."""
    minx, miny, maxx, maxy = box.bounds
    x, y = points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
    keep = (x >= minx) & (x < maxx) & (y > miny) & (y <= maxy)
    return points[keep].reset_index(drop=True)


def _clipped(frame: gpd.GeoDataFrame, box: shapely.Geometry) -> gpd.GeoDataFrame:
    if frame.empty:
        return frame
    clipped = frame.copy()
    clipped["geometry"] = shapely.intersection(frame.geometry.to_numpy(), box)
    clipped = clipped[~clipped.geometry.is_empty].explode(index_parts=False, ignore_index=True)
    if "length_m" in clipped:
        clipped["length_m"] = clipped.geometry.length
    if "area_m2" in clipped:
        clipped["area_m2"] = clipped.geometry.area
    return clipped[clipped.geometry.geom_type.isin(frame.geometry.geom_type.unique())]


def detect_region(
    detector: Predictor,
    pixels: RegionPixels,
    region: Region,
    transform: Affine,
    crs: Any,
    det: DetectionSettings,
    *,
    batch_size: int = 8,
    verify: bool = True,
    native: PatchSource | None = None,
) -> RegionDetections:
    """One region's features, each clipped to (or anchored in) the region's core.

    ``pixels`` holds ``region.read`` of a raster whose pixel grid is ``transform`` (px → m in
    ``crs``, a projected CRS in metres); ``det`` must carry the calibrated thresholds (see
    :func:`rams.settings.calibrated`). Heatmap peaks at ``candidate_threshold`` go through the
    detector's verifier when it has one and ``verify``; without it the peaks at
    ``submunition_threshold`` are the points (with ``verify=False``, a verifier's candidates).
    ``native`` cuts the verifier's patches from the flight's own pixels when it is finer than
    ``pixels`` (see :func:`rams.detector.verifier.verify_points`).
    """
    gsd_m = float(abs(transform.a))
    t0 = time.perf_counter()
    prob = predict_region(detector, pixels, region, batch_size, gsd_m=gsd_m)
    t1 = time.perf_counter()
    read_transform = window_transform(pixels.window, transform)
    box = _core_box(transform, region.core)
    verifier = getattr(detector, "verifier", None)
    candidates = verifier is not None
    points = submunition_points(
        prob[2], read_transform, crs,
        threshold=det.candidate_threshold if candidates else det.submunition_threshold,
        nms_radius_m=det.nms_radius_m,
    )
    if candidates and verify:
        points = verify_points(points, pixels.rgb, read_transform, verifier, det.submunition_threshold, native)
    lines = trench_lines(prob[0], read_transform, crs, threshold=det.trench_threshold, min_length_m=0.0,
                         simplify_m=det.simplify_m)
    polys = position_polygons(prob[1], read_transform, crs, threshold=det.position_threshold, min_area_m2=0.0,
                              simplify_m=det.simplify_m)
    core_rgb, core_valid = pixels.view(region.core)
    core_transform = window_transform(region.core, transform)
    masks = not_assessable(np.ascontiguousarray(core_rgb), core_valid, gsd_m)
    unassessable = [
        {"reason": reason, "geometry": mask_polygons(mask, core_transform, simplify_m=det.mask_simplify_m)}
        for reason, mask in masks.items()
        if mask.any()
    ]
    coverage = mask_polygons(core_valid, core_transform, simplify_m=det.mask_simplify_m)
    layers = {
        "submunitions": _in_core(points, box),
        "trenches": _clipped(lines, box),
        "positions": _clipped(polys, box),
        "coverage": gpd.GeoDataFrame({"geometry": [coverage]}, crs=crs),
        "not_assessable": gpd.GeoDataFrame(unassessable, columns=["reason", "geometry"], geometry="geometry",
                                           crs=crs),
    }
    return RegionDetections(layers, {"inference": t1 - t0, "vectorize": time.perf_counter() - t1})


def detect_image(
    detector: Predictor,
    image: np.ndarray,
    transform: Affine,
    crs: Any,
    settings: SurveySettings,
    *,
    valid: np.ndarray | None = None,
    flight_id: str = "",
    verify: bool = True,
) -> dict[str, gpd.GeoDataFrame]:
    """The survey's detection layers for a flight held in memory: uint8 ``image`` (3, H, W), or
    (4, H, W) with the elevation band, on ``transform`` (px → m in the projected ``crs``).

    The flight is cut by :func:`detection_grid` into the regions a survey of the same raster
    would read (512 px blocks, as ``rams synth`` writes), each region goes through
    :func:`detect_region` and the regions are merged as the survey merges them.
    ``settings.detection`` must carry calibrated thresholds. ``valid`` (H, W) bool defaults to
    every pixel.
    """
    card = getattr(detector, "card", {})
    height, width = image.shape[1:]
    gsd_m = float(abs(transform.a))
    grid = detection_grid(width, height, gsd_m, card, settings.tiling)
    regions = [
        detect_region(detector, array_pixels(image, region.read, valid), region, transform, crs,
                      settings.detection, batch_size=settings.tiling.batch_size, verify=verify).layers
        for region in grid.regions
    ]
    return merge_regions(regions, crs, settings.detection, flight_id)
