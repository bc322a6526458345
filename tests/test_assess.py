"""Not-assessable ground on a hand-built scene with one patch per reason."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import ndimage

from rams.assess import REASONS, coverage_mask, not_assessable

GSD = 0.03
SIZE = 480
PATCHES = {  # (row0, row1, col0, col1) px
    "grass": (20, 180, 20, 180),
    "dry_grass": (20, 180, 200, 320),
    "saturated": (20, 120, 340, 460),
    "dark": (140, 240, 340, 460),
    "blur": (280, 400, 220, 340),
}
CANOPY_CENTRE, CANOPY_RADIUS = (330, 100), 70
NODATA_ROWS = 440


def textured(rng: np.random.Generator, colour: tuple[int, int, int], sigma: float, shape):
    """A colour with per-pixel luminance texture, as ground looks at a few cm GSD."""
    texture = rng.normal(0, sigma, shape)
    return np.stack([c + texture + rng.normal(0, sigma / 4, shape) for c in colour])


@pytest.fixture(scope="module")
def scene() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    shape = (SIZE, SIZE)
    image = textured(rng, (140, 120, 100), 10, shape)  # bare soil
    for name, colour, sigma in (("grass", (125, 165, 85), 6), ("dry_grass", (180, 165, 115), 6)):
        r0, r1, c0, c1 = PATCHES[name]
        image[:, r0:r1, c0:c1] = textured(rng, colour, sigma, (r1 - r0, c1 - c0))
    # Canopy: sunlit leaves with deep self-shadow between them.
    rr, cc = np.mgrid[:SIZE, :SIZE]
    clump = np.hypot(rr - CANOPY_CENTRE[0], cc - CANOPY_CENTRE[1]) <= CANOPY_RADIUS
    shadow = ndimage.gaussian_filter(rng.normal(size=shape), 2) < -0.05
    leaves = textured(rng, (55, 95, 40), 5, shape)
    gaps = textured(rng, (12, 22, 10), 2, shape)
    image = np.where(clump, np.where(shadow, gaps, leaves), image)
    r0, r1, c0, c1 = PATCHES["saturated"]
    image[:, r0:r1, c0:c1] = 255
    r0, r1, c0, c1 = PATCHES["dark"]
    image[:, r0:r1, c0:c1] = textured(rng, (8, 8, 10), 2, (r1 - r0, c1 - c0))
    r0, r1, c0, c1 = PATCHES["blur"]
    for band in image:
        band[r0:r1, c0:c1] = ndimage.gaussian_filter(band, 2.5)[r0:r1, c0:c1]
    valid = np.ones(shape, bool)
    valid[NODATA_ROWS:] = False
    image[:, NODATA_ROWS:] = 0
    return np.clip(image, 0, 255).astype(np.uint8), valid


def interior(patch: tuple[int, int, int, int], margin: int = 20) -> tuple[slice, slice]:
    r0, r1, c0, c1 = patch
    return slice(r0 + margin, r1 - margin), slice(c0 + margin, c1 - margin)


@pytest.fixture(scope="module")
def masks(scene) -> dict[str, np.ndarray]:
    rgb, valid = scene
    return not_assessable(rgb, valid, GSD)


def test_masks_are_full_size_exclusive_and_inside_their_reasons(masks):
    assert list(masks) == list(REASONS)
    stacked = np.stack([masks[r] for r in REASONS])
    assert stacked.shape == (len(REASONS), SIZE, SIZE) and stacked.dtype == bool
    assert stacked.sum(axis=0).max() == 1


@pytest.mark.parametrize("reason", ["saturated", "dark", "blur"])
def test_each_patch_is_flagged_with_its_reason(masks, reason):
    # The window (~1.5 m here) blurs the edges of a patch: look 1.2 m inside.
    assert masks[reason][interior(PATCHES[reason], margin=40)].mean() > 0.95


def test_textured_dark_green_canopy_is_vegetation(masks):
    row, col = CANOPY_CENTRE
    core = (slice(row - 45, row + 45), slice(col - 45, col + 45))
    assert masks["vegetation"][core].mean() > 0.95


@pytest.mark.parametrize("ground", ["grass", "dry_grass"])
def test_grass_and_bare_soil_stay_assessable(masks, ground):
    flagged = np.any(np.stack(list(masks.values())), axis=0)
    assert flagged[interior(PATCHES[ground], margin=5)].mean() < 0.01
    assert flagged[250:300, 380:470].mean() < 0.01  # bare soil


def test_nodata_is_exactly_the_invalid_rows(masks, scene):
    _, valid = scene
    assert np.array_equal(masks["nodata"], ~valid)
    for reason in REASONS[1:]:
        assert not masks[reason][NODATA_ROWS:].any()


def test_vegetation_probability_replaces_the_colour_rule(scene):
    rgb, valid = scene
    veg_prob = np.zeros(valid.shape, np.float32)
    veg_prob[20:180, 20:180] = 0.9  # the grass patch, by a model's word
    masks = not_assessable(rgb, valid, GSD, veg_prob=veg_prob)
    assert masks["vegetation"][interior(PATCHES["grass"])].all()
    assert masks["vegetation"][CANOPY_CENTRE].sum() == 0


def test_coverage_fills_isolated_black_pixels_only():
    valid = np.ones((50, 50), bool)
    valid[10, 10] = False
    valid[30:40, 30:40] = False
    coverage = coverage_mask(valid)
    assert coverage[10, 10] and not coverage[30:40, 30:40].any()


def test_throughput(scene):
    rgb, valid = scene
    big_rgb = np.tile(rgb[:, :400, :400], (1, 5, 5))  # 2000 x 2000 px
    big_valid = np.ones(big_rgb.shape[1:], bool)
    start = time.perf_counter()
    not_assessable(big_rgb, big_valid, GSD)
    mpix_s = big_valid.size / 1e6 / (time.perf_counter() - start)
    print(f"not_assessable: {mpix_s:.1f} MPix/s at {GSD * 100:.0f} cm GSD")
    assert mpix_s > 2
