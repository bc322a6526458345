"""End-to-end survey throughput, peak memory and where the time goes, flight by flight.

    python benchmarks/bench_survey.py [--size 8192] [--gsd 0.03] [--workers N]
    python benchmarks/bench_survey.py --photogrammetry [--gpx 0.25 1]

Each flight is surveyed by the `rams survey` command in a child process (report included), so
that the wall time is the whole command's, interpreter start included, and the peak RSS is the
survey's own (everything heavy runs in children: a child's peak RSS counts its parent's).
Beside each survey, in the same run, GDAL decodes the same file with all cores: the
decode-only ceiling. Machines are shared and noisy: compare ratios within one run.

By default the flight is rams' own synthetic COG (``--size`` px square at ``--gsd``, with
overviews). ``--photogrammetry`` surveys flights as photogrammetry software writes them (RGBA
with an alpha band, DEFLATE tiles, BigTIFF, no overviews; see ``orthomosaic.py``): 16 MPix at
1 cm beside the same ground at 2 cm, then 1 cm flights of ``--gpx`` gigapixels, then a 3 cm
synthetic COG as the demo-style reference; the 10 Gpx time is extrapolated from the measured
growth and said to be so.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyogrio
import rasterio
from affine import Affine
from rasterio.enums import Resampling

sys.path.insert(0, str(Path(__file__).parent))
from orthomosaic import photogrammetry_flight, side_for  # noqa: E402

DATA = Path(__file__).parent / "data"
#: Stages that come after the region pass.
AFTER_PASS = ("hazards", "report", "geopackage", "finish")


def child(*args: str) -> str:
    """This script run with ``args`` in a child process; its standard output. Everything heavy
    runs in children, so that this process stays small: a child's peak RSS counts its parent's."""
    return subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True).stdout


def decode_only(path: Path) -> float:
    """MPix/s of GDAL decoding the whole flight with all cores, a band of rows at a time."""
    with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS", GDAL_CACHEMAX=64), rasterio.open(path) as ds:
        rows = max(1, (1 << 28) // (ds.width * ds.count))  # ~256 MB a band
        t = time.perf_counter()
        for r0 in range(0, ds.height, rows):
            ds.read(window=((r0, min(ds.height, r0 + rows)), (0, ds.width)))
        return ds.width * ds.height / (time.perf_counter() - t) / 1e6


def survey(path: Path, workers: int | None = None) -> dict:
    """Run `rams survey` on ``path`` in a child; its wall time, peak RSS, log line and stages."""
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        out = Path(tmp) / "out.gpkg"
        cmd = [sys.executable, "-m", "rams.cli.main", "survey", str(path), "-o", str(out)]
        if workers:
            cmd += ["--workers", str(workers)]
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        stderr = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"survey of {path} failed:\n{stderr}")
        meta = pyogrio.read_dataframe(out, layer="metadata")
        keys = dict(zip(meta["key"], meta["value"], strict=True))
    with rasterio.open(path) as ds:
        pixels = ds.width * ds.height
    logged = next(float(line.split(" in ")[1].split(" s ")[0]) for line in stderr.splitlines() if " wrote " in line)
    return {"path": path, "pixels": pixels, "wall": wall, "logged": logged, "peak_mb": usage.ru_maxrss / 1024,
            "stages": json.loads(keys["stage_seconds"]), "decode": float(child("--decode", str(path)))}


def report(name: str, run: dict) -> None:
    stages, wall = run["stages"], run["wall"]
    after = sum(stages.get(s, 0.0) for s in AFTER_PASS)
    print(f"\n{name}: {run['pixels'] / 1e6:,.0f} MPix, {run['path'].name}")
    print("  " + "  ".join(f"{k} {v:.1f}" for k, v in stages.items()) + "  (s, GeoPackage metadata)")
    print(f"  wall {wall:.1f} s, log {run['logged']:.1f} s; {run['pixels'] / 1e6 / wall:.2f} MPix/s of flight px end "
          f"to end; after the region pass {after:.1f} s = {after / wall:.1%} of the wall")
    print(f"  peak RSS {run['peak_mb']:,.0f} MB; GDAL decode-only {run['decode']:.1f} MPix/s "
          f"(the survey is {run['pixels'] / 1e6 / wall / run['decode']:.3f}x of it)")


def write_twin(fine: Path, path: Path, factor: int) -> None:
    """Write the ground of ``fine`` ``factor`` times coarser to ``path``, in the same layout."""
    with rasterio.open(fine) as src:
        data = src.read(out_shape=(src.count, src.height // factor, src.width // factor),
                        resampling=Resampling.average)
        profile = src.profile | {"width": data.shape[2], "height": data.shape[1],
                                 "transform": src.transform @ Affine.scale(factor)}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)


def coarser_twin(fine: Path, factor: int) -> Path:
    """The same ground as ``fine`` written ``factor`` times coarser (made in a child)."""
    path = fine.with_name(f"{fine.stem}_x{factor}.tif")
    if not path.exists():
        child("--twin", str(fine), str(path), str(factor))
    return path


def synthetic(size: int, gsd: float, seed: int = 777) -> Path:
    path = DATA / f"survey_{size}_{gsd}_{seed}.tif"
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        child("--synthetic", str(path), str(size), str(gsd), str(seed))
    return path


def photogrammetry(gpx: list[float]) -> None:
    runs = {}
    small = DATA / "ortho_16mpix_1cm.tif"
    if not small.exists():
        child("--write", str(small), "4096")
    runs["16 MPix at 1 cm"] = survey(small)
    runs["the same ground at 2 cm"] = survey(coarser_twin(small, 2))
    for size in gpx:
        path = DATA / f"ortho_{size}gpx_1cm.tif"
        if not path.exists():
            print(f"writing {path} ...", flush=True)
            child("--write", str(path), str(side_for(size)))
        runs[f"{size} Gpx at 1 cm"] = survey(path)
    runs["demo-style COG at 3 cm"] = survey(synthetic(4096, 0.03))
    for name, run in runs.items():
        report(name, run)
    fine, coarse = runs["16 MPix at 1 cm"], runs["the same ground at 2 cm"]
    print(f"\n16 MPix at 1 cm costs {fine['wall'] / coarse['wall']:.2f}x the same ground at 2 cm (wall)")
    big = [runs[f"{size} Gpx at 1 cm"] for size in gpx]
    if len(big) >= 2:
        px = np.array([r["pixels"] for r in big], float)
        slope, intercept = np.polyfit(px, [r["wall"] for r in big], 1)
        print(f"extrapolated, not measured: 10 Gpx at 1 cm in {(intercept + slope * 1e10) / 60:.0f} min "
              f"({1e-6 / slope:.2f} MPix/s marginal); peak RSS {big[-1]['peak_mb'] / big[0]['peak_mb']:.2f}x "
              f"from {big[0]['pixels'] / 1e9:.2f} to {big[-1]['pixels'] / 1e9:.2f} Gpx")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="synthetic flight side in px")
    parser.add_argument("--gsd", type=float, default=0.03, help="synthetic flight GSD, m")
    parser.add_argument("--seed", type=int, default=777)
    parser.add_argument("--workers", type=int, help="local cluster of N processes (default: threads)")
    parser.add_argument("--photogrammetry", action="store_true",
                        help="flights as photogrammetry writes them, 16 MPix to --gpx gigapixels")
    parser.add_argument("--gpx", type=float, nargs="+", default=[0.25, 1.0])
    # the work done in children (see `child`)
    parser.add_argument("--decode", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--twin", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--write", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--synthetic", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.decode:
        print(decode_only(args.decode))
        return
    if args.twin:
        write_twin(Path(args.twin[0]), Path(args.twin[1]), int(args.twin[2]))
        return
    if args.write:
        photogrammetry_flight(Path(args.write[0]), int(args.write[1]), 0.01, DATA)
        return
    if args.synthetic:
        from rams.synthetic import generate_flight

        out, size, gsd, seed = args.synthetic
        generate_flight(Path(out), int(size), int(size), float(gsd), int(seed))
        return
    DATA.mkdir(parents=True, exist_ok=True)
    if args.photogrammetry:
        photogrammetry(args.gpx)
    else:
        report(f"synthetic COG at {args.gsd * 100:.1f} cm", survey(synthetic(args.size, args.gsd, args.seed),
                                                                    args.workers))


if __name__ == "__main__":
    main()
