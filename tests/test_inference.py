import numpy as np
from rasters import textured, write_tif

from rams.flight import open_flight
from rams.inference import context_probabilities, predict_region
from rams.reading import read_region
from rams.resample import block_mean, upsample
from rams.tiling import TileGrid


class EchoModel:
    """Returns the tile's own pixels scaled to 0..1, so a stitched canvas must equal the image."""

    in_channels = 3

    def __init__(self):
        self.calls = 0

    def predict(self, batch):
        self.calls += 1
        return batch.astype(np.float32) / 255.0


def test_core_crop_stitching_reproduces_the_image_exactly(tmp_path):
    data = textured(3, 900, 1300, seed=2)
    flight = open_flight(write_tif(tmp_path / "f.tif", data, block=256))
    grid = TileGrid(flight.width, flight.height, 256, 32, region_px=512, block_shape=flight.block_shape)
    model = EchoModel()
    for region in grid.regions:
        pixels = read_region(flight, region)
        canvas = predict_region(model, pixels, region, batch_size=4)
        w = region.read
        expected = data[:, int(w.row_off) : int(w.row_off + w.height), int(w.col_off) : int(w.col_off + w.width)]
        np.testing.assert_allclose(canvas, expected / 255.0, atol=1e-6)
    assert model.calls == sum(-(-len(r.tiles) // 4) for r in grid.regions)


def test_nodata_tiles_are_not_predicted(tmp_path):
    data = textured(3, 512, 1024, seed=3)
    data[:, :, 512:] = 0
    flight = open_flight(write_tif(tmp_path / "n.tif", data, nodata=0))
    grid = TileGrid(flight.width, flight.height, 256, 32, region_px=2048)
    (region,) = grid.regions
    canvas = predict_region(EchoModel(), read_region(flight, region), region)
    assert canvas[:, :, 600:].max() == 0


class Recording:
    """Probabilities = pixels / 255, and the shape of every batch it was given."""

    in_channels = 3
    context = None

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def predict(self, batch: np.ndarray) -> np.ndarray:
        self.shapes.append(batch.shape)
        return batch.astype(np.float32) / 255


def test_the_context_pass_stitches_the_coarse_image_on_the_survey_grid():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (3, 1200, 1000), dtype=np.uint8)
    net = Recording()
    # 300 x 250 coarse px in tiles of 128 with 32 px overlap: several tiles, stitched seamlessly
    maps = context_probabilities(net, image, 4, 128, 32, [0, 2])
    whole = upsample(block_mean(image, 4)[[0, 2]].astype(np.float32) / 255, 4, image.shape[1:])
    np.testing.assert_allclose(maps, whole, atol=1e-6)  # no seam, no tile averaged twice
    assert sum(s[0] for s in net.shapes) == 4 * 3 and {s[2:] for s in net.shapes} == {(128, 128)}


def test_a_coarse_image_smaller_than_a_tile_is_one_tile_of_its_own_size():
    image = np.full((3, 1040 * 4, 1040 * 4), 100, np.uint8)
    net = Recording()
    context_probabilities(net, image, 4, 1408, 96, [0])
    assert net.shapes == [(1, 3, 1056, 1056)]  # 1,040 px rounded up to the 32 px stride
