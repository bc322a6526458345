"""One survey task: a region's window in, its features in map coordinates and its share of the
flight's view out.

The task opens the flight and loads the detector itself (once per process), so only a
window and settings travel to a worker, and only features travel back. A finished region's
result is saved to the run folder; a rerun loads it instead of recomputing.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from geopandas import GeoDataFrame

from rams.detect import detect_region
from rams.detector.detector import Detector
from rams.errors import RamsError
from rams.flight import GDAL_ERRORS, Flight, gdal_message
from rams.flight_view import ViewGrid, ViewPart, view_part
from rams.pipelines.runstore import RunStore
from rams.reading import read_region
from rams.report.chips import cut_point_chips
from rams.settings import SurveySettings
from rams.tiling import Region

_detectors: dict[str, Detector] = {}
_lock = threading.Lock()

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
    view: ViewGrid
    #: Cut the chips of the region's submunitions (only a survey with a report shows them; a
    #: region saved without them is chipped from the flight afterwards, see the report's chips).
    cut_chips: bool = True
    #: Return the region's share of the flight's view (the report's map; 99 % of a result's
    #: bytes): a campaign or a photograph survey draws no map from it.
    keep_view: bool = True
    torch_threads: int = 1


@dataclass
class RegionResult:
    """A region's features (GeoDataFrames in the flight CRS), its share of the flight's view
    (the report's map), the (confidence, PNG) chips of its most confident submunitions (by point, see
    :func:`~rams.report.chips.cut_point_chips`) and its timings (seconds)."""

    index: int
    layers: dict[str, GeoDataFrame]
    view: ViewPart | None
    chips: dict[tuple[float, float], tuple[float, bytes]]
    pixels: int
    tiles: int
    seconds: dict[str, float] = field(default_factory=dict)
    resumed: bool = False


def survey_region(job: RegionJob, region: Region) -> RegionResult:
    """Survey one region, or load its saved result when a previous run finished it."""
    store = RunStore(job.run_dir, job.flight.crs)
    saved = store.load(region.index)
    if saved is not None:
        layers, view, chips, meta = saved
        return RegionResult(
            region.index, layers, view, chips, meta["pixels"], meta["tiles"], meta["seconds"], True
        )
    import torch

    torch.set_num_threads(job.torch_threads)
    flight = job.flight
    detector = detector_for(job.model_dir)
    t0 = time.perf_counter()
    try:
        pixels = read_region(flight, region, reuse=True, relief=detector.uses_elevation)
    except GDAL_ERRORS as err:
        raise RamsError(flight.path, f"cannot read region {region.index} ({gdal_message(err)})") from None
    view = view_part(job.view, pixels, region.core) if job.keep_view else None
    read_seconds = time.perf_counter() - t0
    found = detect_region(detector, pixels, region, flight.transform, flight.crs, job.settings.detection,
                          batch_size=job.settings.tiling.batch_size,
                          native=flight.native_patches if flight.rescale is not None else None)
    t0 = time.perf_counter()
    chips = cut_point_chips(pixels, flight.transform, found.layers["submunitions"]) if job.cut_chips else {}
    seconds = {"read": read_seconds, **found.seconds, "chips": time.perf_counter() - t0}
    tiles = len(region.tiles)
    store.save(region.index, found.layers, view, chips,
               {"pixels": region.pixels, "tiles": tiles, "seconds": seconds})
    return RegionResult(region.index, found.layers, view, chips, region.pixels, tiles, seconds)
