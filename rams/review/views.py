"""What the reviewer sees of one detection: its chip at the flight's native resolution, with
the detection marked, and a zoomed-out context view around it; drawn on request, kept for reuse.
"""

from __future__ import annotations

import base64
import io
import threading
from collections import OrderedDict
from collections.abc import Mapping

import geopandas as gpd
import rasterio
from affine import Affine
from PIL import Image
from shapely import affinity

from rams.flight import Flight
from rams.parallel import default_workers
from rams.report.chips import framed_chip, ground_view, submunition_chip, svg_path
from rams.review.items import anchor

#: Ground side (m) of the context view at the least; a large feature gets three times its extent.
CONTEXT_M = 12.0
#: Side (px) of the context view as sent.
CONTEXT_PX = 256
#: Most flight px decoded for a context view's side from a file without overviews (a larger
#: one is centred on the detection).
CONTEXT_READ_MAX_PX = 1024
#: Views kept for reuse (a few hundred KB each at most).
CACHE_ITEMS = 256


class ItemViews:
    """Chips and context views of the detections in ``layers`` (each indexed by fid, in the
    flight's CRS), read from ``flight``; safe to call from several threads. A view's reads
    decode the flight's blocks on ``decode_threads`` threads (default: every core), so that the
    first view of a long trench, which decodes the most, is not held to one core."""

    def __init__(self, flight: Flight, layers: Mapping[str, gpd.GeoDataFrame],
                 decode_threads: int | None = None) -> None:
        self.flight = flight
        self.layers = layers
        self.decode_threads = decode_threads or default_workers()
        self._cache: OrderedDict[tuple[str, int], dict] = OrderedDict()
        self._lock = threading.Lock()

    def view(self, layer: str, fid: int) -> dict:
        """The chip and context of feature ``fid`` of ``layer`` as a JSON-ready dict: ``chip``
        and ``context`` as data URIs, their sizes (px) and SVG marks in their pixel coordinates,
        ``chip_gsd_m`` the ground size of a chip pixel. KeyError for a feature not there."""
        key = (layer, fid)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        # GDAL reads the option when a thread opens its handle on the flight: each request's thread
        with rasterio.Env(GDAL_NUM_THREADS=str(self.decode_threads)):
            drawn = self._draw(layer, fid)
        with self._lock:
            self._cache[key] = drawn
            while len(self._cache) > CACHE_ITEMS:
                self._cache.popitem(last=False)
        return drawn

    def _draw(self, layer: str, fid: int) -> dict:
        frame = self.layers[layer]
        row = frame.index.get_loc(fid)
        if not isinstance(row, int):
            raise KeyError((layer, fid))
        flight = self.flight
        chip = (submunition_chip(flight, frame, row) if layer == "submunitions"
                else framed_chip(flight, frame, row, layer))
        geom = frame.geometry.iloc[row]
        centre = anchor(geom)
        left, bottom, right, top = geom.bounds
        side_m = max(CONTEXT_M, 3 * max(right - left, top - bottom))
        if not flight.has_overviews():  # every px of it decoded: centred on the detection instead
            side_m = min(side_m, CONTEXT_READ_MAX_PX * flight.gsd_m)
        view = ground_view(flight, centre.x, centre.y, side_m, CONTEXT_PX)
        context, to_px = view.image, view.to_px
        if context.width < CONTEXT_PX:  # ground coarser than the view: its px enlarged
            to_px = Affine.scale(CONTEXT_PX / context.width) @ to_px
            context = context.resize((CONTEXT_PX, CONTEXT_PX), Image.Resampling.BOX)
        outline = affinity.affine_transform(geom, [to_px.a, to_px.b, to_px.d, to_px.e, to_px.c, to_px.f])
        shape = (f'<circle cx="{outline.x:.1f}" cy="{outline.y:.1f}" r="6"/>' if geom.geom_type == "Point"
                 else f'<path d="{svg_path(outline)}"/>')
        return {
            "layer": layer, "fid": fid,
            "chip": _data_uri(chip.png, "png"), "chip_size": [chip.width, chip.height], "chip_mark": chip.mark_svg,
            "chip_gsd_m": chip.gsd_m, "chip_native": chip.gsd_m <= flight.gsd_m * 1.001,
            "context": _data_uri(_jpeg(context), "jpeg"), "context_size": [CONTEXT_PX, CONTEXT_PX],
            "context_mark": shape, "context_m": view.gsd_m * view.image.width,
        }


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def _data_uri(data: bytes, kind: str) -> str:
    return f"data:image/{kind};base64," + base64.b64encode(data).decode("ascii")
