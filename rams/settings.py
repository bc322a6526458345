"""Survey settings: how a flight is tiled and how class maps become features (configs/survey.yaml)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import ClassVar

from rams.config import Upgrade, bounded, version_field


@dataclass(frozen=True)
class TilingSettings:
    """How the flight is cut for the detector (pixels at the processing GSD)."""

    tile_px: int | None = bounded(None, 64, 4096, doc="tile side; default from the model card")
    overlap_px: int | None = bounded(None, 0, 1024, doc="overlap; must exceed the largest object")
    region_px: int = bounded(4096, 512, 32768, doc="region side, one dask task each")
    batch_size: int = bounded(8, 1, 256, doc="tiles per detector call")


@dataclass(frozen=True)
class DetectionSettings:
    """Turning probability maps into features (thresholds 0-1, distances in metres)."""

    submunition_threshold: float | None = bounded(None, 0.01, 1.0, doc="default: the model card's")
    candidate_threshold: float | None = bounded(
        None, 0.01, 1.0, doc="heatmap peak a candidate needs before the verifier; default: its card's"
    )
    nms_radius_m: float = bounded(0.25, 0.01, 5.0)
    trench_threshold: float | None = bounded(None, 0.01, 1.0, doc="default: the model card's")
    trench_min_length_m: float = bounded(2.0, 0.0, 1000.0)
    trench_gap_m: float = bounded(
        10.0, 0.0, 100.0,
        doc="trench pieces whose ends are this close and aligned (or point at one corner) are one trench; "
        "0: only overlapping or touching pieces join"
    )
    trench_max_turn_deg: float = bounded(60.0, 0.0, 90.0, doc="the most a trench may turn at a bridged gap")
    position_threshold: float | None = bounded(None, 0.01, 1.0, doc="default: the model card's")
    position_min_area_m2: float | None = bounded(None, 0.0, 10000.0, doc="default: the model card's")
    position_neck_m: float = bounded(
        0.3, 0.0, 10.0, doc="cut a position outline where a neck is this much narrower (as a radius) "
        "than the cores it joins; 0 keeps outlines whole"
    )
    simplify_m: float = bounded(
        0.1, 0.0, 5.0, doc="feature outlines; trenches and positions are traced on cells this wide"
    )
    mask_simplify_m: float = bounded(0.25, 0.0, 10.0, doc="coverage / not-assessable outlines")


def mask_threshold(postprocess: dict[str, float], cls: str, default: float = 0.5) -> float:
    """A mask class's threshold in a card's post-processing: ``<cls>_mask_threshold`` when it
    names one, else ``mask_threshold``, else ``default``."""
    return float(postprocess.get(f"{cls}_mask_threshold", postprocess.get("mask_threshold", default)))


def calibrated(
    det: DetectionSettings, card: dict, context: dict | None = None, verifier: dict | None = None
) -> DetectionSettings:
    """Thresholds left unset take the values the model was calibrated with on validation
    flights (card ``postprocess``: ``<class>_mask_threshold``, else ``mask_threshold``, else 0.5;
    ``min_position_area_m2``, else 2 m²); masks a context model provides take its card's, and
    with a verifier the submunition thresholds are the verifier card's."""
    pp = card.get("postprocess", {})
    vp = (verifier or {}).get("postprocess", {})
    provided = (context or {}).get("outputs", ())

    def own_pp(cls: str) -> dict:
        """The post-processing of the card whose model provides ``cls``."""
        return (context or {}).get("postprocess", {}) if cls in provided else pp

    def mask_for(cls: str) -> float:
        return mask_threshold(own_pp(cls), cls, float(pp.get("mask_threshold", 0.5)))

    return replace(
        det,
        submunition_threshold=det.submunition_threshold
        or float(vp.get("threshold", pp.get("peak_threshold", 0.5))),
        candidate_threshold=det.candidate_threshold or float(vp.get("candidate_threshold", 0.1)),
        trench_threshold=det.trench_threshold or mask_for("trench"),
        position_threshold=det.position_threshold or mask_for("position"),
        position_min_area_m2=det.position_min_area_m2 if det.position_min_area_m2 is not None
        else float(own_pp("position").get("min_position_area_m2", pp.get("min_position_area_m2", 2.0))),
    )


@dataclass(frozen=True)
class SurveySettings:
    """Everything that changes a survey's result (its hash keys the resumable run folder)."""

    # schema version n -> the function that rewrites a version-n file as n + 1 (none yet)
    UPGRADES: ClassVar[Mapping[int, Upgrade]] = {}

    schema_version: int = version_field(1)
    tiling: TilingSettings = field(default_factory=TilingSettings)
    detection: DetectionSettings = field(default_factory=DetectionSettings)
    hazard_rules: str = bounded("default", doc="name under configs/hazards/ or a YAML path")
