import subprocess
import sys

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window
from rasters import textured, write_tif

from rams.errors import RamsError
from rams.flight import flight_info, open_flight


def test_rgb_uint8_tiled(tmp_path):
    data = textured(3, 300, 400)
    f = open_flight(write_tif(tmp_path / "f.tif", data))
    assert (f.width, f.height, f.crs.to_epsg()) == (400, 300, 32638)
    assert f.gsd_m == pytest.approx(0.03)
    rgb, valid = f.read_rgb(Window(10, 20, 50, 40))
    assert rgb.dtype == np.uint8 and valid.all()
    np.testing.assert_array_equal(rgb, data[:, 20:60, 10:60])
    info = flight_info(f)
    assert info["layout"] == "tiled" and info["block_shape_px"] == [256, 256]
    assert info["extent_km2"] == pytest.approx(400 * 300 * 0.03**2 / 1e6)


def test_striped_uncompressed_nodata(tmp_path):
    data = textured(3, 200, 300)
    data[:, :, :100] = 0
    f = open_flight(write_tif(tmp_path / "s.tif", data, tiled=False, compress=None, nodata=0))
    assert not f.tiled
    _, valid = f.read_rgb(Window(0, 0, 300, 200))
    assert not valid[:, :100].any() and valid[:, 100:].mean() > 0.99
    assert flight_info(f)["valid_share"] == pytest.approx(2 / 3, abs=0.02)


def test_alpha_band_is_the_mask(tmp_path):
    data = textured(4, 128, 128)
    data[3] = 255
    data[3, :64] = 0
    f = open_flight(write_tif(tmp_path / "a.tif", data, alpha=True))
    assert f.alpha_band == 4 and f.rgb_bands == (1, 2, 3)
    rgb, valid = f.read_rgb(Window(0, 0, 128, 128))
    assert rgb.shape == (3, 128, 128)
    assert not valid[:64].any() and valid[64:].all()


def test_internal_mask(tmp_path):
    path = write_tif(tmp_path / "m.tif", textured(3, 64, 64))
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True), rasterio.open(path, "r+") as ds:
        mask = np.full((64, 64), 255, np.uint8)
        mask[:, :16] = 0
        ds.write_mask(mask)
    f = open_flight(path)
    assert f.has_internal_mask
    _, valid = f.read_rgb(Window(0, 0, 64, 64))
    assert not valid[:, :16].any() and valid[:, 16:].all()


def test_uint16_uses_one_flight_wide_stretch(tmp_path):
    data = textured(3, 256, 256, dtype="uint16")
    f = open_flight(write_tif(tmp_path / "u.tif", data))
    assert f.stretch is not None and len(f.stretch) == 3
    a, _ = f.read_rgb(Window(0, 0, 32, 32))
    whole, _ = f.read_rgb(Window(0, 0, 256, 256))
    # the same pixel maps to the same byte whatever window it is read in: no per-tile stretch
    np.testing.assert_array_equal(a, whole[:, :32, :32])
    assert whole.dtype == np.uint8 and whole.max() >= 250 and whole.min() <= 5


def test_single_band_is_grey(tmp_path):
    f = open_flight(write_tif(tmp_path / "g.tif", textured(1, 64, 64)))
    rgb, _ = f.read_rgb(Window(0, 0, 64, 64))
    assert f.rgb_bands == (1, 1, 1)
    np.testing.assert_array_equal(rgb[0], rgb[2])


def test_geographic_flight_is_warped_to_utm(tmp_path):
    # ~3 cm pixels near 40.5N 47E (UTM zone 38N)
    t = Affine(3.5e-7, 0, 47.0, 0, -2.7e-7, 40.5)
    data = textured(3, 200, 200)
    f = open_flight(write_tif(tmp_path / "geo.tif", data, crs="EPSG:4326", transform=t))
    assert f.crs.to_epsg() == 32638 and f.warp is not None
    assert 0.02 < f.gsd_m < 0.04
    rgb, valid = f.read_rgb(Window(0, 0, f.width, f.height))
    assert valid.mean() > 0.8 and not valid.all()  # the rotated-in corners hold no data


def test_rotated_transform_is_warped_north_up(tmp_path):
    t = Affine.translation(600000, 4400000) * Affine.rotation(20) * Affine.scale(0.03, -0.03)
    f = open_flight(write_tif(tmp_path / "rot.tif", textured(3, 100, 100), transform=t))
    assert f.transform.b == 0 and f.transform.d == 0 and f.transform.e < 0


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p / "missing.tif", "no such file"),
        (lambda p: (p / "notes.tif").write_text("hello") and p / "notes.tif", "not a raster"),
        (lambda p: write_tif(p / "nocrs.tif", textured(3, 32, 32), crs=None), "no CRS"),
        (lambda p: write_tif(p / "two.tif", textured(2, 32, 32)), "band layout"),
        (lambda p: p, "directory"),
    ],
)
def test_refusals_name_file_and_reason(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(RamsError) as err:
        open_flight(path)
    assert message in str(err.value) and str(path) in str(err.value)
    assert "\n" not in str(err.value)


def _truncated(tmp_path):
    path = write_tif(tmp_path / "trunc.tif", textured(3, 512, 512, seed=3), block=128)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) * 2 // 3])
    return path


def test_cli_info_and_errors(tmp_path):
    good = write_tif(tmp_path / "good.tif", textured(3, 64, 64))
    ok = subprocess.run(
        [sys.executable, "-m", "rams.cli.main", "info", str(good)], capture_output=True, text=True
    )
    assert ok.returncode == 0 and "gsd_m" in ok.stdout
    for bad in (tmp_path / "nope.tif", _truncated(tmp_path)):
        r = subprocess.run(
            [sys.executable, "-m", "rams.cli.main", "info", str(bad)],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and str(bad) in lines[0] and "Traceback" not in r.stderr


def test_resampled_reads_a_coarser_grid(tmp_path):
    from rams.flight import resampled

    data = textured(3, 400, 600)
    f = resampled(open_flight(write_tif(tmp_path / "fine.tif", data, gsd_m=0.01)), 0.02)
    assert (f.width, f.height, f.gsd_m) == (300, 200, 0.02)
    rgb, valid = f.read_rgb(Window(0, 0, 300, 200))
    assert valid.all()
    expected = data[:, :2, :2].reshape(3, -1).mean(axis=1)
    np.testing.assert_allclose(rgb[:, 0, 0], expected, atol=1.5)


@pytest.mark.parametrize("gsd_m", [0.02, 0.0137])
def test_a_coarser_grid_averages_like_gdals_warper(tmp_path, gsd_m):
    # a projected north-up file is decoded at its own resolution and area-averaged in numpy
    # (several times faster); GDAL's warper with average resampling is the reference
    from dataclasses import replace

    from rams.flight import Warp, resampled

    data = textured(4, 500, 700, seed=3)
    data[3] = 255
    data[3, :120, :150] = 0  # outside the footprint
    f = resampled(open_flight(write_tif(tmp_path / "fine.tif", data, gsd_m=0.01, alpha=True)), gsd_m)
    assert f.rescale == pytest.approx(gsd_m / 0.01) and f.warp is None
    warped = replace(f, rescale=None, warp=Warp(f.crs.to_string(), tuple(f.transform)[:6], f.width, f.height,
                                                "average"))
    window = Window(0, 0, f.width, f.height)
    (ours, ours_valid), (gdal, gdal_valid) = f.read_rgb(window), warped.read_rgb(window)
    both = ours_valid & gdal_valid
    assert (ours_valid != gdal_valid).mean() < 0.01
    assert np.abs(ours.astype(int) - gdal)[:, both].mean() < 0.2
    # a chip-sized window reads the same pixels as the whole
    chip, _ = f.read_rgb(Window(17, 23, 40, 30))
    np.testing.assert_array_equal(chip, ours[:, 23:53, 17:57])


def test_native_patches_are_the_files_own_pixels(tmp_path):
    # a 0.5 cm file read on a 2 cm grid: its patches come from the file, not from the averaged grid
    from rams.flight import resampled
    from rams.patches import crop_patches

    data = textured(3, 600, 800, seed=5)
    native = open_flight(write_tif(tmp_path / "fine.tif", data, gsd_m=0.005))
    f = resampled(native, 0.02)
    t = native.transform
    rc = np.array([[300.4, 400.7], [3.2, 5.9], [598.0, 790.5]])  # middle, at the corners
    xy = np.column_stack([t.c + rc[:, 1] * 0.005, t.f - rc[:, 0] * 0.005])
    got = f.native_patches(xy, 32, 0.01)
    np.testing.assert_array_equal(got, crop_patches(data, rc, 32, 2.0))
    assert f.native_patches(xy[:0], 32, 0.01).shape == (0, 3, 32, 32)


def test_verifier_patches_are_what_a_survey_cuts(tmp_path):
    # a 1 cm file read on a 2 cm grid: patches at the grid's GSD are cut from the averaged grid,
    # as a survey's region cuts them from its pixels; finer ones from the file's own pixels
    from rams.flight import resampled
    from rams.patches import crop_patches

    data = textured(3, 600, 800, seed=6)
    native = open_flight(write_tif(tmp_path / "fine.tif", data, gsd_m=0.01))
    f = resampled(native, 0.02)
    grid, _ = f.read_rgb(Window(0, 0, f.width, f.height))
    rc = np.array([[150.3, 200.6], [1.2, 2.9], [299.0, 399.5]])  # grid px: middle, at the corners
    xy = np.column_stack([f.transform.c + rc[:, 1] * 0.02, f.transform.f - rc[:, 0] * 0.02])
    expected = crop_patches(grid, rc, 32)
    np.testing.assert_array_equal(f.grid_patches(xy, 32, 0.02), expected)
    np.testing.assert_array_equal(f.verifier_patches(xy, 32, 0.02), expected)
    np.testing.assert_array_equal(f.verifier_patches(xy, 32, None), expected)
    np.testing.assert_array_equal(f.verifier_patches(xy, 32, 0.04), crop_patches(grid, rc, 32, 2.0))
    np.testing.assert_array_equal(f.verifier_patches(xy, 32, 0.01), f.native_patches(xy, 32, 0.01))
    assert not np.array_equal(f.native_patches(xy, 32, 0.02), expected)  # the file, resized: other pixels
    # a flight read on its own grid cuts every patch from it
    np.testing.assert_array_equal(native.verifier_patches(xy, 32, 0.005), native.grid_patches(xy, 32, 0.005))


@pytest.mark.parametrize("gsd_m", [0.005, 0.01, 0.02, 0.04])
def test_native_patches_hold_one_object_at_one_size_whatever_the_gsd(tmp_path, gsd_m):
    # a 16 cm dark disc on bright ground, flown at 0.5-4 cm: in a 64 px patch at 1 cm per px it
    # is 16 px across and centred, at every GSD
    from rams.flight import resampled

    side = round(2.0 / gsd_m)
    yy, xx = (np.mgrid[0:side, 0:side] + 0.5) * gsd_m
    disc = np.hypot(xx - 1.0, yy - 1.0) <= 0.08
    data = np.where(disc, 40, 200).astype(np.uint8)[None].repeat(3, axis=0)
    f = resampled(open_flight(write_tif(tmp_path / "disc.tif", data, gsd_m=gsd_m)), max(gsd_m, 0.02))
    x0, y0 = f.transform.c, f.transform.f
    patch = f.native_patches(np.array([[x0 + 1.0, y0 - 1.0]]), 64, 0.01)[0, 0].astype(float)
    dark = (200 - patch) / 160  # share of each patch px the disc covers
    assert dark.sum() == pytest.approx(np.pi * 8**2, rel=0.08)
    rows, cols = np.nonzero(dark > 0.5)
    assert abs(rows.mean() - 31.5) < 0.8 and abs(cols.mean() - 31.5) < 0.8
