"""Decisions written into the detection layers: pure functions over GeoDataFrames.

A rejected detection stays in its layer, marked ``rejected``, never deleted; a confirmed
submunition becomes ``direct`` evidence. Each reviewed feature records who decided and when.
The hazard areas then follow from the marked layers (rams.hazards.stage).
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import pandas as pd

from rams.review.decisions import REVIEWED_LAYERS, Decision


def reviewed_layers(layers: Mapping[str, gpd.GeoDataFrame],
                    decisions: Mapping[tuple[str, int], Decision]) -> dict[str, gpd.GeoDataFrame]:
    """The reviewed layers of ``layers`` (each indexed by GeoPackage fid) with ``review_status``
    ("unreviewed" or the decision in force, from ``decisions`` by (layer, fid)), ``reviewer``
    and ``reviewed_at`` set, and a submunition's ``evidence`` "direct" when confirmed, else
    "indirect". A decision withdrawn since an earlier application leaves its feature unreviewed
    again. Layers absent from ``layers`` are left out."""
    out = {}
    for layer in REVIEWED_LAYERS:
        frame = layers.get(layer)
        if frame is None:
            continue
        found = [decisions.get((layer, int(fid))) for fid in frame.index]
        frame = frame.copy()
        frame["review_status"] = pd.Series([d.decision if d else "unreviewed" for d in found],
                                           index=frame.index, dtype="str")
        frame["reviewer"] = pd.Series([d.reviewer if d else "" for d in found], index=frame.index, dtype="str")
        frame["reviewed_at"] = pd.Series([d.reviewed_at if d else "" for d in found], index=frame.index, dtype="str")
        if layer == "submunitions":
            frame["evidence"] = (frame["review_status"] == "confirmed").map({True: "direct", False: "indirect"})
        out[layer] = frame
    return out

