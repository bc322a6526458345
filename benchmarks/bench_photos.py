"""Photographs against the orthomosaic of the same ground, in one run.

    python benchmarks/bench_photos.py [--repeats 2]

The photos preset (``rams synth --preset photos``, written once under
``benchmarks/data/photos``) holds a drone's tagged photographs of one scene and the
orthomosaic of that scene at the photographs' GSD. In one process, after one warm-up survey
(models loaded, imports done: neither is the job's), the photographs (`rams survey PHOTOS/`:
tags, registration, every photograph's regions, placement, views merged, hazards) and the
orthomosaic are surveyed in turn, ``--repeats`` times, alternating so that a drift of the shared
machine falls on both. The figure is the ratio of their MPix/s (photographs / orthomosaic): the
photographs hold several times the orthomosaic's pixels (each place is in 5 to 10 of them), and
the issue asks that each of their pixels costs no more than 1/0.9 of an orthomosaic's.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import rasterio

DATA = Path(__file__).parent / "data" / "photos"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    import logging

    import rams
    from rams.pipelines.photos import photo_paths, survey_photos
    from rams.pipelines.synth import synth

    logging.basicConfig(level=logging.WARNING)
    if not (DATA / "truth.gpkg").exists():
        synth(DATA, preset="photos")
    photos = photo_paths([DATA / "photos"])
    photo_mpix = 0.0
    for path in photos:
        with rasterio.open(path) as src:
            photo_mpix += src.width * src.height / 1e6
    with rasterio.open(DATA / "ortho.tif") as src:
        ortho_mpix = src.width * src.height / 1e6
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-photos-") as tmp:
        rams.survey(DATA / "ortho.tif", Path(tmp) / "warm.gpkg", report=None)
        for repeat in range(args.repeats):
            t = time.perf_counter()
            survey_photos([DATA / "photos"], Path(tmp) / f"photos-{repeat}.gpkg")
            photo_s = time.perf_counter() - t
            t = time.perf_counter()
            rams.survey(DATA / "ortho.tif", Path(tmp) / f"ortho-{repeat}.gpkg", report=None)
            ortho_s = time.perf_counter() - t
            rows.append({"photos_s": round(photo_s, 2), "ortho_s": round(ortho_s, 2),
                         "photos_mpix_per_s": round(photo_mpix / photo_s, 3),
                         "ortho_mpix_per_s": round(ortho_mpix / ortho_s, 3),
                         "ratio": round((photo_mpix / photo_s) / (ortho_mpix / ortho_s), 3)})
            print(json.dumps(rows[-1]), file=sys.stderr)
    print(json.dumps({"photos": len(photos), "photo_mpix": round(photo_mpix, 1), "ortho_mpix": round(ortho_mpix, 1),
                      "runs": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
