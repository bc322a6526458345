"""`survey` end to end on the orthomosaic layouts photogrammetry software writes.

One synthetic ground is rendered once, then written again, pixel for pixel on the same grid, as
each layout (tiled or striped, overviews, alpha band, internal mask, nodata, JPEG YCbCr, BigTIFF,
16-bit, a VRT over several files). Every layout is surveyed with the shipped model and compared
with the survey of the plain tiled layout: coverage area, submunitions found, and nothing found
where an alpha band, mask or nodata says there is no ground.
"""

from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from rasterio.enums import Resampling
from rasters import corner_triangle, write_vrt_mosaic
from shapely.geometry import Polygon

from rams.pipelines.survey import survey

SIZE_PX = 1024
GSD_M = 0.03
SEED = 3  # 17 submunitions found on the reference, 5 of them in the masked corner
MASKED_SHARE = 0.15
MATCH_M = 0.3


class Ground:
    """The rendered ground: its pixels, grid and the top-left corner that masked layouts hide."""

    def __init__(self, tif: Path):
        with rasterio.open(tif) as ds:
            self.rgb = ds.read()
            self.crs = ds.crs.to_string()
            self.transform = ds.transform
        _, self.height, self.width = self.rgb.shape
        self.area_m2 = self.width * self.height * GSD_M**2
        self.masked = corner_triangle(self.height, self.width, MASKED_SHARE)
        self.masked_m2 = float(self.masked.sum()) * GSD_M**2
        legs = np.sqrt(2 * MASKED_SHARE)
        corners = [(0, 0), (legs * self.width, 0), (0, legs * self.height)]
        self.masked_corner = Polygon([self.transform @ c for c in corners])

    def profile(self, **kw) -> dict:
        profile = {
            "driver": "GTiff",
            "width": self.width,
            "height": self.height,
            "count": 3,
            "dtype": "uint8",
            "crs": self.crs,
            "transform": self.transform,
            "tiled": True,
            "blockxsize": 256,
            "blockysize": 256,
            "compress": "deflate",
        }
        return profile | kw


def tiled(ground: Ground, path: Path) -> Path:
    with rasterio.open(path, "w", **ground.profile()) as dst:
        dst.write(ground.rgb)
    return path


def striped(ground: Ground, path: Path) -> Path:
    profile = ground.profile(tiled=False, compress="lzw")
    del profile["blockxsize"], profile["blockysize"]
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(ground.rgb)
    with rasterio.open(path) as ds:
        assert ds.block_shapes[0][1] == ground.width, "not striped"
    return path


def overviews(ground: Ground, path: Path) -> Path:
    with rasterio.open(path, "w", **ground.profile()) as dst:
        dst.write(ground.rgb)
        dst.build_overviews([2, 4, 8], Resampling.average)
    with rasterio.open(path) as ds:
        assert ds.overviews(1) == [2, 4, 8]
    return path


def alpha(ground: Ground, path: Path) -> Path:
    band = np.where(ground.masked, 0, 255).astype(np.uint8)
    with rasterio.open(path, "w", **ground.profile(count=4, photometric="RGB", alpha="YES")) as dst:
        dst.write(np.concatenate([ground.rgb, band[None]]))
    return path


def internal_mask(ground: Ground, path: Path, **profile) -> Path:
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        with rasterio.open(path, "w", **ground.profile(**profile)) as dst:
            dst.write(ground.rgb)
            dst.write_mask(np.where(ground.masked, 0, 255).astype(np.uint8))
    with rasterio.open(path) as ds:
        assert ds.read_masks(1)[0, 0] == 0 and ds.read_masks(1)[-1, -1] == 255
    return path


def nodata(ground: Ground, path: Path) -> Path:
    rgb = np.where(ground.masked[None], 0, ground.rgb)
    with rasterio.open(path, "w", **ground.profile(nodata=0)) as dst:
        dst.write(rgb)
    return path


def jpeg_ycbcr(ground: Ground, path: Path) -> Path:
    return internal_mask(ground, path, compress="jpeg", photometric="YCbCr", jpeg_quality=90)


def bigtiff(ground: Ground, path: Path) -> Path:
    with rasterio.open(path, "w", **ground.profile(bigtiff="YES")) as dst:
        dst.write(ground.rgb)
    with open(path, "rb") as f:
        assert f.read(4) in (b"II+\x00", b"MM\x00+"), "not a BigTIFF"
    return path


def uint16(ground: Ground, path: Path) -> Path:
    with rasterio.open(path, "w", **ground.profile(dtype="uint16")) as dst:
        dst.write(ground.rgb.astype(np.uint16) * 200 + 500)
    return path


def vrt(ground: Ground, path: Path) -> Path:
    return write_vrt_mosaic(path.with_suffix(".vrt"), ground.rgb, ground.transform, ground.crs)


#: (writer, masked corner, same pixels as the reference)
LAYOUTS = {
    "tiled-deflate": (tiled, False, True),
    "striped-lzw": (striped, False, True),
    "internal-overviews": (overviews, False, True),
    "rgba-alpha": (alpha, True, True),
    "internal-mask": (internal_mask, True, True),
    "nodata-zero": (nodata, True, True),
    "jpeg-ycbcr-mask": (jpeg_ycbcr, True, False),
    "bigtiff": (bigtiff, False, True),
    "uint16": (uint16, False, False),
    "vrt-2x2-blocks": (vrt, False, True),
}
MASKED = [name for name, (_, masked, _) in LAYOUTS.items() if masked]

def _layouts(names, marks: dict) -> list:
    return [pytest.param(name, id=name, marks=marks.get(name, ())) for name in names]


@pytest.fixture(scope="module")
def ground(tmp_path_factory) -> Ground:
    from rams.synthetic import generate_flight

    tif, _ = generate_flight(tmp_path_factory.mktemp("ground") / "ground.tif", SIZE_PX, SIZE_PX, GSD_M, SEED)
    return Ground(tif)


def _survey(flight: Path, folder: Path) -> tuple[Path, Path]:
    out, report = folder / "out.gpkg", folder / "report.html"
    survey(flight, out, report=report)
    return out, report


@pytest.fixture(scope="module")
def reference(ground, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("reference")
    return _survey(tiled(ground, folder / "reference.tif"), folder)[0]


@pytest.fixture(scope="module")
def surveyed(ground, tmp_path_factory):
    """Each layout written and surveyed once: layout name -> (GeoPackage, report)."""
    done: dict[str, tuple[Path, Path]] = {}

    def run(layout: str) -> tuple[Path, Path]:
        if layout not in done:
            folder = tmp_path_factory.mktemp(layout)
            done[layout] = _survey(LAYOUTS[layout][0](ground, folder / f"{layout}.tif"), folder)
        return done[layout]

    return run


def _points(gpkg: Path) -> np.ndarray:
    found = pyogrio.read_dataframe(gpkg, layer="submunitions")
    return np.array([(p.x, p.y) for p in found.geometry]).reshape(-1, 2)


def _inside(points: np.ndarray, polygon: Polygon) -> np.ndarray:
    return shapely.contains_xy(polygon, points[:, 0], points[:, 1])


def test_reference_finds_submunitions_inside_and_outside_the_masked_corner(ground, reference):
    inside = _inside(_points(reference), ground.masked_corner)
    assert inside.sum() >= 3 and (~inside).sum() >= 8


@pytest.mark.parametrize("layout", _layouts(LAYOUTS, {}))
def test_survey_writes_the_geopackage_and_the_report(layout, surveyed):
    out, report = surveyed(layout)
    assert "submunitions" in {name for name, _ in pyogrio.list_layers(out)}
    assert report.stat().st_size > 0 and "<html" in report.read_text(encoding="utf-8").lower()


@pytest.mark.parametrize("layout", _layouts(LAYOUTS, {}))
def test_coverage_is_the_ground_less_the_masked_corner(layout, ground, surveyed):
    coverage = pyogrio.read_dataframe(surveyed(layout)[0], layer="coverage")
    if LAYOUTS[layout][1]:
        assert coverage.area.sum() == pytest.approx(ground.area_m2 - ground.masked_m2, abs=0.02 * ground.area_m2)
        assert coverage.intersection(ground.masked_corner).area.sum() < 0.02 * ground.area_m2
    else:
        assert coverage.area.sum() == pytest.approx(ground.area_m2, rel=0.005)


@pytest.mark.parametrize("layout", _layouts(LAYOUTS, {}))
def test_submunitions_match_the_reference(layout, ground, reference, surveyed):
    _, masked, exact = LAYOUTS[layout]
    found, expected = _points(surveyed(layout)[0]), _points(reference)
    if masked:  # what is found under the mask is the next test's business
        found = found[~_inside(found, ground.masked_corner)]
        expected = expected[~_inside(expected, ground.masked_corner)]
    assert len(found) == pytest.approx(len(expected), rel=0.3)
    nearest = np.hypot(*(expected[:, None, :] - found[None, :, :]).transpose(2, 0, 1)).min(axis=1)
    assert (nearest <= MATCH_M).mean() >= 0.8, f"nearest detections (m): {np.round(nearest, 2)}"
    if exact and not masked:
        assert len(found) == len(expected)
        assert (nearest <= MATCH_M).all(), f"nearest detections (m): {np.round(nearest, 2)}"


@pytest.mark.parametrize(
    "layout",
    _layouts(MASKED, {}),
)
def test_nothing_is_found_in_the_masked_corner(layout, ground, surveyed):
    inside = _inside(_points(surveyed(layout)[0]), ground.masked_corner)
    assert not inside.any(), f"{inside.sum()} of {len(inside)} submunitions found in the masked corner"
