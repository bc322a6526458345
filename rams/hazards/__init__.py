"""Suspected hazard areas from detections: strike footprints, CMR and fortification areas.

Rules come from validated YAML (configs/hazards/*.yaml); all distances are metres in the
detections' projected CRS.
"""

from rams.hazards.areas import AREA_COLUMNS, hazard_areas
from rams.hazards.footprints import FOOTPRINT_COLUMNS, strike_footprints
from rams.hazards.rules import CmrRules, FortificationRules, HazardRules, load_rules
from rams.hazards.stage import hazard_layers

__all__ = [
    "AREA_COLUMNS",
    "FOOTPRINT_COLUMNS",
    "CmrRules",
    "FortificationRules",
    "HazardRules",
    "hazard_areas",
    "hazard_layers",
    "load_rules",
    "strike_footprints",
]
