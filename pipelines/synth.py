"""Write a synthetic survey flight with its ground-truth labels (`rams synth`)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from rams.errors import RamsError, refuse_existing
from rams.synthetic import DEMO, dsm_path, generate_flight, labels_path
from rams.synthetic.campaign import CampaignFiles, generate_campaign
from rams.synthetic.photos import PhotoFiles, generate_photos

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
    frame: str | os.PathLike | None = None,
    frame_gsd_m: float | None = None,
    jpeg_quality: int | None = None,
) -> tuple[Path, Path] | CampaignFiles | PhotoFiles:
    """Write a synthetic survey flight and its exact ground truth; returns (GeoTIFF, labels).

    The flight is a cloud-optimised uint8 RGB GeoTIFF of ``width_px`` × ``height_px`` px at
    ``gsd_m`` metres per pixel in ``crs`` (a projected CRS in metres, default EPSG:32638, UTM
    38N); the labels are ``OUT.labels.gpkg`` beside it (layers in the same CRS). ``bands``
    ``"rgb+dsm"`` also writes a float32 surface model in metres (``OUT.dsm.tif``). The same
    arguments give byte-identical files. ``preset="demo"`` fixes size, GSD, seed and CRS to
    the bundled demo flight (``out`` defaults to ``demo/flight.tif``). ``threads``: rendering
    threads (default: the cores this process may use). An existing output (the GeoTIFF, its labels
    or DSM) is refused with a `RamsError` unless ``overwrite``.

    With ``frame`` (a real nadir drone photograph) the generator's objects are composited onto
    it instead, brought to ``gsd_m`` (see :mod:`rams.synthetic.real_ground`; ``frame_gsd_m``
    defaults to its known flight's, ``jpeg_quality`` of the final pass to 90); the size is the
    frame's ground.

    ``preset="photos"`` writes into folder ``out`` the nadir photographs a drone takes over one
    scene, tagged as a DJI camera tags them, with the scene's truth and its orthomosaic (see
    :func:`rams.synthetic.photos.generate_photos`; only ``seed`` and ``threads`` may be given).
    """
    if frame is not None:
        return _on_frame(out, frame, gsd_m, seed, width_px, preset, bands, crs, frame_gsd_m,
                         jpeg_quality, overwrite)
    if frame is None and (frame_gsd_m, jpeg_quality) != (None, None):
        raise RamsError(out or "synth", "--frame-gsd and --jpeg-quality go with --frame")
    if preset == "campaign":
        return _campaign(out, width_px, gsd_m, seed, crs, bands, threads, overwrite)
    if preset == "photos":
        return _photos(out, width_px, gsd_m, seed, crs, bands, threads, overwrite)
    if preset == "demo":
        fixed = [n for n, v in (("size", width_px), ("gsd", gsd_m), ("seed", seed)) if v is not None]
        if fixed:
            raise RamsError(out or DEMO_PATH, f"--preset demo fixes size, gsd and seed; drop --{fixed[0]}")
        out = out or DEMO_PATH
        width_px, height_px, gsd_m, seed = DEMO.width_px, DEMO.height_px, DEMO.gsd_m, DEMO.seed
        crs, bands = crs or DEMO.crs, bands or DEMO.bands
    elif preset is not None:
        raise RamsError(out or "synth", f"unknown preset {preset!r} (known: demo, campaign, photos)")
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


def _folder_preset(preset: str, what: str, out: str | os.PathLike | None, threads: int | None,
                   given: tuple[tuple[str, object], ...]) -> None:
    """Refuse what a folder preset (``campaign``, ``photos``) fixes, a missing OUT (the folder
    ``what`` goes in) or a bad thread count, each with one line."""
    fixed = [name for name, value in given if value is not None]
    if fixed:
        names = ", ".join(name.removesuffix("-px") for name, _ in given)
        raise RamsError(out or "synth", f"--preset {preset} fixes {names}; drop --{fixed[0]}")
    if out is None:
        raise RamsError("synth", f"missing OUT: the folder {what} goes in")
    if threads is not None and threads < 1:
        raise RamsError(out, "--threads must be at least 1")
    logging.getLogger("pyogrio").setLevel(logging.WARNING)


def _campaign(out: str | os.PathLike | None, width_px: int | None, gsd_m: float | None,
              seed: int | None, crs: str | None, bands: str | None, threads: int | None,
              overwrite: bool) -> CampaignFiles:
    _folder_preset("campaign", "the campaign", out, threads,
                   (("size-px", width_px), ("gsd", gsd_m), ("seed", seed), ("crs", crs), ("bands", bands)))
    start = time.perf_counter()
    files = generate_campaign(out, workers=threads, overwrite=overwrite)
    secs = time.perf_counter() - start
    mpix = sum(w * h for w, h in (f.size_px for f in files.layout.flights)) / 1e6
    log.info("wrote %s: %s and %s (%.1f MPix in %.0f s)", files.folder,
             ", ".join(p.name for p in files.flights), files.truth.name, mpix, secs)
    return files


def _photos(out: str | os.PathLike | None, width_px: int | None, gsd_m: float | None,
            seed: int | None, crs: str | None, bands: str | None, threads: int | None,
            overwrite: bool) -> PhotoFiles:
    _folder_preset("photos", "the photographs", out, threads,
                   (("size-px", width_px), ("gsd", gsd_m), ("crs", crs), ("bands", bands)))
    start = time.perf_counter()
    kwargs = {} if seed is None else {"seed": seed}
    files = generate_photos(out, workers=threads, overwrite=overwrite, **kwargs)
    secs = time.perf_counter() - start
    log.info("wrote %s: %d photographs in %s/ (%.1f MPix), %s and %s in %.0f s", files.folder,
             len(files.photos), files.photos[0].parent.name, files.plan.megapixels,
             files.truth.name, files.ortho.name, secs)
    return files


def _on_frame(out: str | os.PathLike | None, frame: str | os.PathLike, gsd_m: float | None,
              seed: int | None, width_px: int | None, preset: str | None, bands: str | None,
              crs: str | None, frame_gsd_m: float | None, jpeg_quality: int | None,
              overwrite: bool) -> tuple[Path, Path]:
    from rams.synthetic.real_ground import generate_real_ground_flight

    where = out or frame
    for name, value in (("size-px", width_px), ("preset", preset)):
        if value is not None:
            raise RamsError(where, f"--frame takes its size from the frame; drop --{name}")
    if bands not in (None, "rgb"):
        raise RamsError(where, "--frame writes RGB only (a photograph has no surface model)")
    missing = [n for n, v in (("out", out), ("gsd", gsd_m), ("seed", seed)) if v is None]
    if missing:
        raise RamsError(where, f"missing {missing[0]}")
    refuse_existing(out, labels_path(Path(out)), overwrite=overwrite)
    logging.getLogger("pyogrio").setLevel(logging.WARNING)
    tif, labels = generate_real_ground_flight(out, frame, gsd_m, seed, frame_gsd_m=frame_gsd_m,
                                              crs=crs or "EPSG:32638",
                                              jpeg_quality=90 if jpeg_quality is None else jpeg_quality)
    log.info("wrote %s and %s (objects on %s at %g m)", tif, labels, Path(frame).name, gsd_m)
    return tif, labels
