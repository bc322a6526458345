"""Training data: labelled flights in memory, chip sampling with class balancing, targets.

A labelled flight is a GeoTIFF (bands 1-3, uint8 RGB) plus a labels GeoPackage with the layers
the synthetic generator writes (real labelled flights use the same names). Targets are drawn per
chip from the vector labels at the chip's own pixel grid, so scale jitter never blurs them:
trench mask from ``trench_polygons``, position mask from ``positions``, submunition heatmap as
a gaussian (sigma = item length / 4 px, at least 1.5 px) peaking at exactly 1.0 on the centre pixel;
items with ``visible_fraction`` 0 (under vegetation) get no peak.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import torch
import torch.nn.functional as F
from affine import Affine
from rasterio.features import rasterize

from rams.detector.context import context_factor
from rams.elevation import relief_levels, relief_on_grid, sidecar
from rams.errors import RamsError
from rams.evaluation.metrics import earthwork_outlines, in_earthworks
from rams.resample import block_mean

LABEL_LAYERS = ("submunitions", "trenches", "trench_polygons", "positions", "vegetation",
                "distractors")
SAMPLE_KINDS = ("submunition", "submunition_in_earthworks", "position", "trench", "distractor",
                "vegetation", "random")
#: The kind a chip is centred on instead when a flight has no object of the kind drawn
#: (otherwise a random point).
SAMPLE_FALLBACK = {"submunition_in_earthworks": "submunition"}
MIN_SIGMA_PX = 1.5


def read_labels(gpkg: str | Path) -> dict[str, gpd.GeoDataFrame]:
    """All label layers of a GeoPackage; a layer that is absent comes back empty."""
    try:
        present = set(gpd.list_layers(gpkg)["name"])
    except Exception as err:  # pyogrio raises several DataSource errors for unreadable files
        raise RamsError(gpkg, f"cannot read labels GeoPackage ({err})") from err
    return {layer: (gpd.read_file(gpkg, layer=layer) if layer in present
                    else gpd.GeoDataFrame(geometry=[]))
            for layer in LABEL_LAYERS}


@dataclass
class LabelledFlight:
    """A flight held in memory for training/validation, with its labels and sampling anchors."""

    path: str
    image: np.ndarray  # uint8 (3, H, W), or (4, H, W) with the elevation band
    transform: Affine
    crs: object
    gsd_m: float
    labels: dict[str, gpd.GeoDataFrame]
    anchors: dict[str, np.ndarray] = field(default_factory=dict)  # kind -> (K, 2) px (row, col)
    # kind -> (K,) probability of drawing each anchor; uniform when absent
    anchor_p: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.image.shape[1]), int(self.image.shape[2])


def load_labelled_flight(tif: str | Path, gpkg: str | Path, gsd_m: float | None = None,
                         elevation: bool = False) -> LabelledFlight:
    """Read RGB (bands 1-3, uint8) and labels (see :func:`labelled_flight` for ``gsd_m``); with
    ``elevation`` the relief of the DSM beside the flight (``F.dsm.tif``) as a fourth band."""
    try:
        with rasterio.open(tif) as ds:
            if ds.count < 3 or ds.dtypes[0] != "uint8":
                raise RamsError(tif, f"need >= 3 uint8 bands, got {ds.count} {ds.dtypes[0]}")
            image, transform, crs = ds.read([1, 2, 3]), ds.transform, ds.crs
    except rasterio.errors.RasterioIOError as err:
        raise RamsError(tif, f"cannot read raster ({err})") from err
    if elevation:
        dsm = sidecar(tif)
        if not dsm.is_file():
            raise RamsError(tif, f"training with an elevation band needs {dsm.name} beside the flight")
        relief = relief_on_grid(dsm, crs, transform, image.shape[2], image.shape[1])
        image = np.concatenate([image, relief[None]])
    return labelled_flight(str(tif), image, transform, crs, read_labels(gpkg), gsd_m)


def synth_labelled_flight(seed: int, width_px: int, height_px: int, gsd_m: float, crs: str,
                          input_gsd_m: float | None = None, elevation: bool = False) -> LabelledFlight:
    """A synthetic flight rendered in memory (as ``rams synth`` would write it, no files), with
    the relief of its surface model as a fourth band when ``elevation``."""
    from rams.synthetic import render_flight  # only needed when seeds are asked for

    image, transform, wkt, labels, z = render_flight(width_px, height_px, gsd_m, seed, crs)
    if elevation:
        image = np.concatenate([image, relief_levels(z, np.ones(z.shape, bool), gsd_m)[None]])
    return labelled_flight(f"synthetic seed {seed}", image, transform, wkt, labels, input_gsd_m)


def labelled_flight(path: str, image: np.ndarray, transform: Affine, crs: object,
                    labels: dict[str, gpd.GeoDataFrame], gsd_m: float | None = None) -> LabelledFlight:
    """A flight for training: uint8 RGB (3, H, W) (+ elevation band) on ``transform``, its label layers, and the
    pixel positions (anchors) of each object kind.

    With ``gsd_m`` (metres) the image is block-averaged by the integer factor that brings its GSD
    closest to it (for context models, see :mod:`rams.detector.context`).
    """
    if gsd_m is not None:
        k = context_factor(abs(transform.a), gsd_m)
        image, transform = block_mean(image, k), transform @ Affine.scale(k)
    labels = {layer: labels.get(layer, gpd.GeoDataFrame(geometry=[])) for layer in LABEL_LAYERS}
    inv = ~transform
    anchors = {}
    for kind, layer in (("submunition", "submunitions"), ("position", "positions"),
                        ("trench", "trenches"), ("distractor", "distractors"),
                        ("vegetation", "vegetation")):
        geoms = labels[layer].geometry
        if layer == "trenches":  # points every ~2 m along the centre lines
            pts = [line.interpolate(d) for line in geoms
                   for d in np.arange(0.0, line.length, 2.0)]
        else:
            pts = list(geoms.representative_point()) if len(geoms) else []
        rc = np.array([(inv @ (p.x, p.y))[::-1] for p in pts], dtype=np.float64).reshape(-1, 2)
        anchors[kind] = rc
    anchors["submunition_in_earthworks"] = anchors["submunition"][_visible_in_earthworks(labels)]
    return LabelledFlight(path, image, transform, crs, float(abs(transform.a)), labels,
                          anchors, {"submunition": type_balanced(labels["submunitions"])})


def _visible_in_earthworks(labels: dict[str, gpd.GeoDataFrame]) -> np.ndarray:
    """Per submunition: not hidden under vegetation, and in a trench or position or at its edge
    (:func:`rams.evaluation.metrics.in_earthworks`), where cluster strikes aimed at fortifications
    leave items on shaded floors, walls and spoil."""
    items = labels["submunitions"]
    if len(items) == 0:
        return np.zeros(0, bool)
    points = items.geometry.representative_point()
    xy = np.column_stack([points.x, points.y])
    visible = items["visible_fraction"].to_numpy(float) > 0 if "visible_fraction" in items \
        else np.ones(len(items), bool)
    return visible & in_earthworks(xy, earthwork_outlines(labels))


def type_balanced(items: gpd.GeoDataFrame) -> np.ndarray:
    """Per-item drawing probabilities giving every ``munition_type`` of the flight an equal share.

    A strike leaves tens to hundreds of items of one type, so uniform drawing would show the
    network mostly the commonest (often the smallest) type.
    """
    if len(items) == 0 or "munition_type" not in items:
        return np.full(len(items), 1.0 / max(len(items), 1))
    types = items["munition_type"].astype(str).to_numpy()
    _, inverse, counts = np.unique(types, return_inverse=True, return_counts=True)
    p = 1.0 / counts[inverse]
    return p / p.sum()


def gaussian_heatmap(rc_px: np.ndarray, sigma_px: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Max-combined gaussians (peak 1.0 on the rounded centre pixel) at (row, col) positions."""
    heat = np.zeros(shape, np.float32)
    h, w = shape
    for (r, c), s in zip(np.round(rc_px).astype(int), sigma_px, strict=True):
        rad = int(np.ceil(3 * s))
        r0, r1, c0, c1 = max(r - rad, 0), min(r + rad + 1, h), max(c - rad, 0), min(c + rad + 1, w)
        if r0 >= r1 or c0 >= c1:
            continue
        yy, xx = np.ogrid[r0 - r:r1 - r, c0 - c:c1 - c]
        g = np.exp(-(yy * yy + xx * xx) / (2 * s * s)).astype(np.float32)
        np.maximum(heat[r0:r1, c0:c1], g, out=heat[r0:r1, c0:c1])
    return heat


def rasterise_targets(labels: dict[str, gpd.GeoDataFrame], transform: Affine,
                      shape: tuple[int, int]) -> np.ndarray:
    """Targets (3, H, W) float32 on the pixel grid ``transform``/``shape`` (any GSD)."""
    gsd = abs(transform.a)
    out = np.zeros((3,) + shape, np.float32)
    for ch, layer in ((0, "trench_polygons"), (1, "positions")):
        geoms = [g for g in labels[layer].geometry if g is not None and not g.is_empty]
        if geoms:
            out[ch] = rasterize(geoms, out_shape=shape, transform=transform, fill=0,
                                default_value=1, dtype="uint8")
    subs = labels["submunitions"]
    if "visible_fraction" in subs and len(subs):  # items hidden under vegetation cannot be seen
        subs = subs[subs["visible_fraction"].to_numpy(float) > 0]
    if len(subs):
        inv = ~transform
        xy = np.array([(p.x, p.y) for p in subs.geometry])
        cols, rows = inv @ (xy[:, 0], xy[:, 1])
        # pixel (i, j) covers [i, i+1): the centre pixel of a point is floor, i.e. round(x - 0.5)
        rc = np.stack([rows - 0.5, cols - 0.5], axis=1)
        size_m = subs["length_m"].to_numpy(float) if "length_m" in subs else np.full(len(subs), 0.1)
        sigma = np.maximum(size_m / gsd / 4.0, MIN_SIGMA_PX)
        inside = (rc[:, 0] > -10) & (rc[:, 0] < shape[0] + 10) & (rc[:, 1] > -10) \
            & (rc[:, 1] < shape[1] + 10)
        out[2] = gaussian_heatmap(rc[inside], sigma[inside], shape)
    return out


def sample_chip(flight: LabelledFlight, rng: np.random.Generator, chip_px: int, kind: str,
                gsd_m: float) -> tuple[np.ndarray, np.ndarray]:
    """One chip resampled to ``gsd_m``: (uint8 image (3,chip,chip), float32 targets (3,chip,chip)).

    ``kind`` picks the chip centre: near a random object of that kind (when the flight has none,
    of its :data:`SAMPLE_FALLBACK` kind, else anywhere), or anywhere ("random").
    """
    h, w = flight.shape
    scale = gsd_m / flight.gsd_m  # source px per chip px
    src = min(int(round(chip_px * scale)), h, w)
    anchors = flight.anchors.get(kind, np.empty((0, 2)))
    if not len(anchors) and kind in SAMPLE_FALLBACK:
        kind = SAMPLE_FALLBACK[kind]
        anchors = flight.anchors.get(kind, np.empty((0, 2)))
    if kind != "random" and len(anchors):
        p = flight.anchor_p.get(kind)
        pick = rng.choice(len(anchors), p=p) if p is not None else rng.integers(len(anchors))
        r, c = anchors[pick] + rng.uniform(-0.4, 0.4, 2) * src
    else:
        r, c = rng.uniform(0, h), rng.uniform(0, w)
    r0 = int(np.clip(round(r - src / 2), 0, h - src))
    c0 = int(np.clip(round(c - src / 2), 0, w - src))
    img = flight.image[:, r0:r0 + src, c0:c0 + src]
    if src != chip_px:
        t = torch.from_numpy(np.ascontiguousarray(img)).float()[None]
        t = F.interpolate(t, size=(chip_px, chip_px), mode="bilinear", align_corners=False,
                          antialias=True)
        img = t[0].round().clamp(0, 255).to(torch.uint8).numpy()
    step = src / chip_px
    transform = flight.transform @ Affine.translation(c0, r0) @ Affine.scale(step)
    return np.ascontiguousarray(img), rasterise_targets(flight.labels, transform,
                                                        (chip_px, chip_px))


def sample_batch(flights: list[LabelledFlight], rng: np.random.Generator, batch_size: int,
                 chip_px: int, kind_weights: dict[str, float],
                 gsd_range_m: tuple[float, float], scale_jitter_p: float
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """A class-balanced batch: (uint8 (N,3,chip,chip), float32 targets (N,3,chip,chip)).

    With probability ``scale_jitter_p`` a chip is resampled to a GSD drawn uniformly from
    ``gsd_range_m`` (limited to 0.6-1.6x the native GSD to avoid extreme resampling).
    """
    kinds = list(kind_weights)
    p = np.array([kind_weights[k] for k in kinds], float)
    imgs, tgts = [], []
    for _ in range(batch_size):
        flight = flights[rng.integers(len(flights))]
        gsd = flight.gsd_m
        if rng.random() < scale_jitter_p:
            gsd = float(np.clip(rng.uniform(*gsd_range_m), 0.6 * gsd, 1.6 * gsd))
        img, tgt = sample_chip(flight, rng, chip_px, kinds[rng.choice(len(kinds), p=p / p.sum())],
                               gsd)
        imgs.append(img)
        tgts.append(tgt)
    return torch.from_numpy(np.stack(imgs)), torch.from_numpy(np.stack(tgts))
