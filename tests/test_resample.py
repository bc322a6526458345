"""Area averaging onto a coarser grid (`rams.resample`): exact for any ratio, valid pixels only."""

import numpy as np
import pytest

from rams.resample import area_average, averaged, block_mean, source_span


def _image(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (3, height, width), dtype=np.uint8)


def _average(rgb, valid, ratio, rows=(0, None), cols=(0, None)):
    """area_average of the output px [start, stop) of rows and cols, fed only the input under them."""
    h = rows[1] if rows[1] is not None else int(rgb.shape[1] / ratio)
    w = cols[1] if cols[1] is not None else int(rgb.shape[2] / ratio)
    r0, r1 = source_span(rows[0], h, ratio, rgb.shape[1])
    c0, c1 = source_span(cols[0], w, ratio, rgb.shape[2])
    out = np.empty((3, h - rows[0], w - cols[0]), np.uint8)
    seen = area_average(rgb[:, r0:r1, c0:c1], valid[r0:r1, c0:c1], (rows[0], h - rows[0], ratio, r0),
                        (cols[0], w - cols[0], ratio, c0), out)
    return out, seen


@pytest.mark.parametrize("k", [2, 3, 4])
def test_an_integer_ratio_is_the_block_mean(k):
    rgb = _image(12 * k, 20 * k)
    out, seen = _average(rgb, np.ones(rgb.shape[1:], bool), float(k))
    assert seen.all()
    np.testing.assert_array_equal(out, block_mean(rgb, k))


@pytest.mark.parametrize(("up", "down"), [(3, 4), (3, 5), (5, 7)])
def test_a_fractional_ratio_weights_each_pixel_by_the_share_it_covers(up, down):
    # down/up input px per output px: repeating every input px `up` times makes the output px
    # whole blocks of `down` px, whose plain mean is the exact area average
    rgb = _image(down * 6, down * 10, seed=1)
    out, _ = _average(rgb, np.ones(rgb.shape[1:], bool), down / up)
    fine = rgb.repeat(up, axis=1).repeat(up, axis=2).astype(np.float64)
    exact = fine.reshape(3, up * 6, down, up * 10, down).mean(axis=(2, 4))
    assert np.abs(out - exact).max() <= 0.5 + 1e-6


@pytest.mark.parametrize("ratio", [2.0, 4 / 3, 1.7])
def test_windows_averaged_apart_stitch_into_the_whole(ratio):
    rgb = _image(90, 130, seed=2)
    valid = np.ones(rgb.shape[1:], bool)
    whole, _ = _average(rgb, valid, ratio)
    h, w = whole.shape[1:]
    for rows, cols in (((0, 17), (0, w)), ((17, h), (5, 41)), ((9, h), (41, w))):
        part, _ = _average(rgb, valid, ratio, rows, cols)
        np.testing.assert_array_equal(part, whole[:, rows[0]:rows[1], cols[0]:cols[1]])


def test_invalid_pixels_are_left_out_and_mostly_invalid_cells_are_invalid():
    rgb = np.full((3, 8, 8), 100, np.uint8)
    valid = np.ones((8, 8), bool)
    rgb[:, :, :3] = 250  # garbage under the mask, must not leak into the average
    valid[:, :3] = False
    out, seen = _average(rgb, valid, 2.0)
    # output column 0 covers input 0-1 (all invalid), column 1 covers 2 (invalid) and 3 (valid)
    assert not seen[:, 0].any() and seen[:, 1:].all()
    assert (out[:, :, 1:] == 100).all()


def test_averaged_keeps_the_whole_output_pixels_and_their_means():
    rgb = np.zeros((3, 7, 9), np.uint8)
    rgb[:, ::2, ::2] = 200  # one bright px in each 2 x 2 block
    out = averaged(rgb, 2.0)
    assert out.shape == (3, 3, 4)  # the whole 2 x 2 blocks only
    assert (out == 50).all()
    third = averaged(np.full((3, 10, 10), 90, np.uint8), 10 / 3)
    assert third.shape == (3, 3, 3) and (third == 90).all()
