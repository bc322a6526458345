"""Class maps to features in map coordinates, and the reduce that joins regions' features.

Per region (pure functions over the region's arrays and its ``affine.Affine`` transform):
``submunition_points``, ``trench_lines``, ``position_polygons``, ``mask_polygons``.
Across regions (and flights): ``merge_trench_lines`` makes one centre line per trench of trench
lines that overlap, touch or break off (``join_lines`` and ``chain_lines`` join and chain lines
without tracing them); ``merge_polygons``, ``suppress_points``; position outlines are cut where
two positions meet at a neck (``split_at_necks``).
"""

from rams.vectorize.join import chain_lines, join_lines, merge_polygons, suppress_points
from rams.vectorize.necks import split_at_necks
from rams.vectorize.points import submunition_points
from rams.vectorize.polygons import mask_polygons, position_polygons
from rams.vectorize.systems import merge_trench_lines
from rams.vectorize.trenches import trench_lines

__all__ = [
    "chain_lines",
    "join_lines",
    "mask_polygons",
    "merge_polygons",
    "merge_trench_lines",
    "position_polygons",
    "split_at_necks",
    "submunition_points",
    "suppress_points",
    "trench_lines",
]
