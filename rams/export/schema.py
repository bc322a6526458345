"""The survey output contract: layer names, geometry types and ordered, typed fields.

GIS staff build imports on these names, so they only change with ``SCHEMA_VERSION``.
Every layer is in the flight's projected CRS (metres); areas are m², lengths m, angles degrees.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

if TYPE_CHECKING:
    from pyproj import CRS

SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class LayerSchema:
    """One layer of the contract: GeoPackage geometry type and ``(field, dtype)`` in column order.

    ``geometry_type`` is what the GeoPackage declares; ``"MultiPolygon"`` layers always promote
    single polygons, ``"Polygon"`` layers stay single unless a run produces a multipart area.
    dtypes are pandas dtypes: ``int64`` → INTEGER, ``float64`` → REAL, ``str`` → TEXT.
    """

    geometry_type: str
    fields: tuple[tuple[str, str], ...]
    #: ``(field, value)`` for fields added after a layer's first release: a writer given a
    #: frame without them fills them with the value, so older producers stay valid.
    defaults: tuple[tuple[str, str], ...] = ()

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.fields)


#: A detection's review (rams.review): ``review_status`` "unreviewed" | "confirmed" | "rejected"
#: | "unsure", who decided (``reviewer``) and when (``reviewed_at``, ISO 8601 UTC, YYYY-MM-DDTHH:MM:SSZ).
REVIEW_FIELDS: tuple[tuple[str, str], ...] = (("review_status", "str"), ("reviewer", "str"), ("reviewed_at", "str"))
UNREVIEWED: tuple[tuple[str, str], ...] = (("review_status", "unreviewed"), ("reviewer", ""), ("reviewed_at", ""))

SCHEMA: dict[str, LayerSchema] = {
    "submunitions": LayerSchema(
        "Point",
        (
            ("confidence", "float64"),  # 0-1, detector peak probability
            ("flight_id", "str"),
            ("chip", "str"),  # reference to the image chip a reviewer checks
            ("munition_class", "str"),  # "submunition"
            ("evidence", "str"),  # "indirect": a model detection; "direct": confirmed by a person
            *REVIEW_FIELDS,
        ),
        UNREVIEWED,
    ),
    "trenches": LayerSchema(
        "LineString",
        (
            ("length_m", "float64"),
            ("width_m", "float64"),
            ("confidence", "float64"),
            ("flight_id", "str"),
            *REVIEW_FIELDS,
        ),
        UNREVIEWED,
    ),
    "positions": LayerSchema(
        "Polygon",
        (("area_m2", "float64"), ("confidence", "float64"), ("flight_id", "str"), *REVIEW_FIELDS),
        UNREVIEWED,
    ),
    "strike_footprints": LayerSchema(
        "Polygon",
        (
            ("footprint_id", "int64"),
            ("item_count", "int64"),
            ("orientation_deg", "float64"),
            ("fade_out_m", "float64"),
            ("area_m2", "float64"),  # with the fade-out margin
            ("outline_area_m2", "float64"),  # the items' tight outline only
            ("max_confidence", "float64"),
            ("flight_id", "str"),
        ),
    ),
    "hazard_areas": LayerSchema(
        "Polygon",
        (
            ("hazard_id", "str"),
            ("hazard_type", "str"),  # "CMR" | "FORTIFICATION" | "CMR+FORTIFICATION"
            ("status", "str"),  # "SHA": the national authority's decision, never changed by rams
            ("evidence_count", "int64"),
            ("max_confidence", "float64"),
            ("area_m2", "float64"),
            ("buffer_m", "float64"),
            ("not_assessable_m2", "float64"),  # imaged but not assessable
            ("unimaged_m2", "float64"),  # outside the imaged coverage
            ("flight_id", "str"),
            ("survey_date", "str"),  # ISO 8601 date, YYYY-MM-DD; empty when unknown
            ("model", "str"),
            ("review_status", "str"),  # "unreviewed" | "partly reviewed" | "reviewed": of its evidence
            ("supersedes", "str"),  # hazard_ids this area replaces (split or merge), comma-separated
            ("proposed_status", "str"),  # "CHA" once a person confirmed an item of its evidence, else "SHA"
        ),
        (("proposed_status", "SHA"),),
    ),
    "coverage": LayerSchema("MultiPolygon", (("area_m2", "float64"), ("flight_id", "str"))),
    "not_assessable": LayerSchema(
        "MultiPolygon",
        (
            ("reason", "str"),  # "nodata" | "vegetation" | "saturated" | "dark" | "blur"
            ("area_m2", "float64"),
            ("flight_id", "str"),
        ),
    ),
}

METADATA_LAYER = "metadata"


def empty_layer(name: str, crs: CRS | str | int) -> gpd.GeoDataFrame:
    """An empty GeoDataFrame of layer ``name`` with the contract's columns, dtypes and ``crs``."""
    if name not in SCHEMA:
        raise KeyError(f"{name!r} is not a survey output layer; known: {', '.join(SCHEMA)}")
    columns = {field: pd.Series([], dtype=dtype) for field, dtype in SCHEMA[name].fields}
    return gpd.GeoDataFrame(columns, geometry=gpd.GeoSeries([], crs=crs))
