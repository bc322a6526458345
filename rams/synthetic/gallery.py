"""Full-resolution PNG crops of each object class of a scene: the picture test of realism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from rams.synthetic.render import BLOCK_PX, render_region
from rams.synthetic.scene import Scene


def render_crop(scene: Scene, row0: int, col0: int, height: int, width: int) -> np.ndarray:
    """RGB uint8 (h, w, 3) of any pixel window, cut from the blocks that cover it."""
    r0, c0 = row0 // BLOCK_PX * BLOCK_PX, col0 // BLOCK_PX * BLOCK_PX
    rows = max(0, row0 + height - r0)
    cols = max(0, col0 + width - c0)
    full_h = round((scene.bounds[3] - scene.bounds[1]) / scene.gsd_m)
    full_w = round((scene.bounds[2] - scene.bounds[0]) / scene.gsd_m)
    rgb, _ = render_region(scene, r0, c0, min(rows, full_h - r0), min(cols, full_w - c0))
    return rgb[:, row0 - r0:row0 - r0 + height, col0 - c0:col0 - c0 + width].transpose(1, 2, 0)


def _centred(scene: Scene, x: float, y: float, size_px: int) -> tuple[int, int, int, int]:
    g = scene.gsd_m
    full_h = round((scene.bounds[3] - scene.bounds[1]) / g)
    full_w = round((scene.bounds[2] - scene.bounds[0]) / g)
    col = int((x - scene.bounds[0]) / g) - size_px // 2
    row = int((scene.bounds[3] - y) / g) - size_px // 2
    size_px = min(size_px, full_h, full_w)
    row = min(max(row, 0), full_h - size_px)
    col = min(max(col, 0), full_w - size_px)
    return row, col, size_px, size_px


def write_gallery(scene: Scene, out_dir: Path) -> list[Path]:
    """Write one PNG per object class (full resolution; the strike overview downsampled)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []

    def save(name: str, img: np.ndarray, scale: int = 1) -> None:
        im = Image.fromarray(img)
        if scale > 1:
            im = im.resize((im.width // scale, im.height // scale), Image.Resampling.BOX)
        path = out_dir / f"{name}.png"
        im.save(path, optimize=True)
        written.append(path)

    visible = [i for i in scene.items if i.visible_fraction > 0]
    big = [i for i in visible if i.length_m >= 0.15]
    visible = big or visible
    # submunitions: the crop around the visible item with the most neighbours
    pts = np.array([(i.x, i.y) for i in visible])
    crowd = ((pts[:, None] - pts[None]) ** 2).sum(-1) < 2.0**2
    best = visible[int(crowd.sum(1).argmax())]
    save("submunitions", render_crop(scene, *_centred(scene, best.x, best.y, 160)))
    t = scene.trenches[0]
    mid = t.xy[len(t.xy) // 2]
    save("trench", render_crop(scene, *_centred(scene, mid[0], mid[1], 400)))
    for p in scene.positions[:4]:
        save(f"position_{p.kind}", render_crop(scene, *_centred(scene, p.x, p.y, 400)))
    tree = next(v for v in scene.vegetation if v.kind == "tree_clump")
    save("vegetation", render_crop(scene, *_centred(scene, tree.x, tree.y, 400)))
    picks = {"stone": scene.stones[0], "crater": scene.craters[0]}
    for kind in ("scrap", "can", "bottle", "fence_post"):
        picks[kind] = next(t for t in scene.things if t.kind == kind)
    picks["bush"] = next(v for v in scene.vegetation if v.kind == "bush")
    for kind, obj in picks.items():
        size = 240 if kind in ("crater", "fence_post", "bush") else 96
        save(f"distractor_{kind}", render_crop(scene, *_centred(scene, obj.x, obj.y, size)))
    track = next(p for p in scene.paths if p.kind == "tyre_track")
    mid = track.xy[len(track.xy) // 2]
    save("distractor_tyre_track", render_crop(scene, *_centred(scene, mid[0], mid[1], 320)))
    s = scene.strikes[0]
    save("strike_overview", render_crop(scene, *_centred(scene, s.x, s.y, 3072)), scale=8)
    return written
