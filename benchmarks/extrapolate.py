"""How long a campaign takes on N dask workers, and what sets the pace: a pure model.

    python benchmarks/extrapolate.py [--area-km2 8236] [--gsd 0.03] [--mpix-per-s 3.91]
        [--scheduler-tasks-per-s R] [--overhead-ms O] [--result-bytes B] [--network-mb-s 100]

Three things run side by side and the slowest sets the wall time:

- inference: the regions shared among N workers, each region costing its pixels at the
  worker's throughput plus the scheduler's overhead per task (worker-seconds lost per task);
- dispatch: one dask scheduler hands out every task, at a rate (tasks/s, all workers together)
  that does not grow with N;
- result transfer: every region's result travels back to the one client, through its network.

Start-up (workers importing torch and loading the model, a few seconds each) and the client's
merge after the last region are left out. The inputs come from measurements:
``bench_survey.py`` gives a worker's MPix/s, ``bench_scheduler.py`` the overhead per task, the
scheduler's rate and the bytes of a region's result.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Estimate:
    """Seconds of each side of a campaign, the wall time (the slowest) and which one it is."""

    workers: int
    tasks: int
    inference_s: float
    dispatch_s: float
    transfer_s: float

    @property
    def wall_s(self) -> float:
        return max(self.inference_s, self.dispatch_s, self.transfer_s)

    @property
    def dominant(self) -> str:
        sides = {"inference": self.inference_s, "scheduler": self.dispatch_s, "transfer": self.transfer_s}
        return max(sides, key=sides.__getitem__)


def campaign_time(area_km2: float, gsd_m: float, mpix_per_s: float, region_px: int, overhead_s: float,
                  result_bytes: float, network_mb_s: float, workers: int,
                  scheduler_tasks_per_s: float) -> Estimate:
    """Wall time of surveying ``area_km2`` of ground at ``gsd_m`` (m per px) in square regions of
    ``region_px`` px a side on ``workers`` workers of ``mpix_per_s`` each (whole-survey
    throughput, MPix/s), ``overhead_s`` worker-seconds lost per task, ``result_bytes`` sent back per
    region through the client's ``network_mb_s`` (MB/s), one scheduler dispatching
    ``scheduler_tasks_per_s`` tasks/s in all."""
    pixels = area_km2 * 1e6 / gsd_m**2
    tasks = math.ceil(pixels / region_px**2)
    task_s = region_px**2 / (mpix_per_s * 1e6) + overhead_s
    return Estimate(
        workers=workers,
        tasks=tasks,
        inference_s=math.ceil(tasks / workers) * task_s,
        dispatch_s=tasks / scheduler_tasks_per_s,
        transfer_s=tasks * result_bytes / (network_mb_s * 1e6),
    )


def dispatch_cap_workers(region_px: int, mpix_per_s: float, overhead_s: float, scheduler_tasks_per_s: float) -> float:
    """Workers at which the scheduler's dispatch rate caps the campaign: N workers finish
    N / task_s tasks a second, which must stay under the scheduler's rate."""
    return scheduler_tasks_per_s * (region_px**2 / (mpix_per_s * 1e6) + overhead_s)


def transfer_cap_workers(region_px: int, mpix_per_s: float, overhead_s: float, result_bytes: float,
                         network_mb_s: float) -> float:
    """Workers at which the client's network caps the campaign (results arrive as fast as the
    network takes them)."""
    return network_mb_s * 1e6 / result_bytes * (region_px**2 / (mpix_per_s * 1e6) + overhead_s)


def min_region_px(workers: int, mpix_per_s: float, scheduler_tasks_per_s: float, headroom: float = 10.0) -> int:
    """The smallest region side (px) at which ``workers`` ask the scheduler for at most
    1/``headroom`` of its rate (off the critical path with room for bursts and retries)."""
    return math.ceil(math.sqrt(workers * mpix_per_s * 1e6 * headroom / scheduler_tasks_per_s))


def region_result_bytes(region_px: int, feature_bytes_per_mpix: float) -> float:
    """Bytes of one campaign region's result: its features (a campaign's tasks return no view
    share and cut no chips), taken as proportional to its area (``feature_bytes_per_mpix``)."""
    return feature_bytes_per_mpix * region_px**2 / 1e6


def duration(seconds: float) -> str:
    """``seconds`` as days, hours or minutes, whichever reads best."""
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min"


def table(area_km2: float, gsd_m: float, mpix_per_s: float, region_px: int, overhead_s: float,
          result_bytes: float, network_mb_s: float, scheduler_tasks_per_s: float,
          workers: tuple[int, ...] = (1, 10, 50, 200)) -> str:
    """A Markdown table of :func:`campaign_time` for each count of ``workers``."""
    rows = ["| workers | regions | inference | scheduler | result transfer | wall | set by |",
            "|---|---|---|---|---|---|---|"]
    for n in workers:
        e = campaign_time(area_km2, gsd_m, mpix_per_s, region_px, overhead_s, result_bytes, network_mb_s, n,
                          scheduler_tasks_per_s)
        rows.append(f"| {n} | {e.tasks:,} | {duration(e.inference_s)} | {duration(e.dispatch_s)} | "
                    f"{duration(e.transfer_s)} | {duration(e.wall_s)} | {e.dominant} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--area-km2", type=float, default=8236.0)
    parser.add_argument("--gsd", type=float, default=0.03, help="m per px")
    parser.add_argument("--mpix-per-s", type=float, default=3.91, help="one worker's whole-survey MPix/s")
    parser.add_argument("--region-px", type=int, default=4096)
    parser.add_argument("--overhead-ms", type=float, required=True, help="scheduler overhead per task, ms")
    parser.add_argument("--scheduler-tasks-per-s", type=float, required=True)
    parser.add_argument("--result-bytes", type=float, required=True, help="bytes of one region's result")
    parser.add_argument("--network-mb-s", type=float, default=100.0, help="the client's network, MB/s")
    args = parser.parse_args()
    print(table(args.area_km2, args.gsd, args.mpix_per_s, args.region_px, args.overhead_ms / 1e3,
                args.result_bytes, args.network_mb_s, args.scheduler_tasks_per_s))


if __name__ == "__main__":
    main()
