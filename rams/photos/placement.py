"""A photograph surveyed as a flight of its own, then its features placed on the ground.

The detector reads a photograph through a GDAL VRT that gives it a plain north-up grid at the
photograph's centre GSD, with its origin at (0, 0): the photograph's *pixel frame*, in which
``x = col × gsd`` and ``y = −row × gsd`` (metres). The survey machinery (regions, the
detector's own GSD handling, vectorisation) runs unchanged in that frame; then every vertex is
cast onto the ground through the camera model (:mod:`rams.photos.camera`), at its true place
in the projected CRS.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from rams.photos.camera import Camera, Pose, to_ground

#: A function of eastings and northings (m) giving ground heights (m), or None: flat ground.
Surface = Callable[[np.ndarray, np.ndarray], np.ndarray] | None


def photo_vrt(photo: str | Path, width_px: int, height_px: int, gsd_m: float, crs: CRS) -> str:
    """A GDAL VRT (XML text) reading the RGB bands of ``photo`` on its pixel frame: north-up,
    origin (0, 0), ``gsd_m`` metres per pixel, in ``crs`` (the survey's projected CRS, so that
    every reader takes it as a flight)."""
    source = escape(str(Path(photo).resolve()))
    gsd_m = float(gsd_m)  # its repr goes into the XML: a plain number, never a numpy scalar's
    bands = []
    for band, colour in ((1, "Red"), (2, "Green"), (3, "Blue")):
        bands.append(
            f'  <VRTRasterBand dataType="Byte" band="{band}">\n'
            f"    <ColorInterp>{colour}</ColorInterp>\n"
            f'    <SimpleSource><SourceFilename relativeToVRT="0">{source}</SourceFilename>'
            f"<SourceBand>{band}</SourceBand>"
            f'<SrcRect xOff="0" yOff="0" xSize="{width_px}" ySize="{height_px}"/>'
            f'<DstRect xOff="0" yOff="0" xSize="{width_px}" ySize="{height_px}"/></SimpleSource>\n'
            "  </VRTRasterBand>\n")
    return (f'<VRTDataset rasterXSize="{width_px}" rasterYSize="{height_px}">\n'
            f"  <SRS>{escape(crs.to_wkt())}</SRS>\n"
            f"  <GeoTransform>0.0, {gsd_m!r}, 0.0, 0.0, 0.0, {-gsd_m!r}</GeoTransform>\n"
            + "".join(bands) + "</VRTDataset>\n")


def frame_to_ground(camera: Camera, pose: Pose, gsd_m: float, ground_m: float = 0.0,
                    surface: Surface = None) -> Callable[[np.ndarray], np.ndarray]:
    """The map from a photograph's pixel frame (N × 2, metres, see the module) to the ground
    (N × 2: easting, northing of the projected CRS), for `shapely.transform`."""

    def cast(xy: np.ndarray) -> np.ndarray:
        colrow = np.column_stack([xy[:, 0] / gsd_m, -xy[:, 1] / gsd_m])
        return to_ground(camera, pose, colrow, ground_m, surface)[:, :2]

    return cast


def placed(layers: dict[str, gpd.GeoDataFrame], cast: Callable[[np.ndarray], np.ndarray], crs: CRS
           ) -> dict[str, gpd.GeoDataFrame]:
    """A photograph's detection layers (in its pixel frame) on the ground (``crs``): every vertex
    through ``cast``, invalid outlines made valid, and lengths and areas measured again."""
    out = {}
    for name, frame in layers.items():
        frame = frame.copy()
        if len(frame):
            geoms = shapely.transform(frame.geometry.to_numpy(), cast)
            polygonal = np.array([g.geom_type.endswith("Polygon") for g in geoms])
            geoms[polygonal] = shapely.make_valid(geoms[polygonal])
            frame = frame.set_geometry(gpd.GeoSeries(geoms, crs=crs, index=frame.index))
            if "length_m" in frame:
                frame["length_m"] = shapely.length(geoms)
            if "area_m2" in frame:
                frame["area_m2"] = shapely.area(geoms)
        frame = frame.set_crs(crs, allow_override=True)
        out[name] = frame
    return out


def central_ground(footprints: list[shapely.Geometry], centres: np.ndarray) -> list[shapely.Geometry]:
    """Each photograph's share of the imaged ground: the part of its footprint nearer its own
    nadir point (``centres``, N × 2) than any other photograph's (the most central view: least
    lens distortion and relief displacement). The shares never overlap; their union is the union
    of the footprints."""
    if not footprints:
        return []
    if len(footprints) == 1:
        return [footprints[0]]
    everything = shapely.union_all(footprints)
    cells = shapely.voronoi_polygons(shapely.multipoints(centres), extend_to=everything.envelope.buffer(1.0))
    cells = list(shapely.get_parts(cells))
    owner = shapely.STRtree(cells).query(shapely.points(centres), predicate="within")
    cell_of = dict(zip(owner[0], owner[1], strict=True))
    shares = []
    taken = shapely.Polygon()
    for i, footprint in enumerate(footprints):
        cell = cells[cell_of[i]] if i in cell_of else shapely.Polygon()
        share = shapely.difference(shapely.intersection(footprint, cell), taken)
        shares.append(share)
        taken = shapely.union(taken, share)
    # ground a photograph shows beyond its own cell, where the cell's photograph shows nothing
    rest = shapely.difference(everything, taken)
    for i, footprint in enumerate(footprints):
        if rest.is_empty:
            break
        extra = shapely.intersection(rest, footprint)
        if not extra.is_empty:
            shares[i] = shapely.union(shares[i], extra)
            rest = shapely.difference(rest, extra)
    return [shapely.make_valid(s) for s in shares]
