"""One survey task: a region's window in, its features in map coordinates out.

The task opens the flight and loads the detector itself (once per process), so only a
window and settings travel to a worker, and only features travel back. A finished region's
result is saved to the run folder; a rerun loads it instead of recomputing.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely
from rams.pipelines.runstore import RunStore
from rasterio.errors import RasterioError
from rasterio.windows import Window

from rams.assess import not_assessable
from rams.detector.detector import Detector
from rams.detector.verifier import verify_points
from rams.errors import RamsError
from rams.flight import Flight, gdal_message
from rams.inference import predict_region
from rams.reading import read_region
from rams.settings import SurveySettings
from rams.tiling import Region
from rams.vectorize import mask_polygons, position_polygons, submunition_points, trench_lines

_detectors: dict[str, Detector] = {}
_lock = threading.Lock()

#: Feature layers a region produces, all clipped to (or anchored in) the region's core.
FEATURE_LAYERS = ("submunitions", "trenches", "positions", "coverage", "not_assessable")


def detector_for(model_dir: str) -> Detector:
    """The detector of this process (loaded and hash-checked once, shared by its threads)."""
    with _lock:
        if model_dir not in _detectors:
            _detectors[model_dir] = Detector.load(model_dir)
        return _detectors[model_dir]


@dataclass(frozen=True)
class RegionJob:
    """What a worker needs to survey regions of one flight (small and picklable)."""

    flight: Flight
    model_dir: str
    settings: SurveySettings
    run_dir: str
    torch_threads: int = 1


@dataclass
class RegionResult:
    """A region's features (GeoDataFrames in the flight CRS) and its timings (seconds)."""

    index: int
    layers: dict[str, gpd.GeoDataFrame]
    pixels: int
    tiles: int
    seconds: dict[str, float] = field(default_factory=dict)
    resumed: bool = False


def _core_box(flight: Flight, core: Window) -> shapely.Geometry:
    left, top = flight.transform * (core.col_off, core.row_off)
    right, bottom = flight.transform * (core.col_off + core.width, core.row_off + core.height)
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


def survey_region(job: RegionJob, region: Region) -> RegionResult:
    """Survey one region, or load its saved result when a previous run finished it."""
    store = RunStore(job.run_dir, job.flight.crs)
    saved = store.load(region.index)
    if saved is not None:
        layers, meta = saved
        return RegionResult(
            region.index, layers, meta["pixels"], meta["tiles"], meta["seconds"], True
        )
    import torch

    torch.set_num_threads(job.torch_threads)
    flight, det = job.flight, job.settings.detection
    detector = detector_for(job.model_dir)
    t0 = time.perf_counter()
    try:
        pixels = read_region(flight, region, reuse=True, relief=detector.uses_elevation)
    except (RasterioError, OSError) as err:
        raise RamsError(flight.path, f"cannot read region {region.index} ({gdal_message(err)})") from None
    t1 = time.perf_counter()
    prob = predict_region(detector, pixels, region, job.settings.tiling.batch_size,
                          gsd_m=flight.gsd_m)
    t2 = time.perf_counter()
    transform = flight.window_transform(pixels.window)
    crs, box = flight.crs, _core_box(flight, region.core)
    verifier = detector.verifier
    points = submunition_points(
        prob[2],
        transform,
        crs,
        threshold=det.candidate_threshold if verifier else det.submunition_threshold,
        nms_radius_m=det.nms_radius_m,
    )
    if verifier is not None:
        points = verify_points(points, pixels.rgb, transform, verifier, det.submunition_threshold)
    lines = trench_lines(
        prob[0],
        transform,
        crs,
        threshold=det.trench_threshold,
        min_length_m=0.0,
        simplify_m=det.simplify_m,
    )
    polys = position_polygons(
        prob[1],
        transform,
        crs,
        threshold=det.position_threshold,
        min_area_m2=0.0,
        simplify_m=det.simplify_m,
    )
    core_rgb, core_valid = pixels.view(region.core)
    core_transform = flight.window_transform(region.core)
    masks = not_assessable(np.ascontiguousarray(core_rgb), core_valid, flight.gsd_m)
    unassessable = [
        {
            "reason": reason,
            "geometry": mask_polygons(mask, core_transform, simplify_m=det.mask_simplify_m),
        }
        for reason, mask in masks.items()
        if mask.any()
    ]
    coverage = mask_polygons(core_valid, core_transform, simplify_m=det.mask_simplify_m)
    layers = {
        "submunitions": _in_core(points, box),
        "trenches": _clipped(lines, box),
        "positions": _clipped(polys, box),
        "coverage": gpd.GeoDataFrame({"geometry": [coverage]}, crs=crs),
        "not_assessable": gpd.GeoDataFrame(
            unassessable, columns=["reason", "geometry"], geometry="geometry", crs=crs
        ),
    }
    t3 = time.perf_counter()
    seconds = {"read": t1 - t0, "inference": t2 - t1, "vectorise": t3 - t2}
    tiles = len(region.tiles)
    store.save(region.index, layers, {"pixels": region.pixels, "tiles": tiles, "seconds": seconds})
    return RegionResult(region.index, layers, region.pixels, tiles, seconds)
