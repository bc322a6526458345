"""Regions as dask tasks: windows go in, small results come out.

A task receives a `Region` (a few integers) and opens the flight itself, so no pixels travel
between workers. The same graph runs on dask's local threaded scheduler (GDAL and numpy
release the GIL) or on a dask.distributed cluster.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import dask
import dask.threaded
from dask.callbacks import Callback

T = TypeVar("T")
R = TypeVar("R")


class _OnDone(Callback):
    """Calls ``on_done(result)`` as each region task of a threaded run finishes."""

    def __init__(self, keys: set, on_done: Callable[[Any], None]) -> None:
        super().__init__()
        self._keys = keys
        self._on_done = on_done

    def _posttask(self, key, result, dsk, state, worker_id) -> None:
        if key in self._keys:
            self._on_done(result)


#: Where a Linux container's CPU quota lies (cgroup v2): "QUOTA PERIOD" in microseconds, or "max PERIOD".
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def cpu_quota(path: Path | None = None) -> int | None:
    """The cores a cgroup (v2) CPU quota allows (``path``, by default ``CGROUP_CPU_MAX``), rounded
    up; None where no quota is set or readable."""
    try:  # "max PERIOD" (no quota) or anything unreadable fails the int() or the unpacking
        quota, period = (int(field) for field in (path or CGROUP_CPU_MAX).read_text().split())
    except (OSError, ValueError):
        return None
    return max(1, math.ceil(quota / period)) if quota > 0 and period > 0 else None


def default_workers() -> int:
    """Threads or processes for local work: the cores this process may use (its CPU affinity,
    capped by the container's CPU quota where one is set: a machine's core count can be many
    times what a container is given)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = cpu_quota()
    return min(cores, quota) if quota else cores


def map_regions(
    func: Callable[[T], R],
    items: Sequence[T],
    *,
    workers: int | None = None,
    client: Any | None = None,
    on_done: Callable[[R], None] | None = None,
    name: str = "region",
) -> list[R]:
    """Run ``func`` on every item as one dask task each; results in input order.

    With ``client`` (a dask.distributed Client) tasks run on its cluster; otherwise on the
    local threaded scheduler with ``workers`` threads. ``on_done`` is called in the caller's
    process as each task finishes (progress, checkpoints).
    """
    if not items:
        return []
    keys = [f"{name}-{i:07d}" for i in range(len(items))]  # sorted as given
    # items go in whole: dask need not look inside them for tasks (thousands of regions' nested
    # fields cost the client milliseconds each)
    tasks = [dask.delayed(func)(dask.delayed(item, traverse=False), dask_key_name=k)
             for k, item in zip(keys, items, strict=True)]
    if client is not None:
        from distributed import as_completed

        futures = client.compute(tasks)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        for future in as_completed(futures):
            result = future.result()
            results[index[future.key]] = result
            if on_done is not None:
                on_done(result)
            future.release()
        return results
    progress = _OnDone(set(keys), on_done) if on_done is not None else contextlib.nullcontext()
    with progress:
        # a callable scheduler: naming "threads" makes dask import distributed to look for a client
        return list(dask.compute(*tasks, scheduler=dask.threaded.get, num_workers=workers or default_workers()))
