"""The hazard stage of a survey: detection layers in, the two hazard layers out."""

from __future__ import annotations

import geopandas as gpd

from rams.hazards.areas import hazard_areas
from rams.hazards.footprints import strike_footprints
from rams.hazards.rules import HazardRules

REVIEWED_LAYERS = ("submunitions", "trenches", "positions")


def reviewed_evidence(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``frame`` without the detections a reviewer rejected (``review_status`` "rejected"):
    they stay in their layer, marked, but are evidence of nothing."""
    if "review_status" not in frame:
        return frame
    return frame.loc[(frame["review_status"].astype(str) != "rejected").to_numpy()]


def hazard_layers(
    detections: dict[str, gpd.GeoDataFrame],
    rules: HazardRules,
    *,
    flight_id: str,
    survey_date: str,
    model: str,
    previous: gpd.GeoDataFrame | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """``strike_footprints`` and ``hazard_areas`` from the ``submunitions``, ``trenches``,
    ``positions``, ``not_assessable`` and (when present) ``coverage`` layers (projected CRS,
    metres); ``previous`` is an earlier hazard_areas layer whose ids carry over (see
    :func:`rams.hazards.hazard_areas`). Rejected detections count for nothing, confirmed
    ones whatever their confidence (:func:`reviewed_evidence`)."""
    detections = {**detections, **{n: reviewed_evidence(detections[n]) for n in REVIEWED_LAYERS}}
    footprints = strike_footprints(detections["submunitions"], rules.cmr)
    footprints["flight_id"] = flight_id
    areas = hazard_areas(
        detections["submunitions"],
        detections["trenches"],
        detections["positions"],
        detections["not_assessable"],
        rules,
        flight_id=flight_id,
        survey_date=survey_date,
        model=model,
        coverage=detections.get("coverage"),
        previous=previous,
    )
    return {"strike_footprints": footprints, "hazard_areas": areas}
