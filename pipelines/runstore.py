"""The run folder of a resumable job: one small file per finished region.

Each region leaves a JSON file (features as WKB hex, attributes as columns, chips as base64
PNG) and an ``.npz`` of
its share of the flight's view, each written to a temporary name and renamed; the JSON comes
last, so a killed process leaves either a whole region result or none.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from rams.flight_view import ViewPart


class RunStore:
    """Saved region results under ``run_dir`` (features in ``crs``)."""

    def __init__(self, run_dir: str | Path, crs: Any) -> None:
        self.dir = Path(run_dir)
        self.crs = crs

    def _path(self, index: int) -> Path:
        return self.dir / f"region-{index:06d}.json"

    def save(self, index: int, layers: dict[str, gpd.GeoDataFrame], view: ViewPart | None,
             chips: dict[tuple[float, float], tuple[float, bytes]], meta: dict[str, Any]) -> None:
        """Store one region's layers, view share (None: kept by no one), chips ((confidence, PNG) by
        point) and metadata atomically."""
        doc = {"meta": meta, "layers": {},
               "chips": [[x, y, conf, base64.b64encode(png).decode("ascii")]
                         for (x, y), (conf, png) in chips.items()]}
        for name, frame in layers.items():
            columns = {c: frame[c].tolist() for c in frame.columns if c != frame.geometry.name}
            doc["layers"][name] = {
                "wkb": [g.hex() for g in shapely.to_wkb(frame.geometry.to_numpy())],
                "columns": columns,
            }
        self.dir.mkdir(parents=True, exist_ok=True)
        if view is not None:
            view_tmp = self._view_path(index).with_suffix(".part")
            with open(view_tmp, "wb") as handle:
                np.savez(handle, origin=np.array([view.row, view.col]), sums=view.sums, counts=view.counts)
            os.replace(view_tmp, self._view_path(index))
        tmp = self._path(index).with_suffix(".part")
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, self._path(index))

    def _view_path(self, index: int) -> Path:
        return self.dir / f"region-{index:06d}.view.npz"

    def load(self, index: int) -> tuple[dict[str, gpd.GeoDataFrame], ViewPart | None,
                                        dict[tuple[float, float], tuple[float, bytes]], dict[str, Any]] | None:
        """A saved region's (layers, view share, chips, metadata), or None when it has not finished."""
        path = self._path(index)
        if not path.exists():
            return None
        doc = json.loads(path.read_text())
        layers = {}
        for name, data in doc["layers"].items():
            geoms = shapely.from_wkb([bytes.fromhex(h) for h in data["wkb"]])
            frame = gpd.GeoDataFrame(geometry=list(geoms), crs=self.crs)
            for column, values in data["columns"].items():
                frame[column] = values
            layers[name] = frame[[*data["columns"], "geometry"]]
        view = None
        if self._view_path(index).is_file():  # a job keeping no view saved none
            with np.load(self._view_path(index)) as saved:
                row, col = (int(v) for v in saved["origin"])
                view = ViewPart(row, col, saved["sums"], saved["counts"])
        chips = {(x, y): (conf, base64.b64decode(png)) for x, y, conf, png in doc["chips"]}
        return layers, view, chips, doc["meta"]

    def finished(self) -> int:
        """How many regions have a saved result."""
        return len(list(self.dir.glob("region-*.json"))) if self.dir.exists() else 0
