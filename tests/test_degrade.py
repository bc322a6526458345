"""Imaging shifts (rams.evaluation.shifts) and `rams degrade`, on real GeoTIFFs."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from detector_fixtures import make_flight
from rasters import textured, write_tif

from rams.cli.main import main
from rams.evaluation.shifts import ImagingShift, shift_rgb


def test_default_shift_changes_nothing() -> None:
    rgb = textured(3, 40, 50)
    assert np.array_equal(shift_rgb(rgb, ImagingShift()), rgb)


def test_colour_saturation_and_blur() -> None:
    rgb = textured(3, 60, 60)
    warm = shift_rgb(rgb, ImagingShift(gains=(1.2, 1.0, 0.8)))
    assert warm[0].mean() > rgb[0].mean() and warm[2].mean() < rgb[2].mean()
    assert np.array_equal(warm[1], rgb[1])
    grey = shift_rgb(rgb, ImagingShift(saturation=0.0)).astype(int)
    assert np.abs(grey[0] - grey[1]).max() <= 1 and np.abs(grey[1] - grey[2]).max() <= 1
    soft = shift_rgb(rgb, ImagingShift(blur_px=1.5)).astype(float)
    assert soft.std() < rgb.std() and abs(soft.mean() - rgb.mean()) < 1.0
    assert shift_rgb(rgb, ImagingShift(gamma=0.7)).mean() > rgb.mean()


def test_degrade_writes_a_jpeg_flight_with_its_labels(tmp_path) -> None:
    tif, gpkg = make_flight(tmp_path, height=1100, width=300)  # more rows than one strip
    out = tmp_path / "shifted" / "f.tif"
    assert main(["degrade", str(tif), str(out), "--jpeg-quality", "70", "--blur-px", "1",
                 "--gains", "1.1", "1", "0.9"]) == 0
    with rasterio.open(tif) as a, rasterio.open(out) as b:
        assert b.compression.name == "jpeg" and b.crs == a.crs and b.transform == a.transform
        x, y = a.read().astype(float), b.read().astype(float)
    assert x.shape == y.shape and 0 < np.abs(x - y).mean() < 20
    # the blur runs across the strips' seams as over the whole flight
    whole = shift_rgb(x.astype(np.uint8), ImagingShift((1.1, 1.0, 0.9), blur_px=1.0)).astype(float)
    seam = slice(1020, 1030)
    assert np.abs(y[:, seam] - whole[:, seam]).mean() < np.abs(y - whole).mean() + 2
    assert out.with_suffix(".labels.gpkg").read_bytes() == gpkg.read_bytes()
    assert sorted(p.name for p in out.parent.iterdir()) == ["f.labels.gpkg", "f.tif"]


@pytest.mark.parametrize("alpha", [False, True])
def test_degrade_keeps_where_there_is_no_data(tmp_path, alpha) -> None:
    rgb = textured(4 if alpha else 3, 64, 64)
    rgb[:, :, :20] = 0
    if alpha:
        rgb[3, :, 20:] = 255
    tif = write_tif(tmp_path / "n.tif", rgb, nodata=None if alpha else 0, alpha=alpha)
    out = tmp_path / "n-jpeg.tif"
    assert main(["degrade", str(tif), str(out), "--jpeg-quality", "80"]) == 0
    with rasterio.open(tif) as a, rasterio.open(out) as b:
        assert np.array_equal(b.dataset_mask() > 0, a.dataset_mask() > 0)
        assert not (b.dataset_mask()[:, :20]).any()


@pytest.mark.parametrize("extra, message", [([], "no such flight"), (["--jpeg-quality", "0"], "1-100")])
def test_degrade_refuses_bad_input(tmp_path, capsys, extra, message) -> None:
    tif = tmp_path / "a.tif"
    if extra:
        write_tif(tif, textured(3, 16, 16))
    assert main(["degrade", str(tif), str(tmp_path / "b.tif"), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "b.tif").exists()
