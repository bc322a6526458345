"""Class maps to features in map coordinates, and the reduce that joins regions' features.

Per region (pure functions over the region's arrays and its ``affine.Affine`` transform):
``submunition_points``, ``trench_lines``, ``position_polygons``, ``mask_polygons``.
Across regions: ``join_lines``, ``merge_polygons``, ``suppress_points``; then trench pieces are
chained through junctions and short aligned gaps (``chain_lines``) and position outlines are cut
where two positions meet at a neck (``split_at_necks``).
"""

from rams.vectorize.join import chain_lines, join_lines, merge_polygons, suppress_points
from rams.vectorize.necks import split_at_necks
from rams.vectorize.points import submunition_points
from rams.vectorize.polygons import mask_polygons, position_polygons
from rams.vectorize.trenches import trench_lines

__all__ = [
    "chain_lines",
    "join_lines",
    "mask_polygons",
    "merge_polygons",
    "position_polygons",
    "split_at_necks",
    "submunition_points",
    "suppress_points",
    "trench_lines",
]
