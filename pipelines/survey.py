"""`rams survey FLIGHT.tif -o OUT.gpkg`: from a flight to a GIS-ready GeoPackage and a report.

One dask task per region (read once → detector → core-cropped maps → features), then a reduce
that gives every feature to one owner and joins what crosses region borders, then hazard
areas, the atomic GeoPackage and the HTML report.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
from contextlib import ExitStack
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from geopandas import GeoDataFrame

import rams
from rams.config import iso_date, load_config
from rams.detect import detection_grid
from rams.detector.card import resolve_model_dir
from rams.detector.detector import Detector
from rams.elevation import sidecar, with_dsm
from rams.errors import RamsError, refuse_existing
from rams.export import write_geopackage
from rams.flight import Flight, is_virtual, open_flight, resampled
from rams.flight_view import ViewGrid, assemble_view
from rams.hazards import hazard_layers, load_rules
from rams.hazards.rules import HazardRules, rules_to_dict
from rams.merge import merge_regions
from rams.parallel import default_workers, map_regions
from rams.pipelines.progress import Progress, StageClock
from rams.pipelines.survey_region import RegionJob, RegionResult, detector_for, survey_region
from rams.report import chip_anchor, render_report
from rams.report.chips import CHIP_LIMIT, BestChips, ranked
from rams.resources import hazard_rules_path
from rams.settings import SurveySettings, calibrated
from rams.tiling import Region, TileGrid

log = logging.getLogger("rams.survey")
DEFAULT_MODEL = "rams-det-v2"


def processing_flight(flight: Flight, gsd_range_m: tuple[float, float]) -> Flight:
    """The flight as the detector should see it: resampled to the nearest GSD it was trained on."""
    lo, hi = gsd_range_m
    if flight.gsd_m < lo * 0.999:
        return resampled(flight, lo)
    if flight.gsd_m > hi * 1.001:
        return resampled(flight, hi)
    return flight


def refuse_wide_strips(flight: Flight, grid: TileGrid) -> None:
    """Refuse (`RamsError`, one line naming the fix) a striped flight wider than one region:
    GDAL decodes a whole strip, as wide as the flight, for every region and every chip that
    touches it, so each strip would be decoded once per region column and once per chip."""
    columns = len({region.core.col_off for region in grid.regions})
    if not flight.tiled and columns > 1:
        raise RamsError(flight.path, f"striped (untiled) and {flight.width:,} px wide: every strip would be "
                                     f"decoded {columns} times; tile it first: gdal_translate -co TILED=YES "
                                     "-co COMPRESS=DEFLATE -co BIGTIFF=IF_SAFER IN.tif OUT.tif")


#: The keys naming the networks behind a survey (its GeoPackage metadata, its summary and the
#: evaluation reports made from it): each card's name and its weights' sha256.
NETWORK_KEYS = ("model", "model_sha256", "context_model", "context_model_sha256",
                "verifier_model", "verifier_model_sha256")


def network_identity(card: dict, context: dict | None, verifier: dict | None) -> dict[str, str]:
    """The networks behind a survey by card name and weights' sha256 (``NETWORK_KEYS``): the
    model's, then its context model's and verifier's when it has them."""
    parts = {"model": card, "context_model": context, "verifier_model": verifier}
    return {key: value for kind, part in parts.items() if part
            for key, value in ((kind, part["name"]), (f"{kind}_sha256", part["sha256"]))}


def weights_key(networks: dict[str, str]) -> str:
    """The sha256 of the weights behind a survey (of :func:`network_identity`): the model's, then
    its context model's and verifier's when it has them."""
    return "+".join(value for key, value in networks.items() if key.endswith("_sha256"))


def run_key(flight: Flight, settings: SurveySettings, model_sha: str, grid: TileGrid) -> str:
    """Hash of everything that determines the regions' results (the resumable run's name)."""
    doc = {
        "flight": _file_key(flight.path),
        **({"dsm": _file_key(flight.dsm)} if flight.dsm else {}),
        "gsd_m": flight.gsd_m,
        "settings": dataclasses.asdict(settings),
        "model": model_sha,
        "grid": dataclasses.asdict(grid),
        "rams": rams.__version__,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _file_key(path: str) -> list:
    """A file by absolute path, size and modification time; a GDAL virtual path by itself (a
    changed remote object under the same path needs a fresh output folder)."""
    if is_virtual(path):
        return [str(path)]
    stat = os.stat(path)
    return [os.path.abspath(path), stat.st_size, stat.st_mtime_ns]


def with_elevation(flight: Flight, detector: Detector, dsm: str | os.PathLike | None) -> Flight:
    """The flight with its DSM attached when the model takes an elevation band (``dsm``, else
    the ``F.dsm.tif`` sidecar); a DSM given to a model without one is ignored."""
    name = detector.card["name"]
    if not detector.uses_elevation:
        if dsm is not None:
            log.warning("model %s takes no elevation band: %s is not used", name, dsm)
        return flight
    if dsm is None and not sidecar(flight.path).is_file():
        raise RamsError(flight.path, f"model {name} takes an elevation band: give --dsm DSM.tif or put "
                                     f"{sidecar(flight.path).name} beside the flight")
    return with_dsm(flight, dsm if dsm is not None else sidecar(flight.path))


def cluster_client(stack: ExitStack, scheduler: str | None, workers: int | None):
    """A dask.distributed Client (closed with ``stack``): on the running scheduler at ``scheduler``
    (``tcp://HOST:PORT``), or on a new LocalCluster of ``workers`` processes; None for neither
    (dask's threaded scheduler in this process)."""
    if scheduler is None and workers is None:
        return None
    from distributed import Client, LocalCluster

    if scheduler:
        client = stack.enter_context(Client(scheduler))
    else:
        cluster = stack.enter_context(
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
        )
        client = stack.enter_context(Client(cluster))
    log.info("dask dashboard: %s", client.dashboard_link)
    return client


@dataclass
class SurveyPlan:
    """A flight made ready for its regions: everything decided before any pixel is read.

    ``native`` is the flight as opened, ``flight`` the grid the detector sees (resampled into
    the model's GSD range), ``regions`` the dask tasks' windows, ``job`` what each task needs and
    ``run_dir`` the resumable folder of finished regions (named by :func:`run_key`).
    """

    native: Flight
    flight: Flight
    model_dir: str
    card: dict
    networks: dict[str, str]
    settings: SurveySettings
    rules: HazardRules
    grid: TileGrid
    view_grid: ViewGrid
    job: RegionJob
    run_key: str
    run_dir: Path
    flight_id: str
    survey_date: str

    @property
    def regions(self) -> list[Region]:
        return self.grid.regions


def plan_survey(
    flight_path: str | os.PathLike,
    runs_dir: Path,
    *,
    model: str | os.PathLike = DEFAULT_MODEL,
    settings: SurveySettings | str | os.PathLike | None = None,
    dsm: str | os.PathLike | None = None,
    flight_id: str | None = None,
    survey_date: str | None = None,
    cut_chips: bool = True,
    keep_view: bool = True,
    torch_threads: int = 1,
) -> SurveyPlan:
    """Open ``flight_path``, load and hash-check the model, fit the detection grid and name the
    run folder (under ``runs_dir``); see :func:`survey` for the arguments (``cut_chips`` and
    ``keep_view``: see :class:`RegionJob`). Bad input raises a
    `RamsError` naming the file before any region is read."""
    if settings is None or isinstance(settings, str | os.PathLike):
        settings = load_config(SurveySettings, settings)
    rules = load_rules(hazard_rules_path(settings.hazard_rules))
    if survey_date:
        survey_date = iso_date(flight_path, survey_date)
    native = open_flight(flight_path)
    if not (survey_date or native.acquired):
        log.warning("%s: no acquisition date in its tags (EXIF DateTimeOriginal, TIFFTAG_DATETIME): survey_date "
                    "is left empty; give --survey-date YYYY-MM-DD", native.path)
    model_dir = str(resolve_model_dir(model))
    detector = detector_for(model_dir)
    native = with_elevation(native, detector, dsm)
    card = detector.card
    context = detector.context.card if detector.context is not None else None
    verifier = detector.verifier.card if detector.verifier is not None else None
    flight = processing_flight(native, tuple(card["gsd_range_m"]))
    if flight is not native:
        log.info(
            "%s: GSD %.1f cm is outside the model's %s m: processing resampled at %.1f cm",
            native.flight_id,
            native.gsd_m * 100,
            card["gsd_range_m"],
            flight.gsd_m * 100,
        )
    settings = replace(settings, detection=calibrated(settings.detection, card, context, verifier))
    grid = detection_grid(flight.width, flight.height, flight.gsd_m, card, settings.tiling, flight.block_shape)
    refuse_wide_strips(flight, grid)
    view_grid = ViewGrid.fit(flight.width, flight.height)
    networks = network_identity(card, context, verifier)
    key = run_key(flight, settings, weights_key(networks), grid)
    # a run keeping no view shares no folder with one that needs it
    run_dir = Path(runs_dir) / f"{native.flight_id}-{key}{'' if keep_view else '-noview'}"
    job = RegionJob(flight=flight, model_dir=model_dir, settings=settings, run_dir=str(run_dir), view=view_grid,
                    cut_chips=cut_chips, keep_view=keep_view, torch_threads=torch_threads)
    return SurveyPlan(native, flight, model_dir, card, networks, settings, rules, grid, view_grid, job, key,
                      run_dir, flight_id or native.flight_id, survey_date or native.acquired)


def survey_layers(plan: SurveyPlan, results: list[RegionResult]) -> dict[str, GeoDataFrame]:
    """The flight's output layers (contract fields, the flight's CRS) from its regions' results:
    features owned once and joined across region borders, then the hazard layers."""
    layers = merge_regions([r.layers for r in results], plan.flight.crs, plan.settings.detection, plan.flight_id)
    layers.update(hazard_layers(layers, plan.rules, flight_id=plan.flight_id, survey_date=plan.survey_date,
                                model=plan.card["name"]))
    return layers


def survey_metadata(plan: SurveyPlan, created_by: str = "rams survey") -> dict[str, str]:
    """The GeoPackage metadata of a flight's survey (without its timings)."""
    native, flight = plan.native, plan.flight
    return {
        "flight_id": plan.flight_id,
        "flight_path": str(native.path),
        **({"dsm_path": str(native.dsm)} if native.dsm else {}),
        "crs": flight.crs.to_string(),
        **plan.networks,
        "gsd_m": str(native.gsd_m),
        "processing_gsd_m": str(flight.gsd_m),
        "resampled_for_model": str(flight is not native).lower(),
        "configuration": json.dumps(dataclasses.asdict(plan.settings), sort_keys=True),
        "hazard_rules": plan.rules.name,
        "hazard_rules_config": json.dumps(rules_to_dict(plan.rules), sort_keys=True),
        "survey_date": plan.survey_date,
        "run_key": plan.run_key,
        "rams_version": rams.__version__,
        "created_by": created_by,
    }


def remove_run(run_dir: Path) -> None:
    """Delete a finished run folder, and the runs folder above it once it is empty."""
    shutil.rmtree(run_dir, ignore_errors=True)
    if run_dir.parent.exists() and not any(run_dir.parent.iterdir()):
        run_dir.parent.rmdir()


def gpkg_output(out: str | os.PathLike, report: str | os.PathLike | None, overwrite: bool
                ) -> tuple[Path, Path | None]:
    """``out`` (a GeoPackage) and ``report`` as paths, refused with a `RamsError` before anything
    is read when ``out`` is not a ``.gpkg`` or either exists (unless ``overwrite``)."""
    out = Path(out)
    report = Path(report) if report is not None else None
    if out.suffix.lower() != ".gpkg":
        raise RamsError(out, "output must be a GeoPackage (.gpkg)")
    refuse_existing(out, report, overwrite=overwrite)
    return out, report


def survey(
    flight_path: str | os.PathLike,
    out: str | os.PathLike,
    *,
    model: str | os.PathLike = DEFAULT_MODEL,
    settings: SurveySettings | str | os.PathLike | None = None,
    report: str | os.PathLike | None = None,
    dsm: str | os.PathLike | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    threads: int | None = None,
    keep_run: bool = False,
    overwrite: bool = False,
    flight_id: str | None = None,
    survey_date: str | None = None,
    started: float | None = None,
) -> dict:
    """Survey one flight into ``out`` (GeoPackage) and ``report`` (HTML); returns the summary.

    ``flight_path`` is an orthomosaic any GDAL driver reads (GeoTIFF, COG, VRT; uint8 or wider,
    with nodata, alpha or mask). Every output layer is in the flight's projected CRS, in metres; a
    flight in a geographic or rotated grid is warped to its local UTM zone first. ``model`` is a
    shipped model's name or a model folder; ``settings`` the survey settings (a value, or a YAML
    path; default: the defaults of :class:`~rams.settings.SurveySettings`). ``dsm`` is the surface
    model (float metres) of a model that takes an elevation band (see :func:`with_elevation`).
    ``workers`` starts a local dask cluster of that many processes, ``scheduler`` uses an existing
    one (``tcp://HOST:PORT``), else dask's threaded scheduler with ``threads`` threads. A rerun
    after an interruption resumes from the finished regions kept beside ``out``
    (``keep_run`` keeps them after success). An existing ``out`` or ``report`` is refused with a
    `RamsError` before anything is read, unless ``overwrite``. ``flight_id`` defaults to the file's
    stem; ``survey_date`` (YYYY-MM-DD) to the acquisition date in the flight's tags (EXIF
    ``DateTimeOriginal``, ``TIFFTAG_DATETIME``), else it stays empty and one warning says so.

    The flight is decoded once: the report's map and its submunition chips are by-products of the
    region pass (each region returns its share of the decimated view and its chips). The summary
    holds the networks, GSDs (m), throughput (MPix/s, km²/h) and wall seconds per stage
    (``stage_seconds``: start, open, read, inference, vectorize, chips, hazards, report,
    geopackage, finish) that add up to ``seconds``, counted from ``started`` (a
    `time.perf_counter` reading; default: the call), so that a command's figure is its wall time.
    The GeoPackage metadata holds the same stages up to its own writing.
    """
    clock = StageClock(started)
    clock.lap("start")
    out, report = gpkg_output(out, report, overwrite)
    if settings is None or isinstance(settings, str | os.PathLike):
        settings = load_config(SurveySettings, settings)
    plan = plan_survey(flight_path, out.parent / ".rams-runs", model=model, settings=settings, dsm=dsm,
                       flight_id=flight_id, survey_date=survey_date, cut_chips=report is not None)
    native, flight, regions, run_dir, card = plan.native, plan.flight, plan.regions, plan.run_dir, plan.card
    with ExitStack() as stack:
        client = cluster_client(stack, scheduler, workers)
        # no more region threads than regions; cores left over go to torch inside each task
        n_threads = max(1, min(threads or default_workers(), len(regions)))
        job = replace(plan.job, torch_threads=1 if client is not None else max(1, default_workers() // n_threads))
        progress = Progress(len(regions), sum(r.pixels for r in regions))
        best = BestChips(CHIP_LIMIT)

        def done(result: RegionResult) -> None:
            progress.update(result)
            best.add(result.chips)
            result.chips = {}  # the report needs the best CHIP_LIMIT only: memory stays bounded

        clock.lap("open")
        log.info(
            "surveying %s: %d x %d px at %.1f cm, %d regions, %d tiles",
            native.path,
            flight.width,
            flight.height,
            flight.gsd_m * 100,
            len(regions),
            sum(len(r.tiles) for r in regions),
        )
        results = map_regions(
            partial(survey_region, job),
            regions,
            workers=n_threads,
            client=client,
            on_done=done,
        )
        progress.close()
    task_seconds = {k: sum(r.seconds.get(k, 0.0) for r in results) for k in ("read", "inference", "vectorize",
                                                                              "chips")}
    clock.lap_shared(task_seconds)
    resumed = sum(r.resumed for r in results)
    if resumed:
        log.info("resumed %d of %d regions from %s", resumed, len(regions), run_dir)
    layers = survey_layers(plan, results)
    view = assemble_view(plan.view_grid, (r.view for r in results), flight.transform)
    del results
    clock.lap("hazards")
    drawn = None
    if report is not None:
        shown = set(ranked(layers["submunitions"], CHIP_LIMIT))  # rows past the report's cap get no link
        layers["submunitions"]["chip"] = [
            f"{report.name}{chip_anchor('submunitions', i + 1)}" if i in shown else ""
            for i in range(len(layers["submunitions"]))
        ]
        drawn = render_report(flight, layers, view, cut_chips=best.chips, limitations=card.get("limitations", ()))
        clock.lap("report")
    pixels = native.width * native.height

    def figures() -> dict:
        """Throughput and the stages' seconds so far (every stage once the output is written)."""
        seconds = clock.total
        return {
            "seconds": round(seconds, 1),
            "mpix_per_s": round(pixels / 1e6 / seconds, 2),
            "km2_per_h": round(pixels * native.gsd_m**2 / 1e6 / seconds * 3600, 3),
            "stage_seconds": clock.rounded(),
            "task_seconds": {k: round(v, 2) for k, v in task_seconds.items()},
        }

    metadata = survey_metadata(plan)

    def timed_metadata() -> dict[str, str]:
        clock.lap("geopackage")
        now = figures()
        return {**metadata, "run_seconds": f"{now['seconds']:.1f}",
                "stage_seconds": json.dumps(now["stage_seconds"])}

    write_geopackage(out, layers, timed_metadata)
    if not keep_run:
        remove_run(run_dir)
    summary = {
        "flight_id": plan.flight_id,
        "flight": str(native.path),
        **({"dsm": str(native.dsm)} if native.dsm else {}),
        **plan.networks,
        "gsd_m": round(native.gsd_m, 4),
        "processing_gsd_m": round(flight.gsd_m, 4),
        "resampled": flight is not native,
        "regions": len(regions),
        "regions_resumed": resumed,
        "hazard_rules": plan.rules.name,
        "survey_date": plan.survey_date,
        "rams_version": rams.__version__,
    }
    clock.lap("finish")
    summary.update(figures())
    if drawn is not None:
        drawn.write(report, summary)
    log.info(
        "wrote %s in %.1f s (%.2f MPix/s, %.2f km2/h): %s",
        out,
        summary["seconds"],
        summary["mpix_per_s"],
        summary["km2_per_h"],
        ", ".join(f"{len(v)} {k}" for k, v in layers.items()),
    )
    return summary
