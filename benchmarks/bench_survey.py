"""End-to-end survey throughput, peak memory and where the time goes.

    python benchmarks/bench_survey.py [--size 4096] [--gsd 0.03] [--workers N] [--model NAME]

Surveys a synthetic flight (generated once into benchmarks/data/ and reused) with the shipped
model, in a child process so that peak RSS is the survey's own, and measures GDAL's
decode-only read of the same file in the same run as the baseline (machines are shared and
noisy: compare ratios, not absolute numbers, across runs).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).parent / "data"


def child(args: argparse.Namespace) -> None:
    from rams.pipelines.survey import survey

    with tempfile.TemporaryDirectory() as tmp:
        summary = survey(
            args.path, Path(tmp) / "out.gpkg", model=args.model, report=None, workers=args.workers
        )
    summary["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(summary))


def decode_only(path: Path) -> float:
    """MPix/s of GDAL reading the whole flight with all cores (the I/O ceiling)."""
    import numpy as np
    import rasterio

    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"), rasterio.open(path) as ds:
        out = np.empty((ds.count, ds.height, ds.width), dtype=np.uint8)
        t = time.perf_counter()
        ds.read(out=out)
        return ds.width * ds.height / (time.perf_counter() - t) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="flight side in px")
    parser.add_argument("--gsd", type=float, default=0.03, help="ground sample distance, m")
    parser.add_argument("--seed", type=int, default=777)
    parser.add_argument(
        "--workers", type=int, help="local cluster of N processes (default: threads)"
    )
    parser.add_argument("--model", default="rams-det-v2")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"survey_{args.size}_{args.gsd}_{args.seed}.tif"
    if not path.exists():
        from rams.synthetic import generate_flight

        print(f"generating {path} ...", flush=True)
        generate_flight(path, args.size, args.size, args.gsd, args.seed)
    cmd = [sys.executable, __file__, "--child", "--path", str(path), "--model", args.model]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    run = subprocess.run(cmd, check=True, capture_output=True, text=True)
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    ceiling = decode_only(path)
    tasks = summary["task_seconds"]
    wall = summary["wall_seconds"]
    busy = sum(tasks.values())
    print(
        f"flight {args.size}x{args.size} px at {args.gsd * 100:.1f} cm, scheduler: {args.workers or 'threads'}"
    )
    print(f"{'stage':<28}{'seconds':>10}{'share':>8}")
    for stage, sec in tasks.items():
        print(f"{'task ' + stage:<28}{sec:>10.2f}{sec / busy:>8.0%}")
    for stage in ("reduce_and_hazards", "export"):
        print(f"{stage:<28}{wall[stage]:>10.2f}{wall[stage] / summary['seconds']:>8.0%}  (of wall)")
    print(f"regions wall {wall['regions']:.1f} s, total wall {summary['seconds']:.1f} s")
    print(
        f"GDAL decode-only ceiling {ceiling:.1f} MPix/s; survey is {summary['mpix_per_s'] / ceiling:.3f}x of it"
    )
    print(
        f"survey: {summary['mpix_per_s']:.2f} MPix/s, {summary['km2_per_h']:.2f} km2/h at "
        f"{args.gsd * 100:.1f} cm, peak {summary['peak_rss_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
