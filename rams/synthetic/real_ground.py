"""Rams' own objects composited onto a real drone frame, with exact labels (`rams synth --frame`).

The frame (see :mod:`rams.synthetic.real_frames` for the known flights and their held-out
frames) is resampled to the requested GSD and becomes a north-up flight on the same made-up
projected grid `rams synth` uses. A scene is laid out on its ground by the generator's own
layout, of which only the things that lie on the ground are kept: submunitions (strikes and
isolated items), stones, scrap, cans, bottles and fence posts, from the field catalogue
(:mod:`rams.synthetic.catalogue`: eleven submunition and mine types, each item weathered and
posed its own way, and look-alike caps, pine cones, litter, cartridge cases, fragments and
clods). The layout's own vegetation is left out (the frame has its own), and with it the
canopy that hid some items: those get a visible share drawn as the layout draws it. Each is
painted by the generator's own painter at its real size in metres, then made to look like the
frame around it:

- lit like the ground under it: the painter works in the generator's light, in which its own
  ground has the colour ``REFERENCE_GROUND``; the object is scaled by the local ground's median
  brightness against that reference, and by half its colour cast (the other half is taken to be
  the ground's own colour, not the light's);
- as soft as the frame: the change it makes is blurred by the frame's own blur (measured on the
  frame, brought to the output GSD, less what a rendered pixel already has);
- as noisy as the frame: the frame's noise, measured on it, is added where the object covers
  the ground (one field for the three bands: JPEG keeps little colour noise);
- and the whole flight goes through one JPEG pass at the end.

Pixels away from the objects are the resampled frame's, changed only by that pass. The same
frame, GSD and seed give the same bytes.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from affine import Affine
from PIL import Image
from pyproj import CRS
from scipy.ndimage import gaussian_filter

from rams.errors import RamsError
from rams.synthetic.canvas import Canvas
from rams.synthetic.flight import generate_scene, labels_path
from rams.synthetic.ground import DRY_GRASS, GREEN_GRASS, SOIL
from rams.synthetic.labels import label_frames, write_labels
from rams.synthetic.objects import paint_item, paint_stone, paint_thing
from rams.synthetic.real_frames import (
    FLIGHTS,
    PIXEL_SIGMA_PX,
    RealFlight,
    estimate_blur_px,
    estimate_noise,
    flight_of,
    read_frame,
    resample,
)
from rams.synthetic.scene import Scene

GSD_RANGE_M = (0.005, 0.04)
REFERENCE_GROUND = (SOIL + DRY_GRASS + GREEN_GRASS) / 3  # the generator's ground, its light
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_GAIN_RANGE = (0.25, 2.0)  # brightness: from deep shade to bright concrete
_CAST_RANGE = (0.8, 1.25)  # per band, after halving the ground's colour cast
# painted in this order, as the generator paints them: later objects lie over earlier ones
_PAINTERS: tuple[tuple[str, Callable], ...] = (
    ("stones", paint_stone), ("things", paint_thing), ("items", paint_item))


@dataclass
class Composite:
    """A real frame with objects on it: RGB uint8 (3, H, W), its north-up ``transform`` and
    ``crs`` (WKT), the label layers of `rams synth`, the ``scene`` they were read from, the bare
    resampled frame ``ground`` (before objects and JPEG), and the camera measured on the frame:
    ``blur_px`` (Gaussian sigma added to objects, output px) and ``noise`` (std, 0-255 levels)."""

    rgb: np.ndarray
    transform: Affine
    crs: str
    labels: dict[str, gpd.GeoDataFrame]
    scene: Scene
    ground: np.ndarray
    blur_px: float
    noise: float


def ground_scene(width_px: int, height_px: int, gsd_m: float, seed: int, crs: str,
                 flight: RealFlight | None, catalogue: str = "field") -> Scene:
    """The objects that lie on the ground of a flight of this size, GSD and seed, as the
    generator lays them out (same places for any GSD of the same ground), lit by a sun drawn
    from ``flight``'s range (any direction, 40-70 deg high, for an unknown flight). The
    ``catalogue`` is the field one (see :mod:`rams.synthetic.catalogue`) unless asked."""
    full = generate_scene(width_px, height_px, gsd_m, seed, crs, catalogue)
    rng = np.random.default_rng([seed, 0x5A1])
    azimuth = rng.uniform(*(flight.sun_azimuth_deg if flight else (0.0, 360.0)))
    elevation = rng.uniform(*(flight.sun_elevation_deg if flight else (40.0, 70.0)))
    items = []
    for it in full.items:
        buried, share = rng.uniform() < 0.3, float(rng.uniform(0.35, 0.9))  # as the layout draws
        if it.visible_fraction == 0:
            it = replace(it, visible_fraction=share if buried else 1.0)
        items.append(it)
    return Scene(seed, full.bounds, gsd_m, float(azimuth), float(elevation),
                 strikes=full.strikes, items=items, stones=full.stones, things=full.things)


def _light(ground: np.ndarray) -> np.ndarray:
    """Per-band gain (3,) that takes the generator's light to the light on this ground patch."""
    m = np.median(ground.reshape(3, -1), axis=1).astype(np.float32) / 255 + 1e-3
    ref = REFERENCE_GROUND.astype(np.float32)
    gain = np.clip(float(_LUMA @ m) / float(_LUMA @ ref), *_GAIN_RANGE)
    cast = np.clip(np.sqrt((m / float(_LUMA @ m)) / (ref / float(_LUMA @ ref))), *_CAST_RANGE)
    return (gain * cast).astype(np.float32)


def _paint_one(out: np.ndarray, ground: np.ndarray, scene: Scene, layer: int, index: int,
               blur_px: float, noise: float, grain_px: float) -> None:
    """Composite object ``index`` of ``_PAINTERS[layer]`` into ``out`` (uint8, in place)."""
    name, paint = _PAINTERS[layer]
    box = scene.index[name][index]
    g, (x0, _, _, y1) = scene.gsd_m, scene.bounds
    margin = int(np.ceil(4 * blur_px)) + 2  # the blur's reach (gaussian_filter truncates at 4)
    _, h, w = out.shape
    c0 = max(0, int(np.floor((box[0] - x0) / g)) - margin)
    c1 = min(w, int(np.ceil((box[2] - x0) / g)) + margin + 1)
    r0 = max(0, int(np.floor((y1 - box[3]) / g)) - margin)
    r1 = min(h, int(np.ceil((y1 - box[1]) / g)) + margin + 1)
    if c0 >= c1 or r0 >= r1:
        return
    win = (slice(None), slice(r0, r1), slice(c0, c1))
    cv = Canvas(scene, x0 + (np.arange(c0, c1) + 0.5) * g, y1 - (np.arange(r0, r1) + 0.5) * g)
    here = out[win].astype(np.float32) / 255
    gain = _light(ground[win])[:, None, None]
    cv.rgb[...] = here / gain
    patch = cv.patch(tuple(box))
    if patch is None:
        return
    paint(cv, getattr(scene, name)[index], patch, index)
    delta = cv.rgb * gain - here
    touched = (np.abs(delta).max(0) > 0.5 / 255).astype(np.float32)
    if not touched.any():
        return
    if blur_px > 0:
        delta = gaussian_filter(delta, (0, blur_px, blur_px), mode="constant")
        touched = np.clip(gaussian_filter(touched, blur_px, mode="constant"), 0, 1)
    grain = np.random.default_rng([scene.seed, 0x6A1, layer, index]).standard_normal(
        touched.shape).astype(np.float32)
    if grain_px > 0:  # a frame brought to a finer grid has noise grains wider than a pixel
        grain = gaussian_filter(grain, grain_px, mode="reflect")
    grain *= noise / 255 / max(float(grain.std()), 1e-6)
    out[win] = np.clip((here + delta + touched * grain) * 255 + 0.5, 0, 255).astype(np.uint8)


def jpeg_pass(rgb: np.ndarray, quality: int) -> np.ndarray:
    """uint8 RGB (3, H, W) compressed to JPEG at ``quality`` (1-100) and decoded again."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb.transpose(1, 2, 0))).save(buf, "JPEG",
                                                                      quality=int(quality))
    with Image.open(buf) as im:
        return np.ascontiguousarray(np.asarray(im.convert("RGB")).transpose(2, 0, 1))


def composite(frame: np.ndarray, frame_gsd_m: float, gsd_m: float, seed: int, *,
              flight: RealFlight | None = None, crs: str = "EPSG:32638",
              jpeg_quality: int | None = 90, catalogue: str = "field") -> Composite:
    """Rams' objects on a real frame, uint8 RGB (3, H, W) taken at ``frame_gsd_m`` metres per
    pixel, brought to ``gsd_m`` (see the module's description); ``flight`` sets the sun, and
    ``jpeg_quality`` None leaves the JPEG pass out; ``catalogue`` "classic" paints the
    objects of `rams synth`'s own flights instead of the field catalogue's."""
    where = Path(f"<frame composite {seed}>")
    if not GSD_RANGE_M[0] <= gsd_m <= GSD_RANGE_M[1]:
        raise RamsError(where, f"GSD {gsd_m} m is outside {GSD_RANGE_M[0]}-{GSD_RANGE_M[1]} m")
    if not 0.002 <= frame_gsd_m <= 0.2:
        raise RamsError(where, f"frame GSD {frame_gsd_m} m is not a drone frame's (0.002-0.2 m)")
    if jpeg_quality is not None and not 1 <= jpeg_quality <= 100:
        raise RamsError(where, f"JPEG quality must be 1-100, not {jpeg_quality}")
    ratio = gsd_m / frame_gsd_m  # output px per frame px, inverted: > 1 is coarser
    # the frame's blur in output px; area averaging adds a pixel's own blur, as rendering does
    blur = estimate_blur_px(frame) / ratio
    blur_px = float(np.sqrt(max(blur**2 - (0.0 if ratio > 1 else PIXEL_SIGMA_PX**2), 0.0)))
    noise = estimate_noise(frame) / max(ratio, 1.0)
    grain_px = 0.5 / ratio if ratio < 1 else 0.0
    ground = resample(frame, frame_gsd_m, gsd_m)
    h, w = ground.shape[1:]
    crs_wkt = CRS.from_user_input(crs).to_wkt()
    scene = ground_scene(w, h, gsd_m, seed, crs, flight, catalogue)
    out = ground.copy()
    for layer, (name, _) in enumerate(_PAINTERS):
        for i in range(len(getattr(scene, name))):
            _paint_one(out, ground, scene, layer, i, blur_px, noise, grain_px)
    if jpeg_quality is not None:
        out = jpeg_pass(out, jpeg_quality)
    transform = Affine(gsd_m, 0.0, scene.bounds[0], 0.0, -gsd_m, scene.bounds[3])
    return Composite(out, transform, crs_wkt, label_frames(scene, crs_wkt), scene, ground,
                     blur_px, float(noise))


def generate_real_ground_flight(out_tif: str | Path, frame_path: str | Path, gsd_m: float,
                                seed: int, *, frame_gsd_m: float | None = None,
                                crs: str = "EPSG:32638", jpeg_quality: int = 90
                                ) -> tuple[Path, Path]:
    """Write rams' objects composited onto the frame ``frame_path`` as a flight at ``gsd_m``
    metres per pixel: a tiled RGB GeoTIFF and ``OUT.labels.gpkg`` (the layers of `rams synth`);
    returns both paths. ``frame_gsd_m`` defaults to the known flight's (by the frame's folder,
    see ``FLIGHTS``). The same arguments give the same bytes."""
    out = Path(out_tif)
    if out.suffix.lower() not in (".tif", ".tiff"):
        raise RamsError(out, "output must be a .tif file")
    flight = flight_of(frame_path)
    if frame_gsd_m is None:
        if flight is None:
            raise RamsError(frame_path, "unknown frame GSD: give --frame-gsd (known flights: "
                                        f"{', '.join(FLIGHTS)})")
        frame_gsd_m = flight.gsd_m
    frame = read_frame(frame_path)
    comp = composite(frame, frame_gsd_m, gsd_m, seed, flight=flight, crs=crs,
                     jpeg_quality=jpeg_quality)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    _, h, w = comp.rgb.shape
    profile = dict(driver="GTiff", width=w, height=h, count=3, dtype="uint8",
                   crs=rasterio.crs.CRS.from_wkt(comp.crs), transform=comp.transform,
                   tiled=True, blockxsize=512, blockysize=512, compress="DEFLATE", predictor=2,
                   photometric="RGB")
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(comp.rgb)
            dst.update_tags(REAL_GROUND_FRAME=Path(frame_path).name,
                            REAL_GROUND_FRAME_GSD_M=f"{frame_gsd_m:g}",
                            REAL_GROUND_BLUR_PX=f"{comp.blur_px:.3f}",
                            REAL_GROUND_NOISE=f"{comp.noise:.3f}",
                            REAL_GROUND_JPEG_QUALITY=str(jpeg_quality), SEED=str(seed))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out, write_labels(comp.labels, labels_path(out))


__all__ = ["GSD_RANGE_M", "REFERENCE_GROUND", "Composite", "composite",
           "generate_real_ground_flight", "ground_scene", "jpeg_pass"]
