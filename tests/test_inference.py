import numpy as np
from rasters import textured, write_tif

from rams.flight import open_flight
from rams.inference import predict_region
from rams.reading import read_region
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
