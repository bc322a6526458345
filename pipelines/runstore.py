"""The run folder of a resumable job: one small file per finished region.

Each file is JSON (features as WKB hex, attributes as columns), written to a temporary name
and renamed, so a killed process leaves either a whole region result or none.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely


class RunStore:
    """Saved region results under ``run_dir`` (features in ``crs``)."""

    def __init__(self, run_dir: str | Path, crs: Any) -> None:
        self.dir = Path(run_dir)
        self.crs = crs

    def _path(self, index: int) -> Path:
        return self.dir / f"region-{index:06d}.json"

    def save(self, index: int, layers: dict[str, gpd.GeoDataFrame], meta: dict[str, Any]) -> None:
        """Store one region's layers and metadata atomically."""
        doc = {"meta": meta, "layers": {}}
        for name, frame in layers.items():
            columns = {c: frame[c].tolist() for c in frame.columns if c != frame.geometry.name}
            doc["layers"][name] = {
                "wkb": [g.hex() for g in shapely.to_wkb(frame.geometry.to_numpy())],
                "columns": columns,
            }
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self._path(index).with_suffix(".part")
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, self._path(index))

    def load(self, index: int) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, Any]] | None:
        """A saved region's (layers, metadata), or None when it has not finished."""
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
        return layers, doc["meta"]

    def finished(self) -> int:
        """How many regions have a saved result."""
        return len(list(self.dir.glob("region-*.json"))) if self.dir.exists() else 0
