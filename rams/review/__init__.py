"""Review: a person confirms or rejects every detection, and the records follow.

Decisions (rams.review.decisions) are rows of the GeoPackage's ``reviews`` table
(rams.review.store), made in a local web application (rams.review.server, its page, the
detections' views and a small map) or imported from a CSV; applying them marks the detection
layers (rams.review.records) and recomputes the hazard areas (rams.hazards). The jobs are in
``rams.pipelines.review``.
"""

from rams.review.decisions import CSV_COLUMNS, DECISIONS, REVIEWED_LAYERS, Decision, latest, read_csv

__all__ = ["CSV_COLUMNS", "DECISIONS", "REVIEWED_LAYERS", "Decision", "latest", "read_csv"]
