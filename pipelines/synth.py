"""Write a synthetic survey flight with its ground-truth labels (`rams synth`)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from rams.errors import RamsError, refuse_existing
from rams.synthetic import DEMO, dsm_path, generate_flight, labels_path

log = logging.getLogger(__name__)
DEMO_PATH = Path("demo/flight.tif")


def synth(
    out: str | os.PathLike | None = None,
    width_px: int | None = None,
    height_px: int | None = None,
    gsd_m: float | None = None,
    seed: int | None = None,
    *,
    crs: str | None = None,
    bands: str | None = None,
    preset: str | None = None,
    threads: int | None = None,
    overwrite: bool = False,
) -> tuple[Path, Path]:
    """Write a synthetic survey flight and its exact ground truth; returns (GeoTIFF, labels).

    The flight is a cloud-optimised uint8 RGB GeoTIFF of ``width_px`` × ``height_px`` px at
    ``gsd_m`` metres per pixel in ``crs`` (a projected CRS in metres, default EPSG:32638, UTM
    38N); the labels are ``OUT.labels.gpkg`` beside it (layers in the same CRS). ``bands``
    ``"rgb+dsm"`` also writes a float32 surface model in metres (``OUT.dsm.tif``). The same
    arguments give byte-identical files. ``preset="demo"`` fixes size, GSD, seed and CRS to
    the bundled demo flight (``out`` defaults to ``demo/flight.tif``). ``threads``: rendering
    threads (default: the cores this process may use). An existing output (the GeoTIFF, its labels
    or DSM) is refused with a `RamsError` unless ``overwrite``.
    """
    if preset == "demo":
        fixed = [n for n, v in (("size", width_px), ("gsd", gsd_m), ("seed", seed)) if v is not None]
        if fixed:
            raise RamsError(out or DEMO_PATH, f"--preset demo fixes size, gsd and seed; drop --{fixed[0]}")
        out = out or DEMO_PATH
        width_px, height_px, gsd_m, seed = DEMO.width_px, DEMO.height_px, DEMO.gsd_m, DEMO.seed
        crs, bands = crs or DEMO.crs, bands or DEMO.bands
    elif preset is not None:
        raise RamsError(out or "synth", f"unknown preset {preset!r} (known: demo)")
    else:
        given = (("out", out), ("size-px", width_px), ("size-px", height_px), ("gsd", gsd_m), ("seed", seed))
        missing = [name for name, value in given if value is None]
        if missing:
            raise RamsError(out or "synth", f"missing {missing[0]} (or use --preset demo)")
    if threads is not None and threads < 1:
        raise RamsError(out, "--threads must be at least 1")
    dsm = dsm_path(Path(out)) if (bands or "rgb") == "rgb+dsm" else None
    refuse_existing(out, labels_path(Path(out)), dsm, overwrite=overwrite)
    logging.getLogger("pyogrio").setLevel(logging.WARNING)  # one line per layer is noise
    start = time.perf_counter()
    tif, labels = generate_flight(Path(out), width_px, height_px, gsd_m, seed, crs=crs or "EPSG:32638",
                                  bands=bands or "rgb", workers=threads)
    secs = time.perf_counter() - start
    log.info("wrote %s and %s (%dx%d px, %.1f MPix/s)", tif, labels, width_px, height_px,
             width_px * height_px / 1e6 / secs)
    return tif, labels
