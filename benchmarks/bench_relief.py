"""What the optional elevation band costs a survey's region reads.

    python benchmarks/bench_relief.py [--size 4096] [--repeats 3]

A synthetic flight with its surface model (`rams synth --bands rgb+dsm`, 3 cm) is written once to
benchmarks/data/. Every region of the survey's default grid is read as RGB alone and as RGB plus
the relief of the DSM (warped onto the flight's grid, ground estimated, uint8-encoded), in
alternation, in this process. Reported as MPix/s and as the ratio of the two within this run.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from rams.elevation import sidecar, with_dsm
from rams.flight import open_flight
from rams.reading import read_region
from rams.synthetic import generate_flight
from rams.tiling import TileGrid

DATA = Path(__file__).parent / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=4096, help="flight side (px)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    tif = DATA / f"relief-{args.size}.tif"
    if not (tif.is_file() and sidecar(tif).is_file()):
        DATA.mkdir(exist_ok=True)
        generate_flight(tif, args.size, args.size, 0.03, 5150, bands="rgb+dsm")
    flight = with_dsm(open_flight(tif), sidecar(tif))
    grid = TileGrid(flight.width, flight.height, tile_px=512, overlap_px=64, region_px=4096,
                    block_shape=flight.block_shape)
    mpix = sum(r.read.width * r.read.height for r in grid.regions) / 1e6
    seconds: dict[str, list[float]] = {"rgb": [], "rgb+relief": []}
    for _ in range(args.repeats):
        for name, relief in (("rgb", False), ("rgb+relief", True)):
            t0 = time.perf_counter()
            for region in grid.regions:
                read_region(flight, region, relief=relief)
            seconds[name].append(time.perf_counter() - t0)
    best = {name: min(s) for name, s in seconds.items()}
    print(json.dumps({
        "size_px": args.size,
        "regions": len(grid.regions),
        "mpix_read": round(mpix, 1),
        "mpix_per_s": {name: round(mpix / s, 1) for name, s in best.items()},
        "relief_read_cost_ratio": round(best["rgb+relief"] / best["rgb"], 2),
    }, indent=1))


if __name__ == "__main__":
    main()
