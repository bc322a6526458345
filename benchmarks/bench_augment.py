"""A verifier training batch's augmentation, with and without JPEG, and the batched JPEG against a
real codec (Pillow's libjpeg) called patch by patch, as the augmentation did before.

Usage: python benchmarks/bench_augment.py [--batch 512] [--repeats 5] [--threads 2]

32 px patches, JPEG on half of them at qualities 30-95 on grids 1-2 times coarser (the verifier
configs' settings). Prints seconds per batch on each device and the ratios within the run.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch

from rams.training.augment import AugmentConfig, augment_batch
from rams.training.jpeg import codec_round_trip, jpeg_batch

AUGMENT = AugmentConfig(brightness=0.15, contrast=0.3, colour=0.12, blur_p=0.3, noise_std=6.0, jpeg_p=0.5,
                        jpeg_quality=(30, 95), jpeg_scale=(1.0, 2.0))


def _seconds(fn, repeats: int, device: torch.device) -> float:
    fn()  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / repeats


def _on(device: torch.device, patches: np.ndarray, quality: np.ndarray, scale: np.ndarray, repeats: int,
        codec: float) -> str:
    """One device's line: the batched JPEG of the first half of ``patches``, and the augmentation
    of them all with and without JPEG."""
    x = torch.from_numpy(patches).to(device)
    half = x[: len(quality)].float()
    q, s = (torch.from_numpy(a).float().to(device) for a in (quality, scale))
    batched = _seconds(lambda: jpeg_batch(half, q, s), repeats, device)
    g = torch.Generator(device=device).manual_seed(0)
    tgt = torch.zeros(len(x), 1, 1, 1, device=device)
    full = _seconds(lambda: augment_batch(x, tgt, g, AUGMENT), repeats, device)
    bare = _seconds(lambda: augment_batch(x, tgt, g, dataclasses.replace(AUGMENT, jpeg_p=0.0)), repeats, device)
    return (f"{device.type}: batched JPEG {batched:.4f} s for {len(quality)} patches ({codec / batched:.1f}x faster "
            f"than the codec); augmentation of {len(x)} patches {full:.4f} s with JPEG, {bare:.4f} s without "
            f"({full / bare:.2f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    patches = rng.integers(0, 256, (args.batch, 3, 32, 32), dtype=np.uint8)
    quality = rng.integers(30, 96, args.batch // 2)
    scale = rng.uniform(1.0, 2.0, args.batch // 2)
    draws = list(zip(patches, quality.tolist(), scale.tolist(), strict=False))  # the first half of the patches
    codec = _seconds(lambda: [codec_round_trip(p, q, s) for p, q, s in draws], args.repeats, torch.device("cpu"))
    print(f"real codec, patch by patch (cpu): {codec:.4f} s for {len(quality)} patches")
    for device in [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else []):
        print(_on(device, patches, quality, scale, args.repeats, codec))


if __name__ == "__main__":
    main()
