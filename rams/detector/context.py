"""The context scale: the integer block size that brings a flight to a context model's GSD.

Positions (3-15 m) and trenches are hundreds of pixels across at 2-4 cm; a network sees them
whole only on a coarser grid. A context model runs on the flight block-averaged by an integer
factor to about its ``input_gsd_m`` (~12 cm), and its maps are interpolated back to full
resolution (:func:`rams.inference.context_probabilities`), where they replace the fine model's
maps of the same classes.
"""

from __future__ import annotations


def context_factor(gsd_m: float, input_gsd_m: float) -> int:
    """The integer block size (px) that brings ``gsd_m`` closest to ``input_gsd_m`` (>= 1)."""
    return max(1, int(round(input_gsd_m / gsd_m)))
