"""`rams campaign FLIGHT.tif ... -o CAMPAIGN.gpkg`: many flights, one picture of the ground.

Every flight is planned as a survey is (:func:`~rams.pipelines.survey.plan_survey`), then the
regions of all flights become the tasks of one dask graph, interleaved flight by flight so that
a cluster works on every flight at once and no flight's tail leaves workers idle. As a flight's
last region finishes, its own GeoPackage is written (``CAMPAIGN.flights/FLIGHT_ID.gpkg``) and its
region results are dropped. Then the flights' layers are merged into one set
(:mod:`rams.campaigns.merge`), the hazard layers are computed over the merged evidence, the
baseline per task polygon is tabulated (:mod:`rams.campaigns.baseline`) and the campaign
GeoPackage is written atomically.

A rerun after any interruption resumes: a flight whose GeoPackage was written by a run of the
same settings and model (its ``run_key``) is read back, and the other flights' finished regions
are loaded from their run folders.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import pyogrio

import rams
from rams.campaigns.baseline import baseline, read_tasks
from rams.campaigns.merge import (
    DETECTION_LAYERS,
    MERGE_RADIUS_M,
    FlightLayers,
    campaign_crs,
    evidence_flights,
    merge_flights,
)
from rams.config import load_config
from rams.errors import RamsError
from rams.export import write_geopackage
from rams.flight import is_virtual
from rams.hazards import hazard_layers
from rams.hazards.rules import rules_to_dict
from rams.parallel import default_workers, map_regions
from rams.pipelines.progress import Progress, StageClock
from rams.pipelines.survey import (
    DEFAULT_MODEL,
    SurveyPlan,
    cluster_client,
    gpkg_output,
    plan_survey,
    remove_run,
    survey_layers,
    survey_metadata,
)
from rams.pipelines.survey_region import RegionJob, RegionResult, survey_region
from rams.settings import SurveySettings
from rams.tiling import Region

log = logging.getLogger("rams.campaign")

#: Raster files a flights folder is searched for (a DSM sidecar ``F.dsm.tif`` is not a flight).
FLIGHT_SUFFIXES = (".tif", ".tiff", ".vrt", ".jp2")


def flight_paths(given: Sequence[str | os.PathLike]) -> list[str]:
    """The flights of a campaign from the command line: raster files (local or GDAL virtual
    paths), folders (every raster in them, sorted by name, DSM sidecars left out) and text
    files listing one flight per line (blank lines and ``#`` comments skipped). A path named
    twice, or no flight at all, is refused with a `RamsError`."""
    paths: list[str] = []
    for item in given:
        text = str(item)
        p = Path(text)
        if not is_virtual(text) and p.is_dir():
            found = sorted(str(f) for f in p.iterdir()
                           if f.suffix.lower() in FLIGHT_SUFFIXES and not f.name.lower().endswith(".dsm.tif"))
            if not found:
                raise RamsError(p, f"folder holds no flight ({', '.join(FLIGHT_SUFFIXES)})")
            paths.extend(found)
        elif not is_virtual(text) and p.suffix.lower() in (".txt", ".list", ".lst"):
            try:
                lines = p.read_text().splitlines()
            except OSError as err:
                raise RamsError(p, f"cannot read the list of flights ({err.strerror})") from None
            listed = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
            paths.extend(str(p.parent / x) if not (is_virtual(x) or Path(x).is_absolute()) else x for x in listed)
        else:
            paths.append(text)
    if not paths:
        raise RamsError(given[0] if given else "campaign", "no flights given")
    seen: set[str] = set()
    for path in paths:
        key = path if is_virtual(path) else os.path.abspath(path)
        if key in seen:
            raise RamsError(path, "named twice in the campaign")
        seen.add(key)
    return paths


def flights_dir(out: Path) -> Path:
    """Where a campaign keeps each flight's own GeoPackage: ``CAMPAIGN.flights/`` beside it."""
    return out.with_name(out.stem + ".flights")


def _region_task(item: tuple[int, RegionJob, Region]) -> tuple[int, RegionResult]:
    """One region of one flight (a dask task): the flight's number and the region's result."""
    number, job, region = item
    return number, survey_region(job, region)


#: Flights whose regions are interleaved at a time: enough to keep a cluster busy through each
#: flight's tail, few enough that flights finish (and their results leave memory) as it goes.
FLIGHT_WINDOW = 8


def _interleaved(plans: dict[int, SurveyPlan], window: int = FLIGHT_WINDOW) -> list[tuple[int, RegionJob, Region]]:
    """Every region of every flight, the flights ``window`` at a time and round robin within
    those (the first region of each, then the second of each, ...), so that the flights of a
    window advance together and finish together, then the next window's."""
    numbers = list(plans)
    items = []
    for start in range(0, len(numbers), window):
        queues = {n: list(plans[n].regions) for n in numbers[start:start + window]}
        while queues:
            for n in list(queues):
                items.append((n, plans[n].job, queues[n].pop(0)))
                if not queues[n]:
                    del queues[n]
    return items


def survey_flights(plans: dict[int, SurveyPlan], finish: Callable[[int, list[RegionResult]], None], *,
                   client=None, threads: int | None = None, label: str = "flights", done_before: int = 0) -> int:
    """Run the regions of every planned flight (numbered by ``plans``' keys) as one dask graph,
    interleaved (:func:`_interleaved`), on ``client`` (dask.distributed) or on the threaded
    scheduler with ``threads`` threads; ``finish(number, results)`` is called in this process as
    each flight's last region comes back, after which its results are dropped. Progress names
    the flights done (``label``, counting ``done_before`` already done). Returns how many
    regions were resumed from run folders."""
    items = _interleaved(plans)
    left = {n: len(plan.regions) for n, plan in plans.items()}
    results: dict[int, list[RegionResult]] = {n: [] for n in plans}
    total = len(plans) + done_before
    flights_done = done_before
    resumed = 0
    progress = Progress(len(items), sum(region.pixels for _, _, region in items))
    progress.prefix = f"{label} {flights_done}/{total}  "

    def done(numbered: tuple[int, RegionResult]) -> None:
        nonlocal flights_done, resumed
        number, result = numbered
        results[number].append(result)
        resumed += result.resumed
        left[number] -= 1
        if left[number] == 0:
            finish(number, results[number])
            for each in results.pop(number):  # what finish needed is written or kept by it
                each.layers, each.view = {}, None
            flights_done += 1
            progress.prefix = f"{label} {flights_done}/{total}  "
        progress.update(result)

    n_threads = max(1, min(threads or default_workers(), len(items) or 1))
    torch_threads = 1 if client is not None else max(1, default_workers() // n_threads)
    items = [(n, replace(job, torch_threads=torch_threads), region) for n, job, region in items]
    map_regions(_region_task, items, workers=n_threads, client=client, on_done=done)
    progress.close()
    return resumed


def _read_layers(path: Path) -> dict[str, gpd.GeoDataFrame]:
    return {name: pyogrio.read_dataframe(path, layer=name) for name in DETECTION_LAYERS}


def _finished(path: Path, key: str) -> bool:
    """Whether ``path`` is a flight GeoPackage written by a run of this ``key``."""
    if not path.is_file():
        return False
    try:
        meta = pyogrio.read_dataframe(path, layer="metadata", read_geometry=False)
    except Exception:  # an unreadable leftover is surveyed again
        return False
    return dict(zip(meta["key"], meta["value"], strict=True)).get("run_key") == key


def campaign(
    flights: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    tasks: str | os.PathLike | None = None,
    task_field: str | None = None,
    model: str | os.PathLike = DEFAULT_MODEL,
    settings: SurveySettings | str | os.PathLike | None = None,
    report: str | os.PathLike | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    threads: int | None = None,
    campaign_id: str | None = None,
    merge_radius_m: float = MERGE_RADIUS_M,
    keep_run: bool = False,
    overwrite: bool = False,
    started: float | None = None,
) -> dict:
    """Survey many flights as one campaign into ``out`` (GeoPackage); returns the summary.

    ``flights`` are orthomosaics, folders of them or text files listing them (see
    :func:`flight_paths`; GDAL virtual paths such as ``/vsis3/bucket/f.tif`` are read as GDAL
    reads them, on whichever worker runs the task). ``model``, ``settings``, ``scheduler``,
    ``workers`` and ``threads`` are as for :func:`rams.survey`. Each flight's own GeoPackage is
    kept in ``CAMPAIGN.flights/``. The campaign's layers are in the CRS most flights are in
    (metres): submunitions deduplicated across overlapping flights (within ``merge_radius_m``,
    with ``flight_ids``), trenches and positions joined across flight edges, one coverage row per
    flight's owned ground, hazard layers over the merged evidence, and with ``tasks`` (a polygon
    layer GDAL reads, named by ``task_field``) the ``baseline`` layer, one row per task (see
    :func:`rams.campaigns.baseline.baseline`). ``report`` writes the campaign's HTML report.
    ``campaign_id`` (default: the output's stem) names the campaign in its hazard records'
    provenance. An existing ``out`` or ``report`` is refused unless ``overwrite``; an
    interrupted campaign resumes (see the module's docstring), ``keep_run`` keeps the run
    folders after success.
    """
    clock = StageClock(started)
    clock.lap("start")
    out, report = gpkg_output(out, report, overwrite)
    if (tasks is None) != (task_field is None):
        raise RamsError(tasks or out, "--tasks and --task-field go together")
    if not 0.0 < merge_radius_m <= 5.0:
        raise RamsError(out, f"merge radius {merge_radius_m} m is outside (0, 5] m")
    if not out.parent.is_dir():
        raise RamsError(out, "output folder does not exist")
    if settings is None or isinstance(settings, str | os.PathLike):
        settings = load_config(SurveySettings, settings)
    paths = flight_paths(flights)
    plans = [plan_survey(path, out.parent / ".rams-runs", model=model, settings=settings, cut_chips=False,
                         keep_view=False) for path in paths]
    ids: dict[str, str] = {}
    for plan in plans:
        if plan.flight_id in ids:
            raise RamsError(plan.native.path, f"has the flight id {plan.flight_id!r} of {ids[plan.flight_id]}: "
                                              "flight ids must be unique in a campaign (rename one)")
        ids[plan.flight_id] = str(plan.native.path)
    task_frame = None
    crs = campaign_crs([plan.flight.crs for plan in plans])
    if tasks is not None:
        task_frame = read_tasks(tasks, task_field, crs)
    folder = flights_dir(out)
    folder.mkdir(exist_ok=True)
    gpkgs = [folder / f"{plan.flight_id}.gpkg" for plan in plans]
    done_before = {n for n, plan in enumerate(plans) if _finished(gpkgs[n], plan.run_key)}
    for n in sorted(done_before):
        log.info("%s: finished by an earlier run (%s)", plans[n].flight_id, gpkgs[n])
    pending = {n: plan for n, plan in enumerate(plans) if n not in done_before}
    clock.lap("open")
    log.info("campaign of %d flights (%d to survey): %d regions, %.0f MPix", len(plans), len(pending),
             sum(len(plan.regions) for plan in pending.values()),
             sum(region.pixels for plan in pending.values() for region in plan.regions) / 1e6)

    def finish_flight(number: int, results: list[RegionResult]) -> None:
        plan = plans[number]
        write_geopackage(gpkgs[number], survey_layers(plan, results), survey_metadata(plan, created_by="rams campaign"))
        if not keep_run:
            remove_run(plan.run_dir)

    with ExitStack() as stack:
        client = cluster_client(stack, scheduler, workers)
        resumed = survey_flights(pending, finish_flight, client=client, threads=threads,
                                 done_before=len(done_before))
    clock.lap("regions")
    if resumed:
        log.info("resumed %d regions from earlier runs", resumed)

    merge_start = time.perf_counter()
    flight_layers = []
    for plan, gpkg in zip(plans, gpkgs, strict=True):
        layers = {name: frame.to_crs(crs) for name, frame in _read_layers(gpkg).items()}
        flight_layers.append(FlightLayers(plan.flight_id, plan.native.gsd_m, plan.survey_date, layers))
    first = plans[0]
    campaign_id = campaign_id or out.stem
    det = first.settings.detection
    merged = merge_flights(flight_layers, det, crs, merge_radius_m)
    dates = {f.flight_id: f.survey_date for f in flight_layers}
    latest = max(dates.values(), default="")
    hazards = hazard_layers(merged, first.rules, flight_id=campaign_id, survey_date=latest, model=first.card["name"])
    for name in ("strike_footprints", "hazard_areas"):
        frame = hazards[name]
        named, when = evidence_flights(frame, merged, dates)
        frame["flight_id"] = named
        if name == "hazard_areas":
            frame["survey_date"] = when
    layers = {**merged, **hazards}
    totals = None
    if task_frame is not None:
        layers["baseline"], totals = baseline(task_frame, layers)
    merge_seconds = time.perf_counter() - merge_start
    clock.lap("merge")
    pixels = sum(plan.native.width * plan.native.height for plan in plans)
    flights_table = [
        {"flight_id": plan.flight_id, "flight": str(plan.native.path), "gsd_m": round(plan.native.gsd_m, 4),
         "survey_date": plan.survey_date, "mpix": round(plan.native.width * plan.native.height / 1e6, 2),
         "regions": len(plan.regions), "gpkg": str(gpkgs[n])}
        for n, plan in enumerate(plans)
    ]
    metadata = {
        "campaign_id": campaign_id,
        "flights": json.dumps(flights_table),
        "crs": crs.to_string(),
        **first.networks,
        "configuration": survey_metadata(first)["configuration"],
        "hazard_rules": first.rules.name,
        "hazard_rules_config": json.dumps(rules_to_dict(first.rules), sort_keys=True),
        "merge_radius_m": str(merge_radius_m),
        "survey_date": latest,
        **({"tasks_path": str(tasks), "task_field": str(task_field),
            "baseline_totals": json.dumps(totals, sort_keys=True, default=float)} if totals is not None else {}),
        "rams_version": rams.__version__,
        "created_by": "rams campaign",
    }
    write_geopackage(out, layers, metadata)
    clock.lap("geopackage")
    summary = {
        "campaign_id": campaign_id,
        "flights": flights_table,
        "flights_resumed": len(done_before),
        "regions": sum(len(plan.regions) for plan in plans),
        "regions_resumed": resumed,
        "crs": crs.to_string(),
        "counts": {name: len(frame) for name, frame in layers.items()},
        "baseline_totals": totals,
        "merge_seconds": round(merge_seconds, 2),
        "rams_version": rams.__version__,
    }
    if report is not None:
        from rams.report.campaign import write_campaign_report

        write_campaign_report(report, layers, summary)
        clock.lap("report")
    seconds = clock.total
    summary.update({"seconds": round(seconds, 1), "mpix_per_s": round(pixels / 1e6 / seconds, 2),
                    "stage_seconds": clock.rounded()})
    log.info("wrote %s in %.1f s (%.2f MPix/s over %d flights): %s", out, seconds, summary["mpix_per_s"],
             len(plans), ", ".join(f"{v} {k}" for k, v in summary["counts"].items()))
    return summary
