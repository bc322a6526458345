"""Channels-last against the default memory layout on the CPU, inference and training alike.

Usage: python benchmarks/bench_layout.py [--threads 2] [--repeats 5]

``rams.detector.model.on_device`` puts every network in the channels-last layout on the CPU.
This measures why, in one run (the layouts alternate, so the machine's noise hits both): the
heatmap network (RamsNet, default widths) on a batch of 8 tiles of 576 px (inference, BatchNorm
folded) and on 16 training chips of 192 px (forward, backward and an AdamW step), and one
verifier network (a member of rams-ver-v6: PatchNet, widths 32-192, stride-2 stem) on 512 patches of 32 px
(inference) and 256 (training). Weights are random: the cost does not depend on them. Prints
milliseconds per batch in each layout and the default's time over channels-last's (> 1: faster).
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable

import torch

from rams.detector.model import build_model, fuse_batchnorm
from rams.detector.verifier import PatchNet


def verifier_member() -> PatchNet:
    return PatchNet(widths=(32, 64, 128, 192), stem_stride=2)


LAYOUTS = {"default": torch.contiguous_format, "channels-last": torch.channels_last}


def inference_step(net: torch.nn.Module, x: torch.Tensor) -> Callable[[], None]:
    def step() -> None:
        with torch.inference_mode():
            net(x)
    return step


def training_step(net: torch.nn.Module, x: torch.Tensor) -> Callable[[], None]:
    net.train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    target = torch.rand_like(net(x).detach())

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.binary_cross_entropy_with_logits(net(x), target).backward()
        opt.step()
    return step


def timed(step: Callable[[], None], repeats: int) -> float:
    """Median seconds of ``step`` over ``repeats`` calls, after one warm-up call."""
    step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    tiles = torch.randint(0, 256, (8, 3, 576, 576), dtype=torch.uint8)
    chips = torch.randint(0, 256, (16, 3, 192, 192), dtype=torch.uint8)
    patches = torch.randint(0, 256, (512, 3, 32, 32), dtype=torch.uint8)
    cases = [("heatmap inference, 8 x 576 px", build_model, inference_step, tiles),
             ("heatmap training, 16 x 192 px", build_model, training_step, chips),
             ("verifier inference, 512 x 32 px", verifier_member, inference_step, patches),
             ("verifier training, 256 x 32 px", verifier_member, training_step, patches[:256])]
    for name, build, make_step, x in cases:
        net = build()
        if make_step is inference_step:
            net = fuse_batchnorm(net.eval())  # before the layout: folding makes new weights
        ms = {}
        for _ in range(2):  # the layouts alternate twice; the faster of each is kept
            for layout, fmt in LAYOUTS.items():
                step = make_step(copy.deepcopy(net).to(memory_format=fmt), x)
                ms[layout] = min(ms.get(layout, float("inf")), 1000 * timed(step, args.repeats))
        print(f"{name}: default {ms['default']:.0f} ms, channels-last {ms['channels-last']:.0f} ms, "
              f"ratio {ms['default'] / ms['channels-last']:.2f}")


if __name__ == "__main__":
    main()
