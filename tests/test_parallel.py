"""How many cores local work may use: CPU affinity, capped by a container's cgroup CPU quota."""

from __future__ import annotations

import os

import pytest

from rams import parallel
from rams.parallel import cpu_quota, default_workers


@pytest.mark.parametrize(("text", "cores"), [("1600000 100000\n", 16), ("150000 100000", 2), ("50000 100000", 1),
                                             ("max 100000\n", None), ("", None), ("garbage here", None)])
def test_cpu_quota_reads_cgroup_v2_cpu_max(tmp_path, text, cores) -> None:
    path = tmp_path / "cpu.max"
    path.write_text(text)
    assert cpu_quota(path) == cores


def test_no_cgroup_file_means_no_quota(tmp_path) -> None:
    assert cpu_quota(tmp_path / "absent") is None


def test_default_workers_is_capped_by_the_quota(tmp_path, monkeypatch) -> None:
    cores = len(os.sched_getaffinity(0))
    path = tmp_path / "cpu.max"
    monkeypatch.setattr(parallel, "CGROUP_CPU_MAX", path)
    path.write_text("max 100000")
    assert default_workers() == cores
    path.write_text(f"{100000 * (cores + 8)} 100000")  # a quota above the affinity does not add cores
    assert default_workers() == cores
    path.write_text("100000 100000")
    assert default_workers() == 1
