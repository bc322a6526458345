"""Synthetic flight generation speed and peak memory.

python benchmarks/bench_synth.py [--size 8192] [--gsd 0.03] [--workers N]
Last line: ``synth: <X> MPix/s, peak <M> MB``.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from rams.synthetic import generate_flight


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=8192, help="flight width = height (px)")
    ap.add_argument("--gsd", type=float, default=0.03)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        tif, _ = generate_flight(Path(tmp) / "bench.tif", args.size, args.size, args.gsd,
                                 args.seed, workers=args.workers)
        secs = time.perf_counter() - start
        mb = tif.stat().st_size / 1e6
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    mpix = args.size * args.size / 1e6
    print(f"{args.size}x{args.size} px at {args.gsd} m: {secs:.1f} s, file {mb:.0f} MB")
    print(f"synth: {mpix / secs:.2f} MPix/s, peak {peak:.0f} MB")


if __name__ == "__main__":
    main()
