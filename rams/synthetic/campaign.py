"""A survey campaign: four overlapping flights cut from one synthetic scene, with its truth.

One scene is laid out (:func:`rams.synthetic.generate_scene`) and cut by one east-west and one
north-south line into a 2 x 2 layout; each flight reaches past the cut lines so that neighbours
overlap by ``OVERLAP_M``, and one flight is rendered at another GSD (the renderer draws the
scene, which is in metres, on any grid). The cut lines are chosen from the scene so that at
least one strike's items and one trench lie partly in two flights' own ground (no one flight
sees them whole) and cross a flight's edge. The scene's whole truth is written beside the
flights: what merging the four flights' surveys is scored against.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import rasterio
import shapely
from affine import Affine
from shapely import affinity
from shapely.geometry import LineString, Point, box

from rams.errors import RamsError
from rams.outputs import move_folder_into_place
from rams.parallel import default_workers
from rams.synthetic.flight import (
    SynthPreset,
    _profile,
    _render_into,
    _to_cog,
    generate_scene,
    labels_path,
)
from rams.synthetic.labels import label_frames, write_labels
from rams.synthetic.scene import Scene

#: The scene the flights are cut from: 150 m x 150 m at 3 cm.
CAMPAIGN = SynthPreset(width_px=5000, height_px=5000, gsd_m=0.03, seed=20240936)

#: Overlap of east-west neighbours (across the north-south cut) and of north-south neighbours, m.
OVERLAP_M = (30.0, 24.0)

#: The flights, north-west, north-east, south-west, south-east, and their GSDs (m per px).
FLIGHTS = (("flight-a", 0.03), ("flight-b", 0.03), ("flight-c", 0.03), ("flight-d", 0.04))

#: When each flight was flown (TIFFTAG_DATETIME): one day, one flight after the other.
ACQUIRED = ("2024:09:18 09:40:00", "2024:09:18 10:10:00", "2024:09:18 10:40:00",
            "2024:09:18 11:10:00")

#: Flight edges lie on this lattice from the scene's corner: whole pixels at 3 cm and at 4 cm.
LATTICE_M = 0.6

#: Cut lines tried, in lattice steps either side of the scene's centre, nearest first.
_CUT_STEPS = 5 * np.arange(-6, 7)  # 3 m steps, up to 18 m off centre

TRUTH_NAME = "truth.gpkg"


@dataclass(frozen=True)
class CampaignFlight:
    """One flight of the campaign: its name, ground (xmin, ymin, xmax, ymax, m) and GSD."""

    name: str
    bounds: tuple[float, float, float, float]
    gsd_m: float
    acquired: str

    @property
    def size_px(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        xmin, ymin, xmax, ymax = self.bounds
        return round((xmax - xmin) / self.gsd_m), round((ymax - ymin) / self.gsd_m)

    @property
    def transform(self) -> Affine:
        return Affine(self.gsd_m, 0.0, self.bounds[0], 0.0, -self.gsd_m, self.bounds[3])


@dataclass(frozen=True)
class CampaignLayout:
    """Where the flights lie on the scene, and which truth crosses their edges.

    ``strikes`` and ``trenches`` map the id of each strike (by its items) and trench that lies
    partly in the own ground of two or more flights to the edges it crosses, named
    ``"flight-a east"`` and so on (an edge is a flight's border inside the scene)."""

    scene: Scene
    cut_m: tuple[float, float]  # the north-south cut's easting, the east-west cut's northing
    flights: tuple[CampaignFlight, ...]
    strikes: dict[int, tuple[str, ...]]
    trenches: dict[int, tuple[str, ...]]


@dataclass(frozen=True)
class CampaignFiles:
    """What :func:`generate_campaign` wrote: the four flights (GeoTIFF), each one's labels
    (``NAME.labels.gpkg``, clipped to it) and the whole scene's truth."""

    folder: Path
    flights: tuple[Path, ...]
    labels: tuple[Path, ...]
    truth: Path
    layout: CampaignLayout


def _flights(scene: Scene, x_cut: float, y_cut: float) -> tuple[CampaignFlight, ...]:
    xmin, ymin, xmax, ymax = scene.bounds
    hx, hy = OVERLAP_M[0] / 2, OVERLAP_M[1] / 2
    grounds = ((xmin, y_cut - hy, x_cut + hx, ymax), (x_cut - hx, y_cut - hy, xmax, ymax),
               (xmin, ymin, x_cut + hx, y_cut + hy), (x_cut - hx, ymin, xmax, y_cut + hy))
    return tuple(CampaignFlight(name, tuple(round(v, 6) for v in g), gsd, when)
                 for (name, gsd), g, when in zip(FLIGHTS, grounds, ACQUIRED, strict=True))


def _edges(flights: tuple[CampaignFlight, ...]) -> dict[str, LineString]:
    """Each flight's borders that lie inside the scene (where a neighbour takes over)."""
    a, b, c, d = (f.bounds for f in flights)
    return {
        "flight-a east": LineString([(a[2], a[1]), (a[2], a[3])]),
        "flight-a south": LineString([(a[0], a[1]), (a[2], a[1])]),
        "flight-b west": LineString([(b[0], b[1]), (b[0], b[3])]),
        "flight-b south": LineString([(b[0], b[1]), (b[2], b[1])]),
        "flight-c east": LineString([(c[2], c[1]), (c[2], c[3])]),
        "flight-c north": LineString([(c[0], c[3]), (c[2], c[3])]),
        "flight-d west": LineString([(d[0], d[1]), (d[0], d[3])]),
        "flight-d north": LineString([(d[0], d[3]), (d[2], d[3])]),
    }


def _own_ground(flights: tuple[CampaignFlight, ...]) -> list[shapely.Geometry]:
    """The ground each flight alone covers."""
    boxes = [box(*f.bounds) for f in flights]
    return [b.difference(shapely.union_all([o for o in boxes if o is not b])) for b in boxes]


def _straddles(xy: np.ndarray, edge: LineString) -> bool:
    """Whether points lie on both sides of ``edge`` within its span."""
    (x0, y0), (x1, y1) = edge.coords
    if x0 == x1:  # a north-south edge
        span = (xy[:, 1] >= min(y0, y1)) & (xy[:, 1] <= max(y0, y1))
        side = xy[span, 0] - x0
    else:
        span = (xy[:, 0] >= min(x0, x1)) & (xy[:, 0] <= max(x0, x1))
        side = xy[span, 1] - y0
    return bool((side < 0).any() and (side > 0).any())


def _crossings(scene: Scene, flights: tuple[CampaignFlight, ...]
               ) -> tuple[dict[int, tuple[str, ...]], dict[int, tuple[str, ...]]]:
    own, edges = _own_ground(flights), _edges(flights)
    strikes: dict[int, tuple[str, ...]] = {}
    for s in scene.strikes:
        xy = np.array([(i.x, i.y) for i in scene.items if i.strike_id == s.strike_id]).reshape(-1, 2)
        points = shapely.points(xy)
        if sum(bool(shapely.intersects(g, points).any()) for g in own) >= 2:
            strikes[s.strike_id] = tuple(n for n, e in edges.items() if _straddles(xy, e))
    trenches: dict[int, tuple[str, ...]] = {}
    for t in scene.trenches:
        line = LineString(t.xy)
        if sum(line.intersects(g) for g in own) >= 2:
            trenches[t.trench_id] = tuple(n for n, e in edges.items() if line.crosses(e))
    return ({k: v for k, v in strikes.items() if v}, {k: v for k, v in trenches.items() if v})


def plan_campaign(seed: int = CAMPAIGN.seed, crs: str = CAMPAIGN.crs) -> CampaignLayout:
    """Lay out the campaign's scene and cut it into four flights (nothing rendered).

    The cut lines are the ones nearest the scene's centre (3 m steps, up to 18 m off it) that
    put at least one strike and one trench across flight edges; `RamsError` if none does."""
    scene = generate_scene(CAMPAIGN.width_px, CAMPAIGN.height_px, CAMPAIGN.gsd_m, seed, crs)
    xmin, ymin, xmax, ymax = scene.bounds
    cx = round((xmax - xmin) / 2 / LATTICE_M)
    cy = round((ymax - ymin) / 2 / LATTICE_M)
    for dx, dy in sorted(((int(i), int(j)) for i in _CUT_STEPS for j in _CUT_STEPS),
                         key=lambda d: (abs(d[0]) + abs(d[1]), d)):
        cut = (xmin + (cx + dx) * LATTICE_M, ymin + (cy + dy) * LATTICE_M)
        flights = _flights(scene, *cut)
        strikes, trenches = _crossings(scene, flights)
        if strikes and trenches:
            return CampaignLayout(scene, cut, flights, strikes, trenches)
    raise RamsError(f"campaign seed {seed}", "no cut lines put both a strike and a trench "
                    "across a flight edge; choose another seed")


def _flight_scene(scene: Scene, flight: CampaignFlight) -> Scene:
    """The scene on the flight's grid; only the strikes whose footprint meets its ground."""
    ground = box(*flight.bounds)
    strikes = []
    for s in scene.strikes:
        ellipse = affinity.scale(Point(0, 0).buffer(1, quad_segs=32), s.major_m / 2, s.minor_m / 2)
        ellipse = affinity.translate(affinity.rotate(ellipse, 90 - s.azimuth_deg, origin=(0, 0)),
                                     s.x, s.y)
        if ellipse.intersects(ground):
            strikes.append(s)
    return replace(scene, bounds=flight.bounds, gsd_m=flight.gsd_m, strikes=strikes)


def _write_flight(scene: Scene, flight: CampaignFlight, out: Path, crs: rasterio.crs.CRS,
                  workers: int) -> tuple[Path, Path]:
    """Render one flight as a cloud-optimised GeoTIFF dated ``flight.acquired``, and its labels."""
    sub = _flight_scene(scene, flight)
    width, height = flight.size_px
    raw = out.with_name(out.name + ".raw.tif")
    try:
        with rasterio.Env(GDAL_NUM_THREADS=str(workers)):
            profile = _profile(width, height, crs, flight.transform, 3, "uint8")
            with rasterio.open(raw, "w", **profile, photometric="RGB") as dst:
                dst.update_tags(TIFFTAG_DATETIME=flight.acquired)
                _render_into(sub, dst, None, workers)
            _to_cog(raw, out, workers, "AVERAGE")
    finally:
        raw.unlink(missing_ok=True)
    return out, write_labels(label_frames(sub, crs.to_wkt()), labels_path(out))


def _check_folder(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise RamsError(out, "exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise RamsError(out, "exists (use --overwrite to replace it)")


def generate_campaign(outdir: str | os.PathLike, *, seed: int = CAMPAIGN.seed,
                      workers: int | None = None, overwrite: bool = False) -> CampaignFiles:
    """Write the campaign into folder ``outdir``: ``flight-a.tif`` (north-west),
    ``flight-b.tif`` (north-east), ``flight-c.tif`` (south-west) at 3 cm and ``flight-d.tif``
    (south-east) at 4 cm, cloud-optimised RGB GeoTIFFs in EPSG:32638 dated by TIFFTAG_DATETIME,
    each with ``NAME.labels.gpkg`` (its truth, clipped to it), and ``truth.gpkg``: the whole
    scene's truth, in the same layers. Neighbours overlap by ``OVERLAP_M``; at least one strike
    and one trench cross flight edges (see :func:`plan_campaign`).

    The same ``seed`` gives byte-identical files. Everything is written into a temporary folder
    beside ``outdir`` and renamed into place when complete. An ``outdir`` holding anything is
    refused (`RamsError`) unless ``overwrite``, when it is replaced once the new one is done.
    ``workers``: rendering threads (default: the cores this process may use)."""
    out = Path(outdir)
    _check_folder(out, overwrite)
    layout = plan_campaign(seed)
    workers = workers or default_workers()
    crs = rasterio.crs.CRS.from_user_input(CAMPAIGN.crs)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = out.parent / f".{out.name}.{uuid.uuid4().hex[:12]}.tmp"
    work.mkdir()
    try:
        written = [_write_flight(layout.scene, f, work / f"{f.name}.tif", crs, workers)
                   for f in layout.flights]
        write_labels(label_frames(layout.scene, crs.to_wkt()), work / TRUTH_NAME)
        move_folder_into_place(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return CampaignFiles(out, tuple(out / tif.name for tif, _ in written),
                         tuple(out / labels.name for _, labels in written), out / TRUTH_NAME, layout)


__all__ = ["ACQUIRED", "CAMPAIGN", "FLIGHTS", "OVERLAP_M", "CampaignFiles", "CampaignFlight",
           "CampaignLayout", "generate_campaign", "plan_campaign"]
