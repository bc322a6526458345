"""The campaign report: one self-contained HTML page over a campaign's merged survey layers.

The page holds a header (campaign, flights, MPix, CRS, dates, rams version), the headline
figures (imaged and assessable ground, CMR and fortification hazard area, submunitions, hazard
areas, items seen by more than one flight), a vector map (inline SVG, north up), a table of the
flights, the baseline per task polygon when there is one, and a table of the hazard areas.
Nothing in the page refers outside it (inline CSS, inline SVG, no scripts), so it opens offline;
the only links are to each flight's GeoPackage, relative to the report's folder.

**Size.** The page stays under ``PAGE_BYTES_BOUND`` (4 MB) for any campaign whose flight ids,
task names and hazard ids are at most 64 characters and GeoPackage paths at most 256:

- the map is at most ``MAP_BYTES_LIMIT`` (1.5 MB): geometries are simplified to a pixel of the
  map (``MAP_MAX_PX``) and rounded to 0.1 px; a ring or line under a pixel is drawn as a dot,
  dots sharing a pixel once; at most ``MAP_POINT_LIMIT`` (10,000) submunition dots are drawn
  (confirmed ones first, then the most confident; the page says how many are not drawn); where
  that still exceeds the limit the simplification is coarsened, then the least important layers
  are left off the map (the page names them);
- each table lists at most ``TABLE_ROW_LIMIT`` (500) rows and says how many it leaves out;
  every feature stays in the campaign GeoPackage.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError

from rams.hazards.areas import CMR, CMR_FORTIFICATION, CMR_GROUND, FORTIFICATION, FORTIFICATION_GROUND
from rams.outputs import write_text
from rams.report import mapview as mv
from rams.report.document import area_html, card, esc, num, review_notice, swatch, value_html
from rams.report.stats import M2_PER_HA, SurveyTally, tally
from rams.report.style import CSS

#: The map's largest size (width, height) in SVG px; it is shown about this wide.
MAP_MAX_PX = (1000, 800)
#: The least ground (m) the map spans each way (a campaign of one item is not drawn at 1 mm/px).
MAP_MIN_SPAN_M = 20.0
#: Margin (px) around the campaign's extent on the map.
MAP_PAD_PX = 16
#: Most submunition dots the map draws.
MAP_POINT_LIMIT = 10_000
#: Most flight labels and most task labels the map draws (the largest first).
MAP_LABEL_LIMIT = 1_000
#: Characters of a label on the map (tables give the full text).
MAP_LABEL_CHARS = 40
#: Most bytes of the map's SVG.
MAP_BYTES_LIMIT = 1_500_000
#: Most rows of each table.
TABLE_ROW_LIMIT = 500
#: Most flights named in a hazard area's row.
FLIGHTS_NAMED = 8
#: The page's size bound (bytes) for ids and names up to 64 characters and paths up to 256.
PAGE_BYTES_BOUND = 4_000_000

#: Simplification tolerances (map px) tried in turn until the map fits ``MAP_BYTES_LIMIT``.
_TOLERANCES_PX = (1.0, 2.0, 4.0, 8.0)
#: Hazard types in the order the hazard table lists them.
_TYPE_ORDER = (CMR, CMR_FORTIFICATION, FORTIFICATION)
#: Map layers in the order they are left off when the map would exceed ``MAP_BYTES_LIMIT``.
_DROP_ORDER = ("positions", "trenches", "strike_footprints", "not_assessable", "baseline", "coverage",
               "hazard_areas")
_LAYER_TITLES = {
    "positions": "positions", "trenches": "trenches", "strike_footprints": "strike footprints",
    "not_assessable": "not-assessable ground", "baseline": "task outlines", "coverage": "flight outlines",
    "hazard_areas": "hazard areas",
}
_REVIEW_CLASSES = (("confirmed", "s-ok"), ("unreviewed", "s-un"), ("rejected", "s-rej"))


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


ORANGE, GREY, BLUE = _hex(mv.HAZARD_ORANGE), _hex(mv.UNASSESSABLE_GREY), _hex(mv.COVERAGE_BLUE)
RED, PURPLE, BROWN = _hex(mv.FOOTPRINT_RED), _hex(mv.POSITION_PURPLE), _hex(mv.TRENCH_BROWN)
SUBMUNITION, CONFIRMED, REJECTED, TASK_INK = _hex(mv.SUBMUNITION_RED), "#7a0019", "#8a8a8a", "#1d2430"

_MAP_STYLE = (
    f".campaign-map .cov{{fill:none;stroke:{BLUE};stroke-width:1.2}}"
    f".campaign-map .cmr{{fill:{ORANGE};fill-opacity:.4;stroke:{ORANGE};stroke-width:1.5}}"
    f".campaign-map .fort{{fill:url(#cm-fort);stroke:{ORANGE};stroke-width:1.5}}"
    f".campaign-map .both{{fill:url(#cm-both);stroke:{ORANGE};stroke-width:1.5}}"
    f".campaign-map .fp{{fill:none;stroke:{RED};stroke-width:1.2;stroke-dasharray:5 3}}"
    f".campaign-map .na{{fill:url(#cm-na);stroke:{GREY};stroke-width:.6}}"
    f".campaign-map .pos{{fill:{PURPLE};fill-opacity:.25;stroke:{PURPLE};stroke-width:1}}"
    f".campaign-map .tr{{fill:none;stroke:{BROWN};stroke-width:1.5;stroke-linejoin:round;stroke-linecap:round}}"
    f".campaign-map .task{{fill:none;stroke:{TASK_INK};stroke-width:1.6;stroke-dasharray:7 3}}"
    ".campaign-map .dot{fill:none;stroke-linecap:round;stroke-width:4}"
    f".campaign-map .s-un{{stroke:{SUBMUNITION}}}.campaign-map .s-ok{{stroke:{CONFIRMED}}}"
    f".campaign-map .s-rej{{stroke:{REJECTED};stroke-width:3}}"
    ".campaign-map text{font-family:system-ui,sans-serif;paint-order:stroke;stroke:#fff;stroke-width:3px;"
    "stroke-linejoin:round}"
    f".campaign-map .lab-f{{font-size:10px;font-weight:600;fill:{BLUE}}}"
    f".campaign-map .lab-t{{font-size:12px;font-weight:700;fill:{TASK_INK}}}"
    ".campaign-map .xy{font-size:10px;fill:#333}"
    ".campaign-map .ink{font-size:11px;fill:#1e1e1e}"
)

_MAP_DEFS = (
    '<defs><pattern id="cm-fort" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)">'
    f'<rect width="6" height="6" fill="{ORANGE}" fill-opacity=".12"/>'
    f'<line x1="0" y1="0" x2="0" y2="6" stroke="{ORANGE}" stroke-width="1.4"/></pattern>'
    '<pattern id="cm-both" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)">'
    f'<rect width="6" height="6" fill="{ORANGE}" fill-opacity=".4"/>'
    f'<line x1="0" y1="0" x2="0" y2="6" stroke="{ORANGE}" stroke-width="1.4"/></pattern>'
    '<pattern id="cm-na" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    f'<rect width="5" height="5" fill="{GREY}" fill-opacity=".25"/>'
    f'<line x1="0" y1="0" x2="0" y2="5" stroke="{GREY}" stroke-opacity=".9" stroke-width="1.2"/></pattern></defs>'
)

_CAMPAIGN_CSS = """
.campaign-map { display: block; width: 100%; height: auto; max-height: 85vh; background: #fbfbf8;
  border-radius: 3px; }
table.data td.list { white-space: normal; max-width: 260px; }
table.data tfoot th, table.data tfoot td { border-top: 2px solid var(--line); font-weight: 600; }
.more { color: var(--muted); margin: 6px 0 0; font-size: 12.5px; }
.wide { overflow-x: auto; }
"""


def write_campaign_report(path: str | os.PathLike, layers: Mapping[str, gpd.GeoDataFrame],
                          summary: Mapping[str, object]) -> Path:
    """Write the campaign report of the merged survey ``layers`` to ``path``; returns the path.

    ``layers`` are the campaign's layers by name (rams.export.schema, in one projected CRS,
    metres; any may be missing or empty): ``submunitions`` (with ``flight_ids``), ``trenches``,
    ``positions``, ``coverage`` (one row per flight's owned ground, ``flight_id``),
    ``not_assessable``, ``strike_footprints``, ``hazard_areas`` and, with task polygons,
    ``baseline`` (rams.campaigns.baseline.BASELINE_FIELDS). ``summary`` is the campaign's run
    summary: ``campaign_id``, ``flights`` (dicts with flight_id, flight, gsd_m, survey_date, mpix,
    regions, gpkg), ``crs``, ``baseline_totals`` (or None), ``rams_version`` and run figures,
    shown as they are. The page is written to a temporary file in the same folder, then renamed
    into place, so an existing report is never half-overwritten. Its size stays under
    ``PAGE_BYTES_BOUND`` (see the module's docstring).
    """
    out = Path(path)
    crs = _campaign_crs(layers, summary)
    frames = {name: _in_crs(frame, crs) for name, frame in layers.items() if isinstance(frame, gpd.GeoDataFrame)}
    write_text(out, _page(out, frames, summary, crs))
    return out


# --- data -------------------------------------------------------------------------------------


def _campaign_crs(layers: Mapping[str, gpd.GeoDataFrame], summary: Mapping[str, object]) -> CRS | None:
    if summary.get("crs"):
        try:
            return CRS.from_user_input(summary["crs"])
        except CRSError:  # shown as given; the layers' own CRS is used instead
            pass
    for frame in layers.values():
        if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None:
            return CRS.from_user_input(frame.crs)
    return None


def _in_crs(frame: gpd.GeoDataFrame, crs: CRS | None) -> gpd.GeoDataFrame:
    if crs is not None and frame.crs is not None and not frame.empty and not CRS(frame.crs).equals(crs):
        return frame.to_crs(crs)
    return frame


def _present(frame: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """The rows of ``frame`` with a geometry; None when there are none."""
    if frame is None or frame.empty:
        return None
    geoms = np.asarray(frame.geometry.values, dtype=object)
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    return frame[keep] if keep.any() else None


def _text(frame: gpd.GeoDataFrame, column: str, default: str = "") -> pd.Series:
    if column not in frame:
        return pd.Series(default, index=frame.index, dtype=object)
    return frame[column].astype(object).where(frame[column].notna(), default).astype(str)


def _review_status(frame: gpd.GeoDataFrame) -> pd.Series:
    return _text(frame, "review_status", "unreviewed").replace("", "unreviewed")


def _sighting_flights(frame: gpd.GeoDataFrame) -> pd.Series:
    """Per submunition, the flights that saw it (``flight_ids``; a photograph survey's ``photos``;
    else ``flight_id``), as lists."""
    column = next(c for c in ("flight_ids", "photos", "flight_id") if c in frame or c == "flight_id")
    return _text(frame, column).map(lambda ids: [i.strip() for i in ids.split(",") if i.strip()])


def _number(value: object, digits: int = 0) -> str:
    """A table number; "—" for a missing or NaN value."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "—"
    return "—" if math.isnan(value) else num(value, digits)


def _ha(area_m2: float) -> str:
    return f"{num(area_m2 / M2_PER_HA, 2)} ha"


@dataclass(frozen=True)
class _Figures:
    imaged_m2: float
    assessable_m2: float
    not_assessable_m2: float
    cmr_m2: float
    cmr_n: int
    fortification_m2: float
    fortification_n: int
    hazard_types: dict[str, int]
    submunitions: int
    review: dict[str, int]
    reviewed: bool
    multi_seen: int


def _figures(frames: Mapping[str, gpd.GeoDataFrame]) -> tuple[_Figures, SurveyTally]:
    t = tally(dict(frames), 0.0)
    hazards = _present(frames.get("hazard_areas"))
    cmr_m2 = fortification_m2 = 0.0
    cmr_n = fortification_n = 0
    kinds: dict[str, int] = {}
    if hazards is not None:
        types = _text(hazards, "hazard_type", "unspecified")
        areas = hazards.geometry.area
        cmr, fortification = types.isin(CMR_GROUND), types.isin(FORTIFICATION_GROUND)
        cmr_m2, cmr_n = float(areas[cmr].sum()), int(cmr.sum())
        fortification_m2, fortification_n = float(areas[fortification].sum()), int(fortification.sum())
        kinds = {k: int(n) for k, n in types.value_counts().items()}
    points = _present(frames.get("submunitions"))
    multi = 0
    if points is not None:
        multi = int((_sighting_flights(points).map(len) > 1).sum())
    review = t.review.get("submunitions", {})
    return _Figures(
        imaged_m2=t.coverage.area_m2 if t.coverage is not None else 0.0,
        assessable_m2=t.assessable.area_m2 if t.assessable is not None else 0.0,
        not_assessable_m2=t.not_assessable.area_m2,
        cmr_m2=cmr_m2, cmr_n=cmr_n, fortification_m2=fortification_m2, fortification_n=fortification_n,
        hazard_types=kinds,
        submunitions=int(review.get("total", 0)),
        review=review,
        reviewed=points is not None and "review_status" in points
        and bool((_review_status(points) != "unreviewed").any()),
        multi_seen=multi,
    ), t


# --- the map ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    """Map metres to SVG px: ``x0``, ``y1`` the extent's left and top, ``scale`` px per metre."""

    x0: float
    y1: float
    scale: float
    width: int
    height: int

    def px(self, geoms: np.ndarray) -> np.ndarray:
        def to_px(xy: np.ndarray) -> np.ndarray:
            out = np.empty_like(xy)
            out[:, 0] = (xy[:, 0] - self.x0) * self.scale + MAP_PAD_PX
            out[:, 1] = (self.y1 - xy[:, 1]) * self.scale + MAP_PAD_PX
            return out

        return shapely.transform(shapely.force_2d(geoms), to_px)

    def metres(self, x_px: float, y_px: float) -> tuple[float, float]:
        return self.x0 + (x_px - MAP_PAD_PX) / self.scale, self.y1 - (y_px - MAP_PAD_PX) / self.scale


def _grid(bounds: np.ndarray) -> _Grid:
    left, bottom, right, top = bounds
    span_x, span_y = max(right - left, MAP_MIN_SPAN_M), max(top - bottom, MAP_MIN_SPAN_M)
    cx, cy = (left + right) / 2, (bottom + top) / 2
    scale = min((MAP_MAX_PX[0] - 2 * MAP_PAD_PX) / span_x, (MAP_MAX_PX[1] - 2 * MAP_PAD_PX) / span_y)
    width = math.ceil(span_x * scale + 2 * MAP_PAD_PX)
    height = math.ceil(span_y * scale + 2 * MAP_PAD_PX)
    return _Grid(cx - span_x / 2, cy + span_y / 2, scale, width, height)


def _geoms(frame: gpd.GeoDataFrame | None) -> np.ndarray:
    frame = _present(frame)
    return np.empty(0, dtype=object) if frame is None else np.asarray(frame.geometry.values, dtype=object)


def _flatten(geoms: np.ndarray) -> np.ndarray:
    """The single parts of ``geoms``, collections (nested ones too) flattened."""
    parts = shapely.get_parts(geoms)
    multi = shapely.get_type_id(parts) >= 4  # Multi* and GeometryCollection
    while multi.any():
        parts = np.concatenate([parts[~multi], shapely.get_parts(parts[multi])])
        multi = shapely.get_type_id(parts) >= 4
    return parts[~shapely.is_empty(parts)]


def _tenths(values: np.ndarray) -> list[str]:
    """Integers in tenths as short SVG numbers: 125 → "12.5", -5 → "-.5", 30 → "3"."""
    out = []
    for v in values.tolist():
        q, r = divmod(abs(v), 10)
        text = (str(q) if q else "") + (f".{r}" if r else "") or "0"
        out.append("-" + text if v < 0 else text)
    return out


@dataclass(frozen=True)
class _Rings:
    """Polygon rings or lines in 0.1 px units, ready to write as SVG path data: vertex ``t``
    (int, n x 2) in ring order, the ``starts`` and ``ends`` of the rings drawn, and ``dots``, the
    px positions of the outer rings or lines under a pixel, drawn as dots instead."""

    t: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    dots: np.ndarray
    closed: bool

    @property
    def bytes_estimate(self) -> int:
        """About the bytes of the path data: a short relative step per vertex."""
        return int((self.ends - self.starts).sum()) * 8 + len(self.starts) * 12 + len(self.dots) * 12


_NO_DOTS = np.empty((0, 2))


def _rings(geoms_px: np.ndarray, tolerance: float, closed: bool) -> _Rings:
    """The rings of polygons (``closed``) or the lines of ``geoms_px`` (map px), simplified to
    ``tolerance`` px and rounded to 0.1 px. Exteriors and holes wind opposite ways, so
    overlapping polygons fill with the nonzero rule."""
    empty = _Rings(np.empty((0, 2), np.int64), np.empty(0, np.int64), np.empty(0, np.int64), _NO_DOTS, closed)
    if not len(geoms_px):
        return empty
    # lines need no topology kept, and simplify much faster without; polygons keep theirs so that
    # a small area never vanishes (it becomes a dot below)
    parts = _flatten(shapely.simplify(geoms_px, tolerance, preserve_topology=closed))
    kinds = shapely.get_type_id(parts)
    if closed:
        parts = shapely.orient_polygons(parts[kinds == shapely.GeometryType.POLYGON])
        rings, owner = shapely.get_rings(parts, return_index=True)
        outer = np.r_[True, owner[1:] != owner[:-1]] if len(owner) else np.empty(0, bool)
    else:
        rings = parts[np.isin(kinds, (shapely.GeometryType.LINESTRING, shapely.GeometryType.LINEARRING))]
        outer = np.ones(len(rings), bool)
    if not len(rings):
        return empty
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    t = np.rint(coords * 10).astype(np.int64)
    if closed:  # each ring's closing vertex: "z" closes it
        last = np.r_[ring[1:] != ring[:-1], True]
        t, ring = t[~last], ring[~last]
    keep = np.r_[True, (ring[1:] != ring[:-1]) | (t[1:] != t[:-1]).any(axis=1)]
    t, ring = t[keep], ring[keep]
    if not len(t):
        return empty
    starts = np.flatnonzero(np.r_[True, ring[1:] != ring[:-1]])
    ends = np.r_[starts[1:], len(t)]
    span = (np.maximum.reduceat(t, starts) - np.minimum.reduceat(t, starts)).max(axis=1)
    tiny = (ends - starts < (3 if closed else 2)) | (span < 10)
    dots = t[starts[tiny & outer[ring[starts]]]] / 10.0
    return _Rings(t, starts[~tiny], ends[~tiny], dots, closed)


def _path_data(rings: _Rings) -> str:
    """SVG path data of ``rings``: each an absolute move, then relative steps."""
    if not len(rings.starts):
        return ""
    t = rings.t
    step = t - np.roll(t, 1, axis=0)
    step[rings.starts] = t[rings.starts]
    used = np.zeros(len(t), bool)
    for start, end in zip(rings.starts.tolist(), rings.ends.tolist(), strict=True):
        used[start:end] = True
    xs, ys = _tenths(step[used, 0]), _tenths(step[used, 1])
    where = np.cumsum(used) - 1  # vertex index -> index among the used ones
    pairs = [x + ("" if y[0] == "-" else " ") + y for x, y in zip(xs, ys, strict=True)]
    close = "z" if rings.closed else ""
    data = []
    for start, end in zip(where[rings.starts].tolist(), (where[rings.ends - 1] + 1).tolist(), strict=True):
        rest = "".join(p if p[0] == "-" else " " + p for p in pairs[start + 2:end])
        data.append(f"M{pairs[start]}l{pairs[start + 1]}{rest}{close}")
    return "".join(data)


def _dot_data(px: np.ndarray) -> str:
    """Zero-length subpaths (drawn as round dots) at ``px``, one per whole pixel."""
    if not len(px):
        return ""
    cells = np.unique(np.rint(px).astype(np.int64), axis=0)
    return "".join(f"M{x} {y}h0" for x, y in cells.tolist())


def _short(text: object, limit: int = MAP_LABEL_CHARS) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class _MapLayer:
    """One thing drawn on the map: ``paths`` of (css class, geometries in px, title or "")."""

    name: str
    paths: tuple[tuple[str, np.ndarray, str], ...]
    closed: bool
    dot_colour: str


@dataclass(frozen=True)
class _Map:
    svg: str
    caption: str
    notes: tuple[str, ...]


def _map(frames: Mapping[str, gpd.GeoDataFrame], crs: CRS | None) -> _Map:
    """The campaign map as inline SVG, under ``MAP_BYTES_LIMIT`` bytes."""
    bounds = [frame.total_bounds for name in ("coverage", "hazard_areas", "strike_footprints", "not_assessable",
                                               "baseline", "trenches", "positions", "submunitions")
              if (frame := _present(frames.get(name))) is not None]
    if not bounds:
        svg = ('<svg class="campaign-map" viewBox="0 0 600 80" width="600" height="80" role="img" '
               'aria-label="Campaign map: nothing to draw"><rect width="600" height="80" fill="#f5f7fa"/>'
               '<text x="300" y="45" text-anchor="middle" font-size="14" fill="#5b6675">'
               "The campaign holds no geometry to map.</text></svg>")
        return _Map(svg, "Nothing to map.", ())
    b = np.asarray(bounds)
    grid = _grid(np.array([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()]))

    layers, labels = _map_layers(frames, grid)
    points, point_notes = _points(frames.get("submunitions"), grid)
    furniture = _furniture(grid, crs)
    fixed = len(points) + len(labels) + len(furniture) + len(_MAP_STYLE) + len(_MAP_DEFS) + 400
    budget = MAP_BYTES_LIMIT - fixed
    notes = list(point_notes)
    drawn: dict[str, str] = {}
    for tolerance in _TOLERANCES_PX:
        prepared = {layer.name: [_rings(geoms, tolerance, layer.closed) for _, geoms, _ in layer.paths]
                    for layer in layers}
        estimate = sum(r.bytes_estimate for rings in prepared.values() for r in rings)
        if estimate > 1.25 * budget and tolerance != _TOLERANCES_PX[-1]:
            continue  # far too big: no need to write it out
        drawn = {layer.name: _draw_layer(layer, prepared[layer.name]) for layer in layers}
        if sum(len(s.encode()) for s in drawn.values()) <= budget:
            break
    if tolerance > 1.0:
        notes.append(f"Outlines are simplified to {tolerance:g} px ({num(tolerance / grid.scale, 1)} m) "
                     "to keep the map's size bounded.")
    left_off = []
    for name in _DROP_ORDER:
        if sum(len(s.encode()) for s in drawn.values()) <= budget:
            break
        if drawn.pop(name, None) is not None:
            left_off.append(_LAYER_TITLES[name])
    if left_off:
        notes.append(f"Too detailed to draw at this scale, left off the map: {', '.join(left_off)} "
                     "(every feature is in the GeoPackage).")
    body = "".join(drawn.get(layer.name, "") for layer in layers)
    svg = (f'<svg class="campaign-map" viewBox="0 0 {grid.width} {grid.height}" width="{grid.width}" '
           f'height="{grid.height}" role="img" aria-label="Campaign map, north up">'
           f"<style>{_MAP_STYLE}</style>{_MAP_DEFS}"
           f'<rect width="{grid.width}" height="{grid.height}" fill="#fbfbf8"/>'
           f'<g class="layers">{body}{points}</g><g class="labels">{labels}</g>{furniture}</svg>')
    return _Map(svg, _caption(grid, crs), tuple(notes))


def _map_layers(frames: Mapping[str, gpd.GeoDataFrame], grid: _Grid) -> tuple[list[_MapLayer], str]:
    """The map's layers in drawing order, geometries in px, and the labels of flights and tasks."""
    layers: list[_MapLayer] = []
    labels: list[tuple[Sequence[str], np.ndarray, str, float]] = []
    coverage = _present(frames.get("coverage"))
    if coverage is not None:
        ids = _text(coverage, "flight_id")
        owned = coverage.geometry.groupby(ids.to_numpy(), sort=False).agg(lambda g: shapely.union_all(g.to_numpy()))
        geoms = grid.px(np.asarray(owned.to_numpy(), dtype=object))
        layers.append(_MapLayer("coverage", tuple(("cov", np.array([g], dtype=object), str(i))
                                                  for i, g in zip(owned.index, geoms, strict=True)), True, BLUE))
        labels.append(([str(i) for i in owned.index], geoms, "lab-f", 10.0))
    hazards = _present(frames.get("hazard_areas"))
    if hazards is not None:
        types = _text(hazards, "hazard_type").to_numpy()
        geoms = grid.px(np.asarray(hazards.geometry.values, dtype=object))
        paths = tuple((cls, geoms[types == kind], "") for kind, cls in
                      ((CMR, "cmr"), (FORTIFICATION, "fort"), (CMR_FORTIFICATION, "both")))
        other = ~np.isin(types, _TYPE_ORDER)
        layers.append(_MapLayer("hazard_areas", (*paths, ("cmr", geoms[other], "")), True, ORANGE))
    layers.append(_MapLayer("strike_footprints", (("fp", grid.px(_geoms(frames.get("strike_footprints"))), ""),),
                            True, RED))
    # over the hazard areas: ground nobody could assess must never look like plain hazard
    layers.append(_MapLayer("not_assessable", (("na", grid.px(_geoms(frames.get("not_assessable"))), ""),),
                            True, GREY))
    layers.append(_MapLayer("positions", (("pos", grid.px(_geoms(frames.get("positions"))), ""),), True, PURPLE))
    layers.append(_MapLayer("trenches", (("tr", grid.px(_geoms(frames.get("trenches"))), ""),), False, BROWN))
    tasks = _present(frames.get("baseline"))
    if tasks is not None:
        names = _text(tasks, "task").tolist()
        geoms = grid.px(np.asarray(tasks.geometry.values, dtype=object))
        layers.append(_MapLayer("baseline", tuple(("task", np.array([g], dtype=object), n)
                                                  for n, g in zip(names, geoms, strict=True)), True, TASK_INK))
        labels.insert(0, (names, geoms, "lab-t", 12.0))  # placed first: tasks are named in the baseline
    return layers, _labels(labels)


def _labels(kinds: Sequence[tuple[Sequence[str], np.ndarray, str, float]]) -> str:
    """Labels (names, geometries in px, css class, font px) centred at a point inside each
    geometry, the largest ``MAP_LABEL_LIMIT`` of each kind first, where the label fits inside its
    geometry and clear of the labels placed before it (a hover on an outline names it anyway)."""
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for names, geoms, cls, size in kinds:
        if not len(geoms):
            continue
        order = np.argsort(-shapely.area(geoms), kind="stable")[:MAP_LABEL_LIMIT]
        anchors = shapely.get_coordinates(shapely.point_on_surface(geoms[order]))
        texts = [_short(names[i]) for i in order.tolist()]
        half = np.array([0.31 * size * len(t) + 2 for t in texts])
        for k, text in enumerate(texts):
            # at the point inside the geometry, else just below or above it
            for dy in (0.0, 1.3 * size, -1.3 * size):
                x, y = anchors[k, 0], anchors[k, 1] + dy
                bounds = (x - half[k], y - 0.55 * size, x + half[k], y + 0.5 * size)
                if not shapely.covers(geoms[order[k]], shapely.box(*bounds)):
                    continue
                if placed:
                    other = np.asarray(placed)
                    if ((other[:, 0] < bounds[2]) & (other[:, 2] > bounds[0]) & (other[:, 1] < bounds[3])
                            & (other[:, 3] > bounds[1])).any():
                        continue
                placed.append(bounds)
                out.append(f'<text class="{cls}" x="{x:.1f}" y="{y + 0.35 * size:.1f}" text-anchor="middle">'
                           f"{esc(text)}</text>")
                break
    return "".join(out)


def _draw_layer(layer: _MapLayer, rings: Sequence[_Rings]) -> str:
    out = []
    for (cls, _, title), prepared in zip(layer.paths, rings, strict=True):
        data = _path_data(prepared)
        if data:
            out.append(f'<path class="{cls}" d="{data}">' + (f"<title>{esc(title)}</title></path>" if title
                                                             else "</path>"))
    dot_data = _dot_data(np.concatenate([r.dots for r in rings])) if rings else ""
    if dot_data:
        out.append(f'<path class="dot" stroke="{layer.dot_colour}" d="{dot_data}"/>')
    return "".join(out)


def _points(frame: gpd.GeoDataFrame | None, grid: _Grid) -> tuple[str, list[str]]:
    """Submunition dots (one per pixel and review class, at most ``MAP_POINT_LIMIT``: confirmed
    first, then the most confident), drawn rejected first so confirmed ones lie on top."""
    frame = _present(frame)
    if frame is None:
        return "", []
    xy = shapely.get_coordinates(grid.px(shapely.centroid(np.asarray(frame.geometry.values, dtype=object))))
    status = _review_status(frame).to_numpy()
    rank = np.where(status == "confirmed", 0, np.where(status == "rejected", 2, 1))
    confidence = pd.to_numeric(frame["confidence"], errors="coerce").fillna(0.0).to_numpy() \
        if "confidence" in frame else np.zeros(len(frame))
    order = np.lexsort((-confidence, rank))
    cells = np.rint(xy[order]).astype(np.int64)
    keys = np.column_stack([rank[order], cells])
    _, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    kept = np.zeros(len(first), bool)
    kept[np.argsort(first, kind="stable")[:MAP_POINT_LIMIT]] = True
    drawn_item = kept[inverse]
    total, drawn = len(frame), int(drawn_item.sum())
    paths = []
    for r, cls in ((2, "s-rej"), (1, "s-un"), (0, "s-ok")):
        pick = first[kept & (rank[order][first] == r)]
        if len(pick):
            paths.append(f'<path class="dot {cls}" d="{_dot_data(xy[order][pick])}"/>')
    notes = []
    if drawn < total:
        notes.append(f"{num(total - drawn)} of {num(total)} submunitions are not drawn: the map holds at most "
                     f"{num(MAP_POINT_LIMIT)} dots, confirmed items first, then the most confident; every item "
                     "is in the GeoPackage.")
    return "".join(paths), notes


def _nice_length(target_m: float) -> float:
    """The largest 1, 2 or 5 × 10^k metres not above ``target_m`` (> 0)."""
    exponent = 10.0 ** math.floor(math.log10(target_m))
    return next(step * exponent for step in (5, 2, 1) if step * exponent <= target_m)


def _furniture(grid: _Grid, crs: CRS | None) -> str:
    """Scale bar (bottom left), north arrow (top right) and the corners' coordinates."""
    length_m = _nice_length(0.2 * (grid.width - 2 * MAP_PAD_PX) / grid.scale)
    bar = length_m * grid.scale
    label = f"{length_m:g} m" if length_m < 1000 else f"{length_m / 1000:g} km"
    x0, y0 = MAP_PAD_PX + 6, grid.height - MAP_PAD_PX - 2
    segments = "".join(
        f'<rect x="{x0 + i * bar / 4:.1f}" y="{y0 - 5}" width="{bar / 4:.1f}" height="5" '
        f'fill="{"#1e1e1e" if i % 2 == 0 else "#fff"}" stroke="#1e1e1e" stroke-width=".8"/>'
        for i in range(4))
    scale = (f'<g class="scale-bar"><rect x="{x0 - 6}" y="{y0 - 22}" width="{bar + 12 + 7 * len(label):.1f}" '
             f'height="28" rx="3" fill="#fff" fill-opacity=".85"/>{segments}'
             f'<text class="ink" x="{x0}" y="{y0 - 8}">0</text>'
             f'<text class="ink" x="{x0 + bar:.1f}" y="{y0 - 8}" text-anchor="middle">{label}</text></g>')
    cx, cy = grid.width - MAP_PAD_PX - 12, MAP_PAD_PX + 2
    north = (f'<g class="north"><rect x="{cx - 11}" y="{cy - 4}" width="22" height="38" rx="3" fill="#fff" '
             f'fill-opacity=".85"/><path d="M{cx} {cy}l-6 15 6-3 6 3z" fill="#1e1e1e"/>'
             f'<text class="ink" x="{cx}" y="{cy + 30}" text-anchor="middle">N</text></g>')
    left, top = grid.metres(MAP_PAD_PX, MAP_PAD_PX)
    right, bottom = grid.metres(grid.width - MAP_PAD_PX, grid.height - MAP_PAD_PX)
    corners = (f'<text class="xy" x="{MAP_PAD_PX}" y="{MAP_PAD_PX - 4}">E {num(left)} N {num(top)}</text>'
               f'<text class="xy" x="{grid.width - MAP_PAD_PX}" y="{grid.height - 4}" text-anchor="end">'
               f"E {num(right)} N {num(bottom)}</text>")
    return scale + north + corners


def _caption(grid: _Grid, crs: CRS | None) -> str:
    left, top = grid.metres(MAP_PAD_PX, MAP_PAD_PX)
    right, bottom = grid.metres(grid.width - MAP_PAD_PX, grid.height - MAP_PAD_PX)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    where = f"centre E {num(cx)} N {num(cy)}"
    if crs is not None:
        try:
            lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(cx, cy)
            if math.isfinite(lon) and math.isfinite(lat):
                where += f", latitude {lat:.6f}, longitude {lon:.6f} (WGS 84)"
        except ProjError:  # a CRS without a way to WGS 84 keeps its own coordinates
            pass
    crs_name = esc(crs.to_string()) if crs is not None else "an unknown CRS"
    return (f"North up; coordinates in metres in {crs_name}: E {num(left)}–{num(right)}, "
            f"N {num(bottom)}–{num(top)} ({num((right - left) / 1000, 2)} × {num((top - bottom) / 1000, 2)} km), "
            f"{where}. One map pixel ≈ {num(1 / grid.scale, 2)} m; outlines are simplified to about a pixel. "
            "Flights and tasks are labelled where their name fits; hover an outline for its name.")


# --- the page ---------------------------------------------------------------------------------


def _flights(summary: Mapping[str, object]) -> list[Mapping[str, object]]:
    flights = summary.get("flights") or []
    return [f for f in flights if isinstance(f, Mapping)]


def _date_range(flights: Sequence[Mapping[str, object]]) -> str:
    dates = sorted({str(f.get("survey_date")) for f in flights if f.get("survey_date")})
    if not dates:
        return "survey dates unknown"
    return dates[0] if len(dates) == 1 else f"{dates[0]} – {dates[-1]}"


def _cards(f: _Figures, sources: str = "flights") -> str:
    def share(part: float) -> str:
        return f"{part / f.imaged_m2 * 100:.1f} % of imaged" if f.imaged_m2 else "—"

    kinds = " · ".join(f"{num(f.hazard_types[k])} {esc(k)}" for k in
                       (*_TYPE_ORDER, *sorted(set(f.hazard_types) - set(_TYPE_ORDER))) if f.hazard_types.get(k))
    if f.reviewed:
        review = " · ".join(f"{num(f.review.get(state, 0))} {state}" for state in
                            ("confirmed", "unreviewed", "unsure", "rejected") if f.review.get(state))
    else:
        review = "all unreviewed" if f.submunitions else "point detections"
    cards = [
        card("Imaged", _ha(f.imaged_m2), f"{num(f.imaged_m2)} m², the {esc(sources)}' coverage"),
        card("Assessable", _ha(f.assessable_m2), share(f.assessable_m2)),
        card("Not assessable", _ha(f.not_assessable_m2), f"{share(f.not_assessable_m2)} · never clear", "caution"),
        card("CMR hazard area", _ha(f.cmr_m2),
             f"{num(f.cmr_n)} areas CMR or CMR+FORTIFICATION", "hazard"),
        card("Fortification hazard area", _ha(f.fortification_m2),
             f"{num(f.fortification_n)} areas FORTIFICATION or CMR+FORTIFICATION", "hazard"),
        card("Suspected hazard areas", num(sum(f.hazard_types.values())), kinds or "none", "hazard"),
        card("Submunitions", num(f.submunitions), review),
        card(f"Seen by several {esc(sources)}", num(f.multi_seen), f"of {num(f.submunitions)} submunitions"),
    ]
    return f'<section class="cards" id="headline">{"".join(cards)}</section>'


_MAP_LEGEND = (
    ("hazard-cmr", "Suspected hazard area, CMR"),
    ("hazard-fort", "Suspected hazard area, fortification"),
    ("hazard-both", "Suspected hazard area, CMR and fortification"),
    ("footprint", "Strike footprint"),
    ("unassessable", "Not assessable (never clear)"),
    ("position", "Position"),
    ("trench", "Trench"),
    ("coverage", "Ground a flight owns (outline, flight id)"),
)


def _dot_swatch(colour: str) -> str:
    return (f'<svg class="swatch" width="28" height="20" viewBox="0 0 28 20"><circle cx="14" cy="10" r="3" '
            f'fill="{colour}"/></svg>')


def _map_section(m: _Map, has_tasks: bool) -> str:
    legend = [f"<li>{swatch(kind)}<span>{label}</span></li>" for kind, label in _MAP_LEGEND]
    if has_tasks:
        legend.append('<li><svg class="swatch" width="28" height="20" viewBox="0 0 28 20"><rect x="2" y="2" '
                      f'width="24" height="16" fill="none" stroke="{TASK_INK}" stroke-width="1.6" '
                      'stroke-dasharray="7 3"/></svg><span>Task polygon (outline, name)</span></li>')
    legend += [f"<li>{_dot_swatch(SUBMUNITION)}<span>Submunition, unreviewed or unsure</span></li>",
               f"<li>{_dot_swatch(CONFIRMED)}<span>Submunition, confirmed</span></li>",
               f"<li>{_dot_swatch(REJECTED)}<span>Submunition, rejected</span></li>"]
    notes = "".join(f'<p class="more">{note}</p>' for note in m.notes)
    return f"""
<section class="map-section" id="map">
  <h2>Map</h2>
  <div class="map-grid">
    <figure class="map">{m.svg}
      <figcaption>{m.caption}</figcaption>{notes}
    </figure>
    <aside class="legend"><h3>Legend</h3><ul>{"".join(legend)}</ul></aside>
  </div>
</section>"""


def _more(shown: int, total: int, where: str) -> str:
    if shown >= total:
        return ""
    return f'<p class="more">{num(total - shown)} more not listed here: {where}.</p>'


def _gpkg_link(gpkg: object, folder: Path) -> str:
    if not gpkg:
        return "—"
    target = os.path.abspath(str(gpkg))
    try:
        relative = Path(os.path.relpath(target, os.path.abspath(folder))).as_posix()
    except ValueError:  # another drive
        relative = Path(target).as_posix()
    return f'<a href="{esc(quote(relative))}"><code>{esc(relative)}</code></a>'


def _flights_table(summary: Mapping[str, object], frames: Mapping[str, gpd.GeoDataFrame], folder: Path,
                   sources: str = "flights") -> str:
    flights = _flights(summary)
    seen: dict[str, int] = {}
    shared: dict[str, int] = {}
    points = _present(frames.get("submunitions"))
    if points is not None:
        for ids in _sighting_flights(points):
            for flight_id in set(ids):
                seen[flight_id] = seen.get(flight_id, 0) + 1
                if len(set(ids)) > 1:
                    shared[flight_id] = shared.get(flight_id, 0) + 1
    owned: dict[str, float] = {}
    coverage = _present(frames.get("coverage"))
    if coverage is not None:
        owner = "photo" if "photo" in coverage else "flight_id"  # a photograph survey's rows name the photograph
        owned = coverage.geometry.area.groupby(_text(coverage, owner).to_numpy()).sum().to_dict()
    rows = []
    for flight in flights[:TABLE_ROW_LIMIT]:
        flight_id = str(flight.get("flight_id", ""))
        gsd = flight.get("gsd_m")
        gsd_cm = _number(float(gsd) * 100, 1) if isinstance(gsd, int | float) else "—"
        also = f"<span class='sub'>{num(shared[flight_id])} also by another</span>" if shared.get(flight_id) else ""
        rows.append(
            f"<tr><th><code>{esc(flight_id)}</code></th><td class='n'>{gsd_cm}</td>"
            f"<td>{esc(flight.get('survey_date') or '—')}</td><td class='n'>{_number(flight.get('mpix'), 1)}</td>"
            f"<td class='n'>{_number(flight.get('regions'))}</td>"
            f"<td class='n'>{_ha(owned[flight_id]) if flight_id in owned else '—'}</td>"
            f"<td class='n'>{num(seen.get(flight_id, 0))}{also}</td>"
            f"<td>{_gpkg_link(flight.get('gpkg'), folder)}</td></tr>")
    body = "".join(rows) or "<tr><td colspan='8' class='none'>No flights.</td></tr>"
    return f"""
<section id="flights">
  <h2>{esc(sources.capitalize())}</h2>
  <p class="note">Owned ground: the part of the campaign's imaged ground each flight's evidence comes from
  (the finest flight owns ground two flights share). Submunitions seen: items the flight imaged, including
  those another flight saw too. Each flight's own survey is in its GeoPackage.</p>
  <div class="wide"><table class="data"><thead><tr><th>Flight</th><th class='n'>GSD cm</th><th>Date</th>
  <th class='n'>MPix</th><th class='n'>Regions</th>
  <th class='n'>Owned ground</th><th class='n'>Submunitions seen</th><th>GeoPackage</th>
  </tr></thead><tbody>{body}</tbody></table></div>
  {_more(min(len(flights), TABLE_ROW_LIMIT), len(flights), "the campaign GeoPackage's metadata lists every flight")}
</section>"""


def _percent(share: object) -> str:
    try:
        value = float(share)
    except (TypeError, ValueError):
        return "—"
    return "—" if math.isnan(value) else f"{value * 100:.1f} %"


def _area_cell(value: object) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "—"
    return "—" if math.isnan(value) else area_html(value)


def _ratio(value: object) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "—"
    return "—" if not math.isfinite(value) else num(value, 1)


def _baseline_cells(row: Mapping[str, object]) -> str:
    return (f"<td>{_area_cell(row.get('task_area_m2'))}</td>"
            f"<td>{_area_cell(row.get('imaged_m2'))}</td><td class='n'>{_percent(row.get('imaged_share'))}</td>"
            f"<td>{_area_cell(row.get('assessable_m2'))}</td>"
            f"<td class='n'>{_percent(row.get('assessable_share'))}</td>"
            f"<td>{_area_cell(row.get('cmr_area_m2'))}</td><td>{_area_cell(row.get('fortification_area_m2'))}</td>"
            f"<td class='n'>{_number(row.get('submunitions_confirmed'))}</td>"
            f"<td class='n'>{_number(row.get('submunitions_unreviewed'))}</td>"
            f"<td class='n'>{_ratio(row.get('task_to_cmr_ratio'))}</td>")


def _baseline_table(frames: Mapping[str, gpd.GeoDataFrame], totals: object) -> str:
    tasks = frames.get("baseline")
    if tasks is None:
        return ""
    records = pd.DataFrame(tasks.drop(columns=tasks.geometry.name)).to_dict("records")
    body = "".join(f"<tr><th>{esc(r.get('task', ''))}</th>{_baseline_cells(r)}</tr>"
                   for r in records[:TABLE_ROW_LIMIT]) or "<tr><td colspan='11' class='none'>No tasks.</td></tr>"
    foot = ""
    if isinstance(totals, Mapping):
        foot = (f"<tfoot><tr><th>All {_number(totals.get('tasks'))} tasks"
                f"<span class='sub'>union</span></th>{_baseline_cells(totals)}</tr></tfoot>")
    return f"""
<section id="baseline">
  <h2>Baseline per task</h2>
  <p class="note">What the campaign's evidence says about each task polygon. Shares are of the task's area;
  CMR area counts areas <code>CMR</code> or <code>CMR+FORTIFICATION</code>, fortification area
  <code>FORTIFICATION</code> or <code>CMR+FORTIFICATION</code>; rejected submunitions count nowhere, unsure
  ones as unreviewed. The ratio is the task's area over the evidence-based CMR hazard area inside it
  (— where the task holds none). The totals are over the union of the tasks, so overlapping ground counts
  once.</p>
  <div class="wide"><table class="data"><thead><tr><th>Task</th><th>Task area</th><th>Imaged</th>
  <th class='n'>Imaged %</th><th>Assessable</th><th class='n'>Assessable %</th><th>CMR area</th>
  <th>Fortification area</th><th class='n'>Confirmed</th><th class='n'>Unreviewed</th>
  <th class='n'>Task : CMR</th></tr></thead>
  <tbody>{body}</tbody>{foot}</table></div>
  {_more(min(len(records), TABLE_ROW_LIMIT), len(records), "every task is in the baseline layer")}
</section>"""


def _flight_list(value: object) -> str:
    ids = [i.strip() for i in str(value or "").split(",") if i.strip()]
    shown = ", ".join(esc(i) for i in ids[:FLIGHTS_NAMED])
    more = f" <span class='sub'>+{num(len(ids) - FLIGHTS_NAMED)} more</span>" if len(ids) > FLIGHTS_NAMED else ""
    return (shown + more) or "—"


def _hazard_table(frames: Mapping[str, gpd.GeoDataFrame]) -> str:
    hazards = _present(frames.get("hazard_areas"))
    if hazards is None:
        return ('<section id="hazard-areas"><h2>Suspected hazard areas</h2>'
                '<p class="note">No suspected hazard areas.</p></section>')
    table = pd.DataFrame(hazards.drop(columns=hazards.geometry.name))
    table["hazard_type"] = _text(hazards, "hazard_type")
    table["_area"] = hazards.geometry.area.to_numpy()
    rank = {kind: i for i, kind in enumerate(_TYPE_ORDER)}
    table["_rank"] = table["hazard_type"].map(lambda k: rank.get(k, len(rank)))
    table = table.sort_values(["_rank", "hazard_type", "_area"], ascending=[True, True, False], kind="stable")
    records = table.to_dict("records")
    body = "".join(
        f"<tr><th><code>{esc(r.get('hazard_id', '') or '—')}</code></th><td>{esc(r['hazard_type'])}</td>"
        f"<td class='n'>{num(r['_area'])}</td><td class='n'>{_number(r.get('evidence_count'))}</td>"
        f"<td class='n'>{_number(r.get('max_confidence'), 2)}</td>"
        f"<td class='n'>{_number(r.get('not_assessable_m2'))}</td><td class='n'>{_number(r.get('unimaged_m2'))}</td>"
        f"<td class='list'>{_flight_list(r.get('flight_id'))}</td><td>{esc(r.get('survey_date') or '—')}</td></tr>"
        for r in records[:TABLE_ROW_LIMIT])
    return f"""
<section id="hazard-areas">
  <h2>Suspected hazard areas</h2>
  <p class="note">By type, then largest first. Areas do not overlap: where CMR and fortification evidence
  meet, the shared ground is one <code>CMR+FORTIFICATION</code> area. Flights: those whose evidence the area
  holds; survey date: the latest of theirs. Unimaged ground lies outside every flight's imagery;
  not-assessable ground was imaged but could not be assessed. Neither is ever clear.</p>
  <div class="wide"><table class="data"><thead><tr><th>hazard_id</th><th>Type</th><th class='n'>Area m²</th>
  <th class='n'>Items</th><th class='n'>Highest confidence</th><th class='n'>Not assessable m²</th>
  <th class='n'>Unimaged m²</th><th>Flights</th><th>Survey date</th></tr></thead>
  <tbody>{body}</tbody></table></div>
  {_more(min(len(records), TABLE_ROW_LIMIT), len(records), "the smallest; every area is in the hazard_areas layer")}
</section>"""


def _page(out: Path, frames: Mapping[str, gpd.GeoDataFrame], summary: Mapping[str, object], crs: CRS | None) -> str:
    figures, t = _figures(frames)
    flights = _flights(summary)
    campaign_id = esc(summary.get("campaign_id") or out.stem)
    mpix = sum(float(f.get("mpix") or 0) for f in flights)
    crs_text = str(summary.get("crs") or (crs.to_string() if crs is not None else "CRS unknown"))
    version = summary.get("rams_version", "")
    sources = str(summary.get("sources") or "flights")
    title = esc(summary.get("title") or "Campaign report")
    facts = [f"{num(len(flights))} {sources}", f"{num(mpix, 1)} MPix", crs_text, _date_range(flights)]
    if version:
        facts.append(f"rams {version}")
    run = "".join(f"<tr><th>{esc(k)}</th><td>{value_html(v)}</td></tr>"
                  for k, v in summary.items() if k not in ("flights", "baseline_totals", "title", "sources"))
    the_map = _map(frames, crs)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · {campaign_id}</title>
<style>{CSS}{_CAMPAIGN_CSS}</style>
</head>
<body>
<header>
  <div class="brand">rams · Remote Aerial Minefield Survey</div>
  <h1>{title} <span>{campaign_id}</span></h1>
  <p class="facts">{" · ".join(esc(f) for f in facts)}</p>
</header>
<main>
{review_notice(t)}
{_cards(figures, sources)}
{_map_section(the_map, _present(frames.get("baseline")) is not None)}
{_flights_table(summary, frames, out.parent, sources)}
{_baseline_table(frames, summary.get("baseline_totals"))}
{_hazard_table(frames)}
<section class="processing" id="run"><h2>Run</h2>
<table class="kv">{run or "<tr><td>No run summary.</td></tr>"}</table></section>
</main>
<footer>Generated by rams {esc(version)}. Areas in m² and hectares, planar in {esc(crs_text)};
coordinates are eastings and northings in metres in {esc(crs_text)}, the map's centre also in latitude and
longitude (WGS 84).</footer>
</body>
</html>
"""
