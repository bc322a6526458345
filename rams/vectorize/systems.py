"""One centre line per trench from trench lines that overlap, touch or break off.

A trench reaches the reduce step as many lines: pieces cut at region borders, two traces side by
side along one stretch (the detector's map splits along a wide floor, or follows floor and berm),
stubs at zig-zag corners, breaks where vegetation or a collapse hid it; and, in a campaign, one
trace from each flight that saw it. Lines whose ground overlaps (each line standing for the
ground within half its width plus a margin of it) form one trench system; gaps between systems
that :func:`rams.vectorize.join.chain_lines` would bridge (aligned, short, or a zig-zag's
missing corner) are bridged with ground of their own. The skeleton of each system's ground, less
short stubs, is its centre line, turning as sharply as the trench does; where trenches cross or
branch, the straightest continuation is one trench and the rest another, and the centre lines
are chained once more (the two halves of a trench meeting the trench it crosses a few metres
apart).
"""

from __future__ import annotations

import math
from collections import Counter

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from rasterio import features
from shapely import LineString
from skimage.morphology import remove_small_holes, skeletonize

from rams.vectorize.geo import pixel_geometry_to_map, sort_features
from rams.vectorize.join import CORNER_M, _components, _weighted, best_links, link_candidates, link_ends
from rams.vectorize.skeleton import prune_spurs, skeleton_edges

#: Each line stands for the ground within half its width plus this (m): two traces of one trench
#: side by side, or pieces meeting at a corner or a border, overlap there and are one system.
TRACE_MARGIN_M = 0.5
#: Width (m) taken for a line without ``width_m``; a line's ground is at least
#: ``2 * MIN_HALF_WIDTH_M`` (m) wide, a few cells.
DEFAULT_WIDTH_M = 1.0
MIN_HALF_WIDTH_M = 0.4
#: Systems are traced on cells this wide (m), coarser where a system's bounding box would need
#: more than ``MAX_CELLS`` of them (a long trench seen by several flights).
CELL_M = 0.1
MAX_CELLS = 16_000_000
#: Holes in a system's ground up to this area (m²) are filled: two traces that part for a short
#: stretch, not a loop of trench.
HOLE_M2 = 10.0
#: Skeleton branches from a junction to a free end up to this long (m) are pruned: stubs where a
#: corner's spur or a second trace widened the ground.
STUB_M = 3.0
#: A link of the skeleton between two junctions no longer than this (m) is shrunk to one point:
#: a crossing of two wide trenches thins to two junctions joined by a short link.
JUNCTION_LINK_M = CORNER_M


def _skeleton(ground: shapely.Geometry, cell_m: float) -> list[LineString]:
    """The centre lines of ``ground`` (Polygon or MultiPolygon, m): its skeleton on a grid of
    ``cell_m`` cells, stubs up to ``STUB_M`` pruned, short links between junctions shrunk to a
    point, in map coordinates, simplified to ``cell_m``."""
    minx, miny, maxx, maxy = ground.bounds
    cell = max(cell_m, math.sqrt((maxx - minx + 2 * cell_m) * (maxy - miny + 2 * cell_m) / MAX_CELLS))
    transform = Affine(cell, 0, minx - cell, 0, -cell, maxy + cell)
    shape = (math.ceil((maxy - miny) / cell) + 2, math.ceil((maxx - minx) / cell) + 2)
    mask = features.rasterize([(ground, 1)], out_shape=shape, transform=transform).astype(bool)
    hole_px = int(HOLE_M2 / cell**2)
    if hole_px > 0:
        mask = remove_small_holes(mask, max_size=hole_px)
    lines = _shrink_links(prune_spurs(skeleton_edges(skeletonize(mask)), STUB_M / cell),
                          JUNCTION_LINK_M / cell)
    if not lines:
        return []
    geoms = pixel_geometry_to_map(np.asarray(lines, dtype=object), transform)
    return [g for g in shapely.simplify(geoms, cell, preserve_topology=True) if g.length > 0]


def _shrink_links(lines: list[LineString], link_px: float) -> list[LineString]:
    """``lines`` less the links between two junctions no longer than ``link_px``, the lines ending
    at such a link's junctions moved to end at its middle."""
    ends = [(ln.coords[0], ln.coords[-1]) for ln in lines]
    degree = Counter(p for pair in ends for p in pair)
    moved: dict[tuple[float, ...], tuple[float, ...]] = {}
    keep = []
    for line, (a, b) in zip(lines, ends, strict=True):
        if a != b and degree[a] >= 3 and degree[b] >= 3 and line.length <= link_px:
            middle = tuple(np.asarray(line.interpolate(0.5, normalized=True).coords[0]))
            moved[a] = moved[b] = middle
        else:
            keep.append(line)
    if not moved:
        return lines
    out = []
    for line in keep:
        coords = list(line.coords)
        coords[0], coords[-1] = moved.get(coords[0], coords[0]), moved.get(coords[-1], coords[-1])
        out.append(LineString(coords))
    return out


def merge_trench_lines(lines: gpd.GeoDataFrame, gap_m: float, max_turn_deg: float, *,
                       margin_m: float = TRACE_MARGIN_M, cell_m: float = CELL_M) -> gpd.GeoDataFrame:
    """One centre line per trench from trench ``lines`` (LineStrings, projected CRS, metres).

    ``lines`` are a survey's pieces from every region, or the trenches of several overlapping
    flights put together (see the module). Lines whose ground overlaps (within half their
    ``width_m``, at least ``MIN_HALF_WIDTH_M``, plus ``margin_m`` of each; m) are one trench;
    gaps are bridged as :func:`rams.vectorize.join.chain_lines` bridges them (ends up to
    ``gap_m`` apart, m; beyond ``SHORT_GAP_M`` each end turning at most ``max_turn_deg``,
    degrees, or pointing at a missing corner; ``gap_m`` 0 links only ends within ``CORNER_M``).
    Each trench's ground is traced on cells ``cell_m`` wide (m) into one centre line that follows
    its corners however sharp; where trenches cross or branch, the straightest way through is one
    trench and the rest another; the centre lines are chained once more by the same rules. Stubs
    up to ``STUB_M``, and spurs and second traces up to ``rams.vectorize.join.SPUR_M`` (m) long,
    are dropped. A line meeting no other is kept as it is.

    Columns: ``length_m`` (m) is the new line's length; ``width_m`` (m) and ``confidence`` are
    means of the lines it stands for, weighted by their lengths; every other column
    (``flight_id``, the review fields) comes from the longest of them. Each input line stands
    behind the output line nearest its middle. The result does not depend on the input's order.
    """
    lines = lines.explode(index_parts=False).reset_index(drop=True)
    lines = sort_features(lines[~lines.geometry.is_empty.to_numpy() & (lines.geometry.length.to_numpy() > 0)])
    if len(lines) < 2:
        return sort_features(lines)
    geoms = lines.geometry.to_numpy()
    width = (lines["width_m"].to_numpy(dtype=np.float64) if "width_m" in lines.columns
             else np.full(len(lines), DEFAULT_WIDTH_M))
    half = np.maximum(np.nan_to_num(width, nan=DEFAULT_WIDTH_M) / 2, MIN_HALF_WIDTH_M)
    reach = shapely.buffer(geoms, half + margin_m)
    left, right = shapely.STRtree(reach).query(reach, predicate="intersects")
    system = _components(len(lines), left, right)
    # gaps between systems bridged as chain_lines would link them: the bridge is ground too
    links = sorted(set(best_links(link_candidates(list(geoms), gap_m, max_turn_deg), system).values()),
                   key=lambda link: link[2:4])
    bridges = np.array([link[2:4] for link in links], dtype=np.int64).reshape(-1, 2)
    ends = shapely.get_coordinates(shapely.get_point(geoms[:, None], [0, -1])).reshape(-1, 2)
    spans = np.asarray([shapely.LineString([ends[a], *([corner] if corner else []), ends[b]])
                        for _, _, a, b, corner in links], dtype=object)
    group = _components(len(lines), np.concatenate([left, bridges[:, 0] // 2]),
                        np.concatenate([right, bridges[:, 1] // 2]))

    centre: list[LineString] = []
    owner: list[int] = []
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        if len(members) == 1:
            centre.append(geoms[members[0]])
            owner.append(int(g))
            continue
        # the lines' ground, gaps under 2 x margin_m between them closed, and the bridges'
        own = group[bridges[:, 0] // 2] == g
        ground = shapely.union_all([
            shapely.buffer(shapely.union_all(reach[members]), -margin_m),
            *shapely.buffer(spans[own], np.minimum(half[bridges[own, 0] // 2], half[bridges[own, 1] // 2])),
        ])
        # a system too small to leave a skeleton on the grid keeps its longest line
        traced = _skeleton(ground, cell_m) or [max(geoms[members], key=lambda line: line.length)]
        centre.extend(traced)
        owner.extend([int(g)] * len(traced))
    # chained once more, across gaps only within a trench: its gaps to others are bridged above
    edges = sort_features(gpd.GeoDataFrame({"system": owner}, geometry=centre, crs=lines.crs))
    chained = link_ends(edges, gap_m, max_turn_deg, edges["system"].to_numpy())
    return _attributed(lines, chained.geometry.to_numpy())


def _attributed(lines: gpd.GeoDataFrame, trenches: np.ndarray) -> gpd.GeoDataFrame:
    """``trenches`` (LineStrings) with the columns of ``lines``: each line of ``lines`` stands
    behind the trench nearest its middle (a trench standing for none, behind the line nearest
    it)."""
    if len(trenches) == 0:
        return lines.iloc[:0].reset_index(drop=True)
    geoms = lines.geometry.to_numpy()
    middles = shapely.line_interpolate_point(geoms, 0.5, normalized=True)
    owner = np.argmin(shapely.distance(trenches[:, None], middles[None, :]), axis=0)
    lengths = shapely.length(geoms)
    rows = []
    for k, trench in enumerate(trenches):
        own = np.flatnonzero(owner == k)
        if own.size == 0:
            own = np.array([int(np.argmin(shapely.distance(trench, geoms)))])
        weights = lengths[own]
        row = lines.iloc[own[np.argmax(weights)]].to_dict()
        row[lines.geometry.name] = trench
        if "length_m" in lines.columns:
            row["length_m"] = float(trench.length)
        for column in ("width_m", "confidence"):
            if column in lines.columns:
                row[column] = _weighted(lines[column].iloc[own], weights)
        rows.append(row)
    frame = gpd.GeoDataFrame(pd.DataFrame(rows, columns=list(lines.columns)),
                             geometry=lines.geometry.name, crs=lines.crs)
    return sort_features(frame)
