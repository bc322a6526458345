"""Verifier training patches rendered around the objects of synthetic scenes, not whole flights.

A 2048 x 2048 px synthetic flight holds about seven submunitions of 5 px or more among thousands
of heatmap peaks, so mining whole flights is a slow way to show a verifier what it must tell
apart: submunitions against cans, bottles, scrap, fence posts and stones of the same size. Here a
scene is laid out in full, exactly as its flight would be, but only small views around its
visible items, its litter, some of its stones and a few random points are rendered
(:func:`rams.synthetic.render.render_view`), at a GSD drawn per scene. A view costs what its few
hundred pixels cost, so a CPU renders thousands of scenes' objects in the time of a few flights.

Each view is centred near its object (jittered, as heatmap peaks are) and labelled by the rule
that labels mined candidates (:func:`rams.training.mining.label_candidates`): positive
within the match radius of a visible item, left out near a hidden one, negative elsewhere.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch
from scipy.spatial import cKDTree

from rams.parallel import default_workers
from rams.patches import crop_patches, patch_scale
from rams.synthetic.flight import generate_scene
from rams.synthetic.render import render_view

STONES_PER_SCENE = 8
RANDOM_PER_SCENE = 6
FENCE_POST_SHARE = 0.3  # posts stand in long rows: a few of each row are enough
ITEM_JITTER_M = 0.03  # heatmap peaks fall within a few cm of an item's centre
LITTER_JITTER_M = 0.06  # ... and anywhere along a bottle or a piece of scrap


def scene_patches(seed: int, gsd_range_m: tuple[float, float], patch_px: int, patch_gsd_m: float | None,
                  radius_m: float = 0.3, small_item_px: float = 5.0, small_item_share: float = 0.3,
                  catalogue: str = "classic") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """uint8 patches (K, 3, P, P), labels (K,) 0/1, item lengths in flight pixels (K,) (0 for
    negatives) and the items' visible fractions (K,) (below 1 where partly buried; 1 for
    negatives) around the objects of the 2048 x 2048 px scene of ``seed``, at a GSD (metres)
    drawn from ``gsd_range_m`` by the seed.

    Items shorter than ``small_item_px`` are kept with probability ``small_item_share`` only:
    cluster strikes leave many more small bomblets than anything else. ``catalogue`` picks the
    scene's objects (see :func:`rams.synthetic.flight.generate_scene`).
    """
    rng = np.random.default_rng([seed, 0x7A1C])
    gsd = float(rng.uniform(*gsd_range_m))
    scene = generate_scene(2048, 2048, gsd, seed, catalogue=catalogue)
    items = scene.items
    tree = cKDTree(np.array([(i.x, i.y) for i in items])) if items else None
    views: list[tuple[float, float, float]] = [(i.x, i.y, ITEM_JITTER_M) for i in items
                                               if i.visible_fraction > 0]
    views += [(t.x, t.y, LITTER_JITTER_M) for t in scene.things
              if t.kind != "fence_post" or rng.uniform() < FENCE_POST_SHARE]
    views += [(scene.stones[k].x, scene.stones[k].y, ITEM_JITTER_M)
              for k in rng.permutation(len(scene.stones))[:STONES_PER_SCENE]]
    xmin, ymin, xmax, ymax = scene.bounds
    views += [(rng.uniform(xmin, xmax), rng.uniform(ymin, ymax), 0.0) for _ in range(RANDOM_PER_SCENE)]
    scale = patch_scale(patch_gsd_m, gsd)
    side = int(np.ceil(patch_px * scale)) + 2
    centre = np.array([[side / 2, side / 2]])
    patches, labels, lengths, visible = [], [], [], []
    for k, (x, y, jitter) in enumerate(views):
        x, y = x + rng.uniform(-jitter, jitter), y + rng.uniform(-jitter, jitter)
        label, length, fraction = 0, 0.0, 1.0
        if tree is not None:
            dist, near = tree.query((x, y))
            if dist <= radius_m:
                if items[near].visible_fraction <= 0:
                    continue
                label, length, fraction = 1, items[near].length_m / gsd, items[near].visible_fraction
        if label and length < small_item_px and rng.uniform() >= small_item_share:
            continue
        patches.append(crop_patches(render_view(scene, x, y, side, k), centre, patch_px, scale)[0])
        labels.append(label)
        lengths.append(length)
        visible.append(fraction)
    return (np.array(patches, np.uint8).reshape(-1, 3, patch_px, patch_px), np.array(labels, np.float32),
            np.array(lengths, np.float32), np.array(visible, np.float32))


def rendered_patches(seeds: Sequence[int], gsd_range_m: tuple[float, float], patch_px: int,
                     patch_gsd_m: float | None, radius_m: float = 0.3, workers: int | None = None,
                     on_scene: Callable[[int], None] | None = None, catalogue: str = "classic"
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`scene_patches` of every seed, concatenated in seed order, rendered on a process
    pool of ``workers`` (by default the cores this process may use); ``on_scene`` is called with
    the number of scenes done after each one."""
    n = len(seeds)
    if n == 0:
        return np.zeros((0, 3, patch_px, patch_px), np.uint8), *(np.zeros(0, np.float32) for _ in range(3))
    # spawned, not forked: the parent holds torch threads (and maybe CUDA); one torch thread in
    # each worker (patches are resized with torch), since the workers already fill the cores
    with ProcessPoolExecutor(min(n, workers or default_workers()), mp_context=multiprocessing.get_context("spawn"),
                             initializer=torch.set_num_threads, initargs=(1,)) as pool:
        parts = []
        for part in pool.map(scene_patches, seeds, [gsd_range_m] * n, [patch_px] * n, [patch_gsd_m] * n,
                             [radius_m] * n, [5.0] * n, [0.3] * n, [catalogue] * n, chunksize=8):
            parts.append(part)
            if on_scene is not None:
                on_scene(len(parts))
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(4))  # type: ignore[return-value]
