"""Detector inference throughput on the card's uint8 tiles (batch 8), plus its context pass.

Usage: python benchmarks/bench_detector.py [--model rams-det-v2] [--batches 6] [--threads 2]

MPix/s are flight pixels: each tile counts its core only (the tile less its overlap), as a
survey's tiles do when their cores pack its regions (576 px tiles with 64 px overlap, 512 px
cores, in 4,096 px regions).

Uses the shipped model when it loads (else the default architecture, randomly initialised: the
speed is the same), through ``Detector.predict`` (BatchNorm folded, inference mode; fp16 autocast
on CUDA). The context model (trenches, positions) runs once per region on the block-averaged
pixels; its cost is measured on a survey's default region at 3 cm (4,096 px and the tiles'
overlap, as the survey reads it), cut into the context card's tiles. The verifier's cost is per candidate
(cutting its patch out of a 2048 px region at 3 cm and scoring it, through its cascade at a given
share passing the first member): candidates/s, turned into MPix/s at a given candidate density.
Prints one line per device; the last line is the summary on the preferred device.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from rams.detector.context import context_factor
from rams.detector.detector import Detector
from rams.detector.model import CLASSES, build_model
from rams.detector.verifier import PatchEnsemble, patch_probabilities
from rams.errors import RamsError
from rams.inference import context_probabilities
from rams.patches import crop_patches, patch_scale
from rams.tiling import TileGrid


def _detector(name: str, device: str) -> Detector:
    try:
        return Detector.load(name, device=device)
    except RamsError:
        card = {"name": "untrained", "input_bands": ["red", "green", "blue"], "classes": CLASSES}
        return Detector(build_model(), card, device=device)


def bench(det: Detector, tile_px: int, overlap_px: int, batch: int, batches: int) -> tuple[float, float]:
    """(tiles/s, core MPix/s) of ``det.predict`` over random uint8 batches, after one warm-up."""
    x = np.random.default_rng(0).integers(0, 256, (batch, 3, tile_px, tile_px), dtype=np.uint8)
    det.predict(x)
    if det.device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(batches):
        det.predict(x)
    if det.device.type == "cuda":
        torch.cuda.synchronize()
    tiles_s = batch * batches / (time.perf_counter() - t0)
    return tiles_s, tiles_s * (tile_px - overlap_px) ** 2 / 1e6


def bench_context(det: Detector, region_px: int = TileGrid.region_px + TileGrid.overlap_px,
                  gsd_m: float = 0.03) -> float:
    """Full-resolution MPix/s of the context pass over one region (0 when there is none)."""
    if det.context is None:
        return 0.0
    card = det.context.card
    k = context_factor(gsd_m, float(card["input_gsd_m"]))
    img = np.random.default_rng(1).integers(0, 256, (3, region_px, region_px), dtype=np.uint8)
    channels = [CLASSES.index(c) for c in det.context.outputs]

    def run() -> None:
        context_probabilities(det.context, img, k, int(card["tile_px"]), int(card["overlap_px"]), channels)
    run()  # warm-up: CUDA kernels are chosen for the context tiles' shapes on first use
    t0 = time.perf_counter()
    run()
    return region_px * region_px / 1e6 / (time.perf_counter() - t0)


def bench_verifier(det: Detector, prefilter_share: float, n: int = 8192) -> float:
    """Candidates/s of the submunition verifier, patches cut and scored (0 when there is none).

    A cascade's cost depends on how many candidates pass its first member, which random pixels
    do not show: the first member is timed on every patch and the whole ensemble on
    ``prefilter_share`` of them (the share measured on real candidates), and the times are added.
    """
    ver = det.verifier
    if ver is None:
        return 0.0
    rng = np.random.default_rng(2)
    region = rng.integers(0, 256, (3, 2048, 2048), dtype=np.uint8)
    rc = rng.uniform(0, 2048, (n, 2))
    scale = patch_scale(ver.patch_gsd_m, 0.03)
    cascade = isinstance(ver.model, PatchEnsemble) and ver.prefilter is not None
    first = ver.model.members[0] if cascade else ver.model
    patch_probabilities(ver.model, crop_patches(region, rc[:256], ver.patch_px, scale), ver.device)  # warm-up
    t0 = time.perf_counter()
    patches = crop_patches(region, rc, ver.patch_px, scale)
    patch_probabilities(first, patches, ver.device)
    if cascade:
        patch_probabilities(ver.model, patches[:max(1, round(n * prefilter_share))], ver.device)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="rams-det-v2")
    ap.add_argument("--tile-px", type=int, help="tile side, px (default: the card's)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--batches", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--candidates-per-mpix", type=float, default=85.0,
                    help="candidates the verifier scores per MPix of flight (heatmap peaks >= 0.12, the "
                         "shipped candidate_threshold, on the synthetic validation flights: ~85)")
    ap.add_argument("--prefilter-share", type=float, default=0.15,
                    help="share of those candidates a cascading verifier's first member passes to the "
                         "whole ensemble (rams-ver-v6's first member, rams-ver-v4, on the synthetic validation "
                         "flights: 1,495 of 9,952)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    last = ""
    for device in devices:
        det = _detector(args.model, device)
        tile_px = args.tile_px or int(det.card.get("tile_px", 512))
        tiles_s, mpix_s = bench(det, tile_px, int(det.card.get("overlap_px", 64)), args.batch,
                                args.batches if device == "cpu" else 10 * args.batches)
        label = f"cpu x{args.threads} threads" if device == "cpu" else torch.cuda.get_device_name()
        ctx = bench_context(det)
        ver = bench_verifier(det, args.prefilter_share)
        ver_mpix = ver / args.candidates_per_mpix if ver else 0.0
        both = 1 / (1 / mpix_s + (1 / ctx if ctx else 0) + (1 / ver_mpix if ver_mpix else 0))
        print(f"{det.card['name']} on {label}: {tiles_s:.2f} tiles/s, {mpix_s:.2f} MPix/s "
              f"(batch {args.batch}, 1-min load average {load:.1f}); context pass {ctx:.1f} MPix/s; "
              f"verifier {ver:.0f} candidates/s ({ver_mpix:.1f} MPix/s at {args.candidates_per_mpix:g} "
              f"candidates/MPix); all {both:.2f} MPix/s: 1 km2 at 3 cm (1.11 Gpx) in {1111 / both / 60:.1f} min")
        last = (f"detector: {both:.2f} MPix/s with context and verifier ({mpix_s:.2f} tiles only; "
                f"{tiles_s:.2f} tiles/s, {tile_px} px, {label})")
    print(last)


if __name__ == "__main__":
    main()
