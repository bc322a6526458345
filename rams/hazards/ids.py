"""Stable identifiers derived from the evidence behind a feature."""

from __future__ import annotations

import hashlib

import numpy as np

_ROUND_M = 2  # centimetre rounding: absorbs float noise, keeps distinct items distinct


def evidence_id(prefix: str, key: str, coords_m: np.ndarray) -> str:
    """Short id from ``key`` and the evidence coordinates (any order, projected CRS, m).

    Hashing the sorted, rounded evidence rather than the output geometry keeps an id the
    same across runs, input order and GEOS versions for the same evidence.
    """
    xy = np.round(np.asarray(coords_m, dtype=np.float64).reshape(-1, 2), _ROUND_M) + 0.0
    order = np.lexsort((xy[:, 1], xy[:, 0]))
    digest = hashlib.sha1(key.encode("utf-8"))
    digest.update(np.ascontiguousarray(xy[order]).tobytes())
    return f"{prefix}-{digest.hexdigest()[:12]}"
