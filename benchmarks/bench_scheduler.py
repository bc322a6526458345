"""The dask scheduler's cost per region task, and what a region's result costs to bring back.

    python benchmarks/bench_scheduler.py [--tasks 4000] [--work-ms 5] [--transfers 20]

Runs ``--tasks`` small tasks through ``rams.parallel.map_regions`` (with an ``on_done``, as a
survey does) on a ``distributed.LocalCluster`` of 2 worker processes of 1 thread each, then on
dask's threaded scheduler with 2 threads. Each task is handed what a ``rams campaign`` task is
(a flight's number, its real `RegionJob` and a real `Region`), and does a fixed amount of work:
sha256 over a calibrated number of 64 KiB blocks (about ``--work-ms``; it releases the GIL, so
threads run it in parallel), or none. The work's cost is measured in this process in the same run, and

    ideal = tasks × work / workers,    overhead per task = (wall − ideal) × workers / tasks

is what each task costs a worker beyond its work. Zero-work tasks (a quarter as many) give the
tasks a second the scheduler sustains: through ``map_regions`` with a campaign's arguments (dask
looks into each tuple and dataclass argument, and a region carries its tiles), through
``map_regions`` with integer arguments, and through ``client.map`` alone (integers, no result
gathered one by one). A plain thread pool runs a quarter of the work tasks without dask: what
the machine gives.

The region result is real: the first region of the demo flight (``rams synth --preset demo``,
written once to ``benchmarks/data/demo_flight.tif``) surveyed by
``rams.pipelines.survey_region`` with chips cut (as a survey with a report does; a campaign's
regions carry none, and its extrapolation leaves them out), in a child process; its pickled
size, broken down into features, view share and chips, and the files it leaves in the run folder. Then
``--transfers`` tasks on the cluster each return that result (unpickled on the worker, so it
travels as dask sends it), against tasks that unpickle it and return nothing: the difference is
the time to bring one result back.

On a 2-core machine the client, the scheduler and both workers share the cores: the figures are
those of this machine, not of a scheduler with a core of its own. Compare ratios within a run.
Prints a JSON summary, then the extrapolation of ``extrapolate.py`` from these figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from extrapolate import (  # noqa: E402
    campaign_time,
    dispatch_cap_workers,
    min_region_px,
    region_result_bytes,
    table,
    transfer_cap_workers,
)

DATA = Path(__file__).parent / "data"
WORKERS = 2
BLOCK = 1 << 16
#: Whole-survey MPix/s of one 2-core CPU machine at 3 cm: bench_survey ``--size 8192`` of
#: 2026-12-07 in docs/benchmarks.md (4.01, 3.91, 3.85 MPix/s; the median).
MPIX_PER_S_3CM = 3.91
#: The client's network in the extrapolation (1 Gbit/s is about 117 MB/s).
NETWORK_MB_S = 100.0
#: The baseline: 8,236 km² at 3 cm, flown as flights of 1 km² (33,334 px a side).
BASELINE_KM2, BASELINE_GSD_M, FLIGHT_SIDE_PX = 8236.0, 0.03, 33334


def work(blocks: int, item: object) -> int:
    """A task of fixed cost: sha256 over ``blocks`` blocks of 64 KiB (``item`` only travels, as a
    campaign task's argument does)."""
    block = bytes(BLOCK)
    digest = hashlib.sha256()
    for _ in range(blocks):
        digest.update(block)
    return len(digest.digest())


def unpickled(blob: bytes) -> object:
    """The object pickled in ``blob``: a task whose result is a region's result."""
    return pickle.loads(blob)


def unpickled_dropped(blob: bytes) -> None:
    """The same work as :func:`unpickled`, nothing sent back."""
    pickle.loads(blob)


def calibrate(work_ms: float) -> tuple[int, float]:
    """Blocks for about ``work_ms`` of work, and the measured seconds of one such task (median
    of 21, in this process, one at a time)."""
    per_block = min(_timed(partial(work, 64, None)) for _ in range(5)) / 64
    blocks = max(1, round(work_ms / 1e3 / per_block))
    return blocks, statistics.median(_timed(partial(work, blocks, None)) for _ in range(21))


def _timed(func) -> float:
    t = time.perf_counter()
    func()
    return time.perf_counter() - t


def timed_map(func, items, **kwargs) -> dict:
    """``map_regions`` of ``func`` over ``items`` (``kwargs``: its scheduler): wall seconds, and
    tasks/s between the 10th and 90th percentile of completions (after submission's start-up)."""
    from rams.parallel import map_regions

    done: list[float] = []
    t = time.perf_counter()
    map_regions(func, items, on_done=lambda _: done.append(time.perf_counter()), **kwargs)
    wall = time.perf_counter() - t
    lo, hi = round(0.1 * len(done)), round(0.9 * len(done)) - 1
    steady = (hi - lo) / (done[hi] - done[lo]) if hi > lo and done[hi] > done[lo] else float("nan")
    return {"wall_s": wall, "steady_tasks_per_s": steady}


def figures(run: dict, tasks: int, work_s: float) -> dict:
    ideal = tasks * work_s / WORKERS
    return {
        "wall_s": round(run["wall_s"], 3),
        "ideal_s": round(ideal, 3),
        "overhead_ms_per_task": round((run["wall_s"] - ideal) * WORKERS / tasks * 1e3, 3),
        "tasks_per_s": round(tasks / run["wall_s"], 1),
        "steady_tasks_per_s": round(run["steady_tasks_per_s"], 1),
    }


def demo_flight() -> Path:
    """The demo flight, written once under ``DATA`` (the same bytes as ``demo/flight.tif``)."""
    if (DATA / "demo_flight.tif").exists():
        return DATA / "demo_flight.tif"
    print(f"generating {DATA / 'demo_flight.tif'} ...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, __file__, "--synth-demo", str(DATA / "demo_flight.tif")], check=True)
    return DATA / "demo_flight.tif"


def survey_first_region(flight_path: Path, out: Path) -> None:
    """(Child.) Survey the first region of ``flight_path`` as a campaign's task does (no chips,
    no view share); write its pickled result and job to ``out`` with their sizes (``sizes.json``)."""
    from rams.pipelines.survey import plan_survey
    from rams.pipelines.survey_region import survey_region

    plan = plan_survey(flight_path, out / "runs", cut_chips=False, keep_view=False, torch_threads=WORKERS)
    flight, grid, job, region = plan.flight, plan.grid, plan.job, plan.regions[0]
    run_dir = plan.run_dir
    t = time.perf_counter()
    result = survey_region(job, region)
    seconds = time.perf_counter() - t
    blob = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    (out / "result.pkl").write_bytes(blob)
    (out / "job.pkl").write_bytes(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
    sizes = {
        "flight": str(flight_path),
        "flight_px": [flight.width, flight.height],
        "gsd_m": flight.gsd_m,
        "region_px": [int(region.core.width), int(region.core.height)],
        "regions": len(grid.regions),
        "region_seconds": round(seconds, 2),
        "result_bytes": len(blob),
        "features_bytes": len(pickle.dumps(result.layers, protocol=pickle.HIGHEST_PROTOCOL)),
        "view_bytes": len(pickle.dumps(result.view, protocol=pickle.HIGHEST_PROTOCOL)),
        "chips_bytes": len(pickle.dumps(result.chips, protocol=pickle.HIGHEST_PROTOCOL)),
        "view_cells": int(result.view.counts.size) if result.view is not None else 0,
        "features": {name: len(frame) for name, frame in result.layers.items()},
        "chips": len(result.chips),
        "job_bytes": len((out / "job.pkl").read_bytes()),
        "region_arg_bytes": len(pickle.dumps(region, protocol=pickle.HIGHEST_PROTOCOL)),
        "run_folder_bytes": {p.name: p.stat().st_size for p in sorted(run_dir.iterdir())},
    }
    (out / "sizes.json").write_text(json.dumps(sizes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=4000, help="tasks per scheduler measurement")
    parser.add_argument("--work-ms", type=float, default=5.0, help="work per task, ms (calibrated)")
    parser.add_argument("--transfers", type=int, default=20, help="region results brought back")
    parser.add_argument("--flight", type=Path, help="flight whose first region is surveyed (default: the demo)")
    parser.add_argument("--survey-region", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--synth-demo", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.survey_region:
        survey_first_region(Path(args.survey_region[0]), Path(args.survey_region[1]))
        return
    if args.synth_demo:
        import rams

        rams.synth(args.synth_demo, preset="demo")
        return

    DATA.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    flight = args.flight or demo_flight()
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        subprocess.run([sys.executable, __file__, "--survey-region", str(flight), tmp], check=True)
        sizes = json.loads((Path(tmp) / "sizes.json").read_text())
        result_blob = (Path(tmp) / "result.pkl").read_bytes()
        job = pickle.loads((Path(tmp) / "job.pkl").read_bytes())

    from distributed import Client, LocalCluster, wait

    from rams.tiling import TileGrid

    # a campaign's task arguments: (flight number, the flight's RegionJob, a region), with the
    # demo flight's real job and the regions of a 1 km² flight at 3 cm, over and over
    regions = TileGrid(FLIGHT_SIDE_PX, FLIGHT_SIDE_PX, tile_px=576, overlap_px=64, region_px=4096).regions
    items = [(i % 7, job, regions[i % len(regions)]) for i in range(args.tasks)]
    blocks, work_s = calibrate(args.work_ms)
    zero, busy = partial(work, 0), partial(work, blocks)

    few = items[:max(WORKERS, args.tasks // 4)]
    threaded = {"zero": timed_map(zero, few, workers=WORKERS, name="zero"),
                "work": timed_map(busy, items, workers=WORKERS, name="work")}
    with ThreadPoolExecutor(WORKERS) as pool:  # the same work without dask: what the machine gives
        t = time.perf_counter()
        list(pool.map(busy, few))
        pool_wall = time.perf_counter() - t

    small = list(range(len(few)))  # arguments dask need not look into
    with LocalCluster(n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as cluster, Client(cluster) as client:
        # the result's pickle on every worker, passed to each task (dask resolves the future)
        blobs = [client.scatter(result_blob, broadcast=True)] * args.transfers
        # warm-up: workers import rams and unpickle its objects once before anything is timed
        timed_map(unpickled, blobs[:2 * WORKERS], client=client, name="warm")
        timed_map(zero, items[:200], client=client, name="warm-zero")
        cluster_runs = {"zero": timed_map(zero, few, client=client, name="zero"),
                        "zero_small_args": timed_map(zero, small, client=client, name="small"),
                        "work": timed_map(busy, items, client=client, name="work")}
        t = time.perf_counter()
        futures = client.map(zero, small, pure=False)
        wait(futures)
        raw_wall = time.perf_counter() - t
        del futures
        back = timed_map(unpickled, blobs, client=client, name="back")["wall_s"]
        kept = timed_map(unpickled_dropped, blobs, client=client, name="kept")["wall_s"]

    per_result = max(0.0, back - kept) / len(blobs)  # results come back one after another to the one client
    distributed_ = {name: figures(run, args.tasks if name == "work" else len(few), work_s if name == "work" else 0.0)
                    for name, run in cluster_runs.items()}
    summary = {
        "tasks": args.tasks,
        "workers": WORKERS,
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "work_ms": round(work_s * 1e3, 3),
        "sha256_blocks": blocks,
        "plain_thread_pool": {"tasks": len(few), "wall_s": round(pool_wall, 3),
                              "ideal_s": round(len(few) * work_s / WORKERS, 3),
                              "overhead_ms_per_task": round((pool_wall * WORKERS / len(few) - work_s) * 1e3, 3)},
        "zero_work_tasks": len(few),
        "threaded": {name: figures(run, args.tasks if name == "work" else len(few), work_s if name == "work" else 0.0)
                     for name, run in threaded.items()},
        "distributed": distributed_,
        "scheduler_tasks_per_s": {"map_regions": distributed_["zero"]["tasks_per_s"],
                                  "map_regions_small_args": distributed_["zero_small_args"]["tasks_per_s"],
                                  "client_map_small_args": round(len(small) / raw_wall, 1)},
        "region_result": sizes,
        "result_transfer": {"results": len(blobs), "returned_s": round(back, 3), "dropped_s": round(kept, 3),
                            "ms_per_result": round(per_result * 1e3, 2),
                            "mb_per_s": round(sizes["result_bytes"] / per_result / 1e6, 1) if per_result else None},
    }
    print(json.dumps(summary, indent=1))
    print_extrapolation(summary)


def print_extrapolation(summary: dict) -> None:
    """The baseline at 3 cm on N workers, from this run's figures."""
    sizes = summary["region_result"]
    region = sizes["region_px"][0] * sizes["region_px"][1]
    per_mpix = sizes["features_bytes"] / (region / 1e6)  # a campaign's result: its features only
    result_bytes = region_result_bytes(4096, per_mpix)
    overhead = max(0.0, summary["distributed"]["work"]["overhead_ms_per_task"] / 1e3)
    rate = summary["scheduler_tasks_per_s"]["map_regions"]
    args = (BASELINE_KM2, BASELINE_GSD_M, MPIX_PER_S_3CM, 4096, overhead, result_bytes, NETWORK_MB_S)
    print(f"\n{BASELINE_KM2:,.0f} km² at {BASELINE_GSD_M * 100:.0f} cm, {MPIX_PER_S_3CM} MPix/s a worker, regions of "
          f"4096 px, {overhead * 1e3:.1f} ms overhead a task, {rate:,.0f} tasks/s, {result_bytes / 1e3:.0f} kB a "
          f"region's result, {NETWORK_MB_S:.0f} MB/s to the client:")
    print(table(*args, rate))
    print(f"  {campaign_time(*args, 1, rate).tasks:,} regions. Workers at which the scheduler's dispatch, and the "
          "client's network, cap the campaign, by region side:")
    for side in (2048, 4096, 8192):
        side_bytes = region_result_bytes(side, per_mpix)
        print(f"    {side:>5} px: {side**2 / (MPIX_PER_S_3CM * 1e6):5.1f} s a region, dispatch caps at "
              f"{dispatch_cap_workers(side, MPIX_PER_S_3CM, overhead, rate):,.0f} workers, transfer at "
              f"{transfer_cap_workers(side, MPIX_PER_S_3CM, overhead, side_bytes, NETWORK_MB_S):,.0f} "
              f"({side_bytes / 1e3:.0f} kB a result)")
    print(f"  200 workers stay under the scheduler's rate with regions of at least "
          f"{min_region_px(200, MPIX_PER_S_3CM, rate, headroom=1):,} px, under a tenth of it with "
          f"{min_region_px(200, MPIX_PER_S_3CM, rate):,} px")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
