"""A one-pixel skeleton as a graph of centre lines, in pixel-index space (x = col, y = row)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from shapely import LineString

_OFFSETS = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def _neighbours(skeleton: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Skeleton pixels (rows, cols) and their 8-neighbours as CSR (indptr, indices)."""
    h, w = skeleton.shape
    flat = np.flatnonzero(skeleton)
    rows, cols = np.divmod(flat, w)
    n = flat.size
    nbr = np.full((n, len(_OFFSETS)), -1, dtype=np.int64)
    for k, (dr, dc) in enumerate(_OFFSETS):
        rr, cc = rows + dr, cols + dc
        inside = (rr >= 0) & (rr < h) & (cc >= 0) & (cc < w)
        target = rr * w + cc
        pos = np.minimum(np.searchsorted(flat, target), n - 1)
        hit = inside & (flat[pos] == target)
        nbr[hit, k] = pos[hit]
    present = nbr >= 0
    indptr = np.concatenate([[0], np.cumsum(present.sum(axis=1))])
    return rows, cols, indptr, nbr[present]


def skeleton_edges(skeleton: np.ndarray) -> list[LineString]:
    """Edges of the skeleton graph between ends and junctions, as lines in pixel-index space.

    Touching pixels with three or more neighbours form one junction, placed at their centroid,
    so every edge meeting there ends on exactly the same coordinate. Rings without any
    junction come out as closed lines.
    """
    if not skeleton.any():
        return []
    rows, cols, indptr, indices = _neighbours(np.asarray(skeleton, dtype=bool))
    n = rows.size
    degree = np.diff(indptr)
    junction = degree >= 3
    src = np.repeat(np.arange(n), degree)
    inner = junction[src] & junction[indices]
    graph = sparse.coo_matrix((np.ones(inner.sum()), (src[inner], indices[inner])), shape=(n, n))
    _, cluster = connected_components(graph, directed=False)
    node_x = cols.astype(np.float64)
    node_y = rows.astype(np.float64)
    jc = cluster[junction]
    counts = np.bincount(jc, minlength=n)
    cx = np.bincount(jc, weights=node_x[junction], minlength=n)
    cy = np.bincount(jc, weights=node_y[junction], minlength=n)
    node_x[junction] = cx[jc] / counts[jc]
    node_y[junction] = cy[jc] / counts[jc]

    ptr = indptr.tolist()
    nbrs = indices.tolist()
    is_node = (junction | (degree != 2)).tolist()
    is_junction = junction.tolist()
    seen = np.zeros(n, dtype=bool)
    used: set[tuple[int, int]] = set()
    paths: list[list[int]] = []

    def walk(start: int, first: int) -> list[int]:
        path = [start, first]
        prev, cur = start, first
        while not is_node[cur] and not (cur == start and len(path) > 2):
            a, b = nbrs[ptr[cur]], nbrs[ptr[cur] + 1]
            prev, cur = cur, (b if a == prev else a)
            path.append(cur)
        return path

    for s in np.flatnonzero(junction | (degree != 2)).tolist():
        for t in nbrs[ptr[s] : ptr[s + 1]]:
            if is_junction[s] and is_junction[t]:
                continue
            if (s, t) in used:
                continue
            path = walk(s, t)
            used.add((s, t))
            used.add((path[-1], path[-2]))
            paths.append(path)
            seen[path] = True
    for s in np.flatnonzero(~seen & (degree == 2) & ~junction).tolist():
        if not seen[s]:
            path = walk(s, nbrs[ptr[s]])
            seen[path] = True
            paths.append(path)

    lines = []
    for path in paths:
        coords = np.column_stack([node_x[path], node_y[path]])
        if len(np.unique(coords, axis=0)) >= 2:
            lines.append(LineString(coords))
    return lines


def _merge(lines: list[LineString]) -> list[LineString]:
    """Lines joined through every node where exactly two of them meet."""
    if not lines:
        return []
    merged = shapely.line_merge(shapely.multilinestrings(lines))
    return list(shapely.get_parts(merged))


def _leaving(line: LineString, point: tuple[float, ...], span: float) -> np.ndarray:
    """Unit vector along ``line`` away from its end ``point``, over ``span`` of it (at most half)."""
    at = min(span, line.length / 2)
    far = line.interpolate(at if line.coords[0] == point else line.length - at)
    v = np.asarray(far.coords[0]) - np.asarray(point)
    return v / max(float(np.hypot(*v)), 1e-12)


def prune_spurs(lines: list[LineString], spur_px: float) -> list[LineString]:
    """Remove spurs (free end to junction) and loops shorter than ``spur_px``, repeatedly.

    A junction keeps at least two of its lines: of a fork at a line's end, the arm the line runs
    on into most straightly (of a star of spurs, its two longest arms). Chains left with no
    junction between them are merged, so a simple chain is one line.
    """
    lines = _merge(lines)
    while True:
        ends = [(ln.coords[0], ln.coords[-1]) for ln in lines]
        degree = Counter(p for pair in ends for p in pair)
        drop = {i for i, (line, (a, b)) in enumerate(zip(lines, ends, strict=True))
                if a == b and line.length < spur_px}
        if not drop:
            at: dict[tuple[float, ...], list[int]] = {}
            for i, (a, b) in enumerate(ends):
                at.setdefault(a, []).append(i)
                at.setdefault(b, []).append(i)
            for junction, members in at.items():
                if degree[junction] < 3:
                    continue
                short = [i for i in members
                         if lines[i].length < spur_px and min(degree[ends[i][0]], degree[ends[i][1]]) == 1]
                others = [i for i in members if i not in short]
                if len(others) == 1:
                    way_in = -_leaving(lines[others[0]], junction, spur_px)
                    short.remove(max(short, key=lambda i: float(way_in @ _leaving(lines[i], junction, spur_px))))
                elif not others:
                    short = sorted(short, key=lambda i: lines[i].length)[:-2]
                drop.update(short)
        if not drop:
            return lines
        lines = _merge([line for i, line in enumerate(lines) if i not in drop])
