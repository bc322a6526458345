"""Tiling-core throughput against GDAL's decode-only ceiling and the naive per-tile loop.

    python benchmarks/bench_tiling.py [--size 16384] [--workers N]

Each measurement runs in its own process (so peak RSS is its own) over the same textured,
3-band, 512-px tiled DEFLATE GeoTIFF, written once to benchmarks/data/ and reused. Reported as
ratios within this run: the machines are shared and noisy, absolute numbers drift.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

DATA = Path(__file__).parent / "data"
TILE, OVERLAP = 512, 64


def make_raster(path: Path, size: int) -> None:
    """A textured 3-band uint8 raster (compresses like imagery, not like a constant)."""
    rng = np.random.default_rng(0)
    coarse = rng.integers(40, 200, size=(3, size // 64 + 2, size // 64 + 2)).astype(np.float32)
    profile = dict(
        driver="GTiff",
        width=size,
        height=size,
        count=3,
        dtype="uint8",
        crs="EPSG:32638",
        transform=Affine(0.03, 0, 600000, 0, -0.03, 4400000),
        tiled=True,
        blockxsize=512,
        blockysize=512,
        compress="deflate",
        interleave="pixel",
    )
    tmp = path.with_suffix(".part.tif")
    with rasterio.open(tmp, "w", **profile) as dst:
        for r0 in range(0, size, 512):
            rows = np.arange(r0, r0 + 512) / 64.0
            cols = np.arange(size) / 64.0
            ri, ci = rows.astype(int), cols.astype(int)
            fr, fc = (rows - ri)[:, None], (cols - ci)[None, :]
            base = (
                coarse[:, ri][:, :, ci] * (1 - fr) * (1 - fc)
                + coarse[:, ri + 1][:, :, ci] * fr * (1 - fc)
                + coarse[:, ri][:, :, ci + 1] * (1 - fr) * fc
                + coarse[:, ri + 1][:, :, ci + 1] * fr * fc
            )
            base += rng.normal(0, 12, size=base.shape)
            dst.write(np.clip(base, 0, 255).astype(np.uint8), window=((r0, r0 + 512), (0, size)))
    tmp.rename(path)


def run_decode(path: Path, workers: int) -> dict:
    with rasterio.Env(GDAL_NUM_THREADS=str(workers)), rasterio.open(path) as ds:
        out = np.empty((ds.count, ds.height, ds.width), dtype=np.uint8)
        t = time.perf_counter()
        ds.read(out=out)
        seconds = time.perf_counter() - t
    t = time.perf_counter()
    copy = np.empty_like(out)
    np.copyto(copy, out)
    return {
        "seconds": seconds,
        "memcpy_seconds": time.perf_counter() - t,
        "pixels": out.shape[1] * out.shape[2],
    }


def run_rams(path: Path, workers: int) -> dict:
    from rams.flight import open_flight
    from rams.parallel import map_regions
    from rams.reading import batches, read_region, valid_tiles
    from rams.tiling import TileGrid

    flight = open_flight(path)
    grid = TileGrid(flight.width, flight.height, TILE, OVERLAP, block_shape=flight.block_shape)

    def region_task(region) -> int:
        pixels = read_region(flight, region, reuse=True)
        n = 0
        for group, batch in batches(pixels, valid_tiles(pixels, region), 16):
            n += len(group)
            assert batch.flags.c_contiguous
        return n

    t = time.perf_counter()
    tiles = sum(map_regions(region_task, grid.regions, workers=workers))
    return {
        "seconds": time.perf_counter() - t,
        "pixels": flight.width * flight.height,
        "tiles": tiles,
    }


def run_naive(path: Path, workers: int) -> dict:
    from rams.tiling import TileGrid

    with rasterio.open(path) as ds:
        grid = TileGrid(ds.width, ds.height, TILE, OVERLAP, block_shape=ds.block_shapes[0])
        t = time.perf_counter()
        tiles = 0
        for tile in grid.tiles():
            ds.read(window=tile.window)
            tiles += 1
        return {"seconds": time.perf_counter() - t, "pixels": ds.width * ds.height, "tiles": tiles}


RUNS = {"decode": run_decode, "rams": run_rams, "naive": run_naive}


def one(kind: str, path: Path, workers: int) -> None:
    result = RUNS[kind](path, workers)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=16384, help="raster side in px")
    parser.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--one", choices=RUNS, help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(args.one, args.path, args.workers)
        return
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"tiling_{args.size}.tif"
    if not path.exists():
        print(f"writing {path} ...", flush=True)
        make_raster(path, args.size)
    results = {}
    for kind in ("decode", "rams", "naive"):
        cmd = [
            sys.executable,
            __file__,
            "--one",
            kind,
            "--path",
            str(path),
            "--workers",
            str(args.workers),
        ]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results[kind] = json.loads(out.strip().splitlines()[-1])
    mpix = {k: v["pixels"] / v["seconds"] / 1e6 for k, v in results.items()}
    raw_mb = results["decode"]["pixels"] * 3 / 2**20
    print(
        f"raster {args.size}x{args.size} px, 3 bands, {raw_mb:.0f} MB raw, {args.workers} workers"
    )
    print(f"{'what':<34}{'MPix/s':>10}{'seconds':>10}{'peak RSS MB':>14}")
    memcpy = results["decode"]["pixels"] / results["decode"]["memcpy_seconds"] / 1e6
    print(
        f"{'numpy memcpy of the same bytes':<34}{memcpy:>10.0f}{results['decode']['memcpy_seconds']:>10.2f}{'':>14}"
    )
    names = {
        "decode": "GDAL decode-only full read",
        "rams": "rams tiling core (batches)",
        "naive": "naive window read per tile",
    }
    for kind, label in names.items():
        r = results[kind]
        print(f"{label:<34}{mpix[kind]:>10.1f}{r['seconds']:>10.2f}{r['peak_rss_mb']:>14.0f}")
    print(f"tiles delivered: rams {results['rams']['tiles']}, naive {results['naive']['tiles']}")
    print(
        f"tiling: {mpix['rams']:.1f} MPix/s, {mpix['rams'] / mpix['decode']:.2f}x decode-only, "
        f"{mpix['rams'] / mpix['naive']:.2f}x naive"
    )


if __name__ == "__main__":
    main()
