"""Synthetic survey flights with exact ground truth: demo, test, training and benchmark data.

``generate_flight`` writes a cloud-optimised RGB GeoTIFF (optionally a DSM sidecar) and
``OUT.labels.gpkg``; ``render_flight`` holds the same flight in memory; ``DEMO`` fixes the
arguments of the bundled demo flight.
"""

from rams.synthetic.flight import (
    DEMO,
    SynthPreset,
    dsm_path,
    generate_flight,
    generate_scene,
    labels_path,
    render_flight,
)
from rams.synthetic.real_ground import generate_real_ground_flight

__all__ = ["DEMO", "SynthPreset", "dsm_path", "generate_flight", "generate_real_ground_flight",
           "generate_scene", "labels_path", "render_flight"]
