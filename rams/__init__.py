"""rams: Remote Aerial Minefield Survey.

From a drone flight (orthomosaic GeoTIFF) to evidence-based suspected hazard areas. The jobs are
library functions; the ``rams`` command is a thin layer over them:

- :func:`rams.survey` — a flight to a GeoPackage of detections and hazard areas, and a report;
- :func:`rams.campaign` — many flights to one merged GeoPackage and a baseline per task polygon;
- :func:`rams.evaluate` — survey a labelled flight and score it against its labels, in metres;
- :func:`rams.synth` — a synthetic flight with its exact ground truth.

They load on first use (torch, dask and GDAL take seconds to import).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public job functions and the module each lives in.
_JOBS = {"survey": "rams.pipelines.survey", "campaign": "rams.pipelines.campaign",
         "evaluate": "rams.pipelines.evaluate", "synth": "rams.pipelines.synth"}

__all__ = ["__version__", "campaign", "evaluate", "survey", "synth"]

if TYPE_CHECKING:
    from rams.pipelines.campaign import campaign
    from rams.pipelines.evaluate import evaluate
    from rams.pipelines.survey import survey
    from rams.pipelines.synth import synth


def __getattr__(name: str) -> Any:
    if name in _JOBS:
        return getattr(importlib.import_module(_JOBS[name]), name)
    raise AttributeError(f"module 'rams' has no attribute {name!r}")
