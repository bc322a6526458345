"""`rams survey PHOTOS/ -o OUT.gpkg`: a survey straight from the drone's photographs.

Each photograph's position, height and attitude come from its tags (:mod:`rams.photos.tags`),
its camera from its tags, the camera table or ``--camera`` (:mod:`rams.photos.cameras`); a
photograph far from nadir or without position or height is refused with one line naming it,
and the others go on. Overlapping photographs are registered to each other by tie points
(:mod:`rams.photos.registration`), so that they agree about where things are to centimetres
while the block keeps the mean of its GPS positions.

Every photograph is then surveyed as a flight of its own, at its native resolution, through a
VRT giving it a plain grid (:func:`rams.photos.placement.photo_vrt`): the regions of all
photographs are the tasks of one dask graph, interleaved, resumable, as a campaign's
(:func:`rams.pipelines.campaign.survey_flights`). As a photograph's regions come back, its
features are cast onto the ground through the camera model. Views of one item in several
photographs become one point (:func:`rams.photos.views.merge_views`), trenches and positions
are cut to the ground each photograph sees most centrally and joined across, and the hazard
layers are computed over that evidence, each item's margin widened by its position error.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from PIL import Image
from pyproj import CRS, Transformer

import rams
from rams.campaigns.merge import FlightLayers, merge_flights
from rams.config import iso_date, load_config
from rams.errors import RamsError
from rams.export import write_geopackage
from rams.hazards import hazard_layers
from rams.hazards.rules import rules_to_dict
from rams.merge import merge_regions
from rams.photos.camera import Camera, Pose, footprint, ground_sample_distance
from rams.photos.cameras import camera_for
from rams.photos.placement import central_ground, frame_to_ground, photo_vrt, placed
from rams.photos.poses import photo_problem, pose_for, utm_crs_of
from rams.photos.registration import (
    corrected,
    neighbours,
    photo_features,
    shifts_from_features,
    solve_offsets,
    turn_headings,
    turned_headings,
)
from rams.photos.tags import PhotoTags, read_tags
from rams.photos.views import DEFAULT_GPS_ACCURACY_M, VIEW_RADIUS_M, merge_views
from rams.pipelines.campaign import survey_flights
from rams.pipelines.survey import DEFAULT_MODEL, SurveyPlan, cluster_client, gpkg_output, plan_survey, remove_run
from rams.pipelines.survey_region import RegionResult
from rams.settings import SurveySettings

log = logging.getLogger("rams.survey")

#: Photographs rams reads (JPEG as drones write them; TIFF from multispectral or survey cameras).
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".tif", ".tiff")
#: Off-nadir angle (degrees) beyond which a photograph is refused.
MAX_OFF_NADIR_DEG = 15.0
#: Width (px) photographs are decoded at, at least, for registration (JPEG's DCT scaling makes
#: a reduced decode cheap), and the ground grid (m) their tie points are sought on: shifts come
#: out to a few centimetres, far inside the views' merge radius.
REGISTRATION_PX = 1000
REGISTRATION_GSD_M = 0.08
#: Share of the smaller footprint two photographs must share to be tied: the strongest pairs
#: (neighbours along a line and across lines at usual overlaps), enough to tie the block.
REGISTRATION_OVERLAP = 0.5
#: Below this share of overlapping pairs tied, headings are checked for a line tagged 180° off.
TIED_SHARE = 0.6
#: How well a pair's tie points fix its shift (m, standard deviation) against the GPS prior.
TIE_SIGMA_M = 0.05
#: Tie-point options: ORB keypoints per ground image, one pass on the coarse grid (for
#: :func:`~rams.photos.registration.pair_shifts`, which finds each photograph's features once).
REGISTRATION_OPTIONS = {"gsd_m": REGISTRATION_GSD_M, "min_overlap": REGISTRATION_OVERLAP, "n_keypoints": 600,
                        "refine": False, "check": False}
#: The same as features found once per photograph (ORB keypoints over its whole footprint).
REGISTRATION_FEATURES = {"gsd_m": REGISTRATION_GSD_M, "n_keypoints": 2 * REGISTRATION_OPTIONS["n_keypoints"]}


def _georeferenced(path: Path) -> bool:
    """Whether ``path`` is a raster with a CRS (an orthomosaic, not a photograph)."""
    if path.suffix.lower() in (".jpg", ".jpeg"):
        return False
    try:
        with rasterio.open(path) as src:
            return src.crs is not None
    except rasterio.errors.RasterioIOError:
        return False


def is_photo_set(paths: Sequence[str | os.PathLike]) -> bool:
    """Whether the survey input is photographs: a folder, one JPEG, or several files none of
    which is georeferenced (an orthomosaic is one raster; one TIFF is always taken for one).
    Several files of which one is an orthomosaic are refused with a `RamsError` pointing to
    `rams campaign`."""
    given = [Path(p) for p in paths]
    if len(given) == 1 and (given[0].is_dir() or given[0].suffix.lower() in (".jpg", ".jpeg")):
        return True
    georeferenced = [p for p in given if p.is_file() and _georeferenced(p)]
    if len(given) > 1 and georeferenced:
        raise RamsError(georeferenced[0], "is an orthomosaic: rams survey takes one; survey several as one "
                                          "campaign with rams campaign")
    return len(given) > 1


def photo_paths(given: Sequence[str | os.PathLike]) -> list[Path]:
    """The photographs named: files, and the photographs in folders (sorted by name)."""
    out: list[Path] = []
    for item in given:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file())
            if not found:
                raise RamsError(path, f"folder holds no photographs ({', '.join(PHOTO_SUFFIXES)})")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise RamsError(path, "no such file or folder")
    if len({p.name for p in out}) != len(out):
        raise RamsError(given[0], "two photographs share a file name")
    return out


@dataclass
class PlacedPhoto:
    """A usable photograph: its tags, camera, pose (registered), ground GSD and footprint."""

    path: Path
    tags: PhotoTags
    camera: Camera
    pose: Pose
    gsd_m: float
    accuracy_m: float
    footprint: shapely.Geometry = None

    @property
    def name(self) -> str:
        return self.path.name


def _dsm_surface(dsm: str | os.PathLike, crs: CRS):
    """A function of eastings and northings (``crs``, m) giving the DSM's heights (m, NaN off it)."""
    from scipy import ndimage

    with rasterio.open(dsm) as src:
        heights = src.read(1, masked=True).astype(np.float64).filled(np.nan)
        inverse, dsm_crs = ~src.transform, src.crs
    to_dsm = Transformer.from_crs(crs, dsm_crs, always_xy=True)

    def surface(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        dx, dy = to_dsm.transform(x, y)
        col, row = inverse * (np.asarray(dx), np.asarray(dy))
        return ndimage.map_coordinates(heights, [row - 0.5, col - 0.5], order=1, cval=np.nan)

    return surface


def _usable(paths: list[Path], ground_elevation_m: float | None, max_off_nadir_deg: float
            ) -> tuple[list[PhotoTags], CRS]:
    """The photographs' tags, those that cannot be placed refused with one warning line each,
    and the UTM zone of the rest."""
    tags = []
    for path in paths:
        try:
            found = read_tags(path)
        except RamsError as err:
            log.warning("%s", err)
            continue
        problem = photo_problem(found, max_off_nadir_deg, ground_elevation_m=ground_elevation_m)
        if problem is not None:
            log.warning("%s: %s; skipped", path, problem)
            continue
        tags.append(found)
    if not tags:
        raise RamsError(paths[0].parent, "no usable photograph (each refused above)")
    return tags, utm_crs_of(tags)


def _registration_photo(photo: PlacedPhoto) -> tuple[np.ndarray, Camera, Pose]:
    """The photograph decoded at about ``REGISTRATION_PX`` a side (its camera scaled to match)."""
    with Image.open(photo.path) as image:
        scale = max(1, image.width // REGISTRATION_PX)
        image.draft("RGB", (image.width // scale, image.height // scale))
        rgb = np.asarray(image.convert("RGB"))
    cam = photo.camera
    scaled = Camera(cam.name, rgb.shape[1], rgb.shape[0], cam.focal_mm, cam.sensor_width_mm, cam.sensor_height_mm,
                    cam.cx_offset_px * rgb.shape[1] / cam.width_px, cam.cy_offset_px * rgb.shape[0] / cam.height_px,
                    cam.k1, cam.k2, cam.k3, cam.p1, cam.p2)
    return rgb, scaled, photo.pose


def survey_photos(
    photos: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    model: str | os.PathLike = DEFAULT_MODEL,
    settings: SurveySettings | str | os.PathLike | None = None,
    report: str | os.PathLike | None = None,
    dsm: str | os.PathLike | None = None,
    ground_elevation_m: float | None = None,
    camera_file: str | os.PathLike | None = None,
    max_off_nadir_deg: float = MAX_OFF_NADIR_DEG,
    registration: bool = True,
    scheduler: str | None = None,
    workers: int | None = None,
    threads: int | None = None,
    flight_id: str | None = None,
    survey_date: str | None = None,
    keep_run: bool = False,
    overwrite: bool = False,
    started: float | None = None,
) -> dict:
    """Survey a flight from its photographs (folders or files, JPEG or TIFF) into ``out``.

    The layers are in the UTM zone of the photographs' mean position (metres). The ground is the
    level plane of the take-off point (heights from the tags' height above take-off), or with
    ``ground_elevation_m`` a plane at that elevation (heights from the tags' altitude), or with
    ``dsm`` (GeoTIFF of heights in metres, same vertical datum as the tags' altitude) the
    surface. ``camera_file`` (YAML) gives the camera when neither the tags nor the camera table
    know it. Photographs more than ``max_off_nadir_deg`` from nadir, or lacking position or
    height, are refused with one warning line each; the others go on. ``registration`` ties
    overlapping photographs to each other first (see the module). The submunitions layer gains
    ``n_views``, ``n_visible``, ``photos``, ``view_spread_m`` and ``position_error_m`` (see
    :func:`rams.photos.views.merge_views`); ``coverage`` is the union of the footprints, one row
    per photograph (the ground it sees most centrally). The other arguments are
    :func:`rams.survey`'s; ``flight_id`` defaults to the (first) folder's name, ``survey_date``
    to the first photograph's date. ``report`` writes an HTML report with the vector map.
    """
    t0 = time.perf_counter() if started is None else started
    out, report = gpkg_output(out, report, overwrite)
    if dsm is not None and ground_elevation_m is not None:
        raise RamsError(dsm, "give --dsm or --ground-elevation, not both")
    if not out.parent.is_dir():
        raise RamsError(out, "output folder does not exist")
    if settings is None or isinstance(settings, str | os.PathLike):
        settings = load_config(SurveySettings, settings)
    if survey_date:
        survey_date = iso_date(out, survey_date)
    paths = photo_paths(photos)
    # a DSM's heights are on the tags' altitude datum: the cameras are placed at their altitude
    datum = 0.0 if dsm is not None else ground_elevation_m
    tags, crs = _usable(paths, datum, max_off_nadir_deg)
    surface = _dsm_surface(dsm, crs) if dsm is not None else None
    ground_m = float(ground_elevation_m) if ground_elevation_m is not None else 0.0
    posed = [pose_for(found, crs, datum) for found in tags]
    if surface is not None:  # heights above the DSM under each camera; where it has none, its median
        below = surface(np.array([pose.easting for pose, _ in posed]), np.array([pose.northing for pose, _ in posed]))
        if not np.isfinite(below).any():
            raise RamsError(dsm, "DSM has no height under any photograph")
        ground_m = float(np.nanmedian(below))
        posed = [(pose, pose.altitude_m - float(under if np.isfinite(under) else ground_m))
                 for (pose, _), under in zip(posed, below, strict=True)]
    placed_photos = []
    for found, (pose, height) in zip(tags, posed, strict=True):
        camera = camera_for(found, camera_file)
        accuracy = found.horizontal_accuracy_m if found.horizontal_accuracy_m else DEFAULT_GPS_ACCURACY_M
        placed_photos.append(PlacedPhoto(Path(found.path), found, camera, pose,
                                         ground_sample_distance(camera, height), float(accuracy)))
    if registration and len(placed_photos) > 1:
        t = time.perf_counter()
        decoded = [_registration_photo(p) for p in placed_photos]
        pairs = [(i, j) for i, j, _ in neighbours(decoded, ground_m, REGISTRATION_OVERLAP)]
        candidates = len(pairs)
        features = photo_features(decoded, ground_m, **REGISTRATION_FEATURES)  # once per photograph
        shifts = shifts_from_features(features, pairs=pairs, min_overlap=REGISTRATION_OVERLAP)
        if len(shifts) < TIED_SHARE * candidates:  # a line flown with its yaw tagged 180° off ties nothing
            turned = turned_headings(decoded, ground_m, features=features,
                                     n_keypoints=REGISTRATION_OPTIONS["n_keypoints"], gsd_m=REGISTRATION_GSD_M)
            for photo, flip in zip(placed_photos, turned, strict=True):
                if flip:
                    log.warning("%s: its tagged yaw is 180° from what its neighbours show; turned", photo.path)
                    photo.pose = dataclasses.replace(photo.pose, yaw_deg=(photo.pose.yaw_deg + 180.0) % 360.0)
            if any(turned):
                decoded = turn_headings(decoded, turned)
                again = photo_features(decoded, ground_m, **REGISTRATION_FEATURES,
                                       which=[k for k, flip in enumerate(turned) if flip])
                features = [g if flip else f for f, g, flip in zip(features, again, turned, strict=True)]
                shifts = shifts_from_features(features, min_overlap=REGISTRATION_OVERLAP)
        log.info("tied %d of %d overlapping pairs of photographs", len(shifts), candidates)
        offsets = solve_offsets(len(decoded), shifts, float(np.median([p.accuracy_m for p in placed_photos])),
                                TIE_SIGMA_M)
        poses = corrected([pose for _, _, pose in decoded], offsets)
        moved = [np.hypot(a.pose.easting - b.easting, a.pose.northing - b.northing)
                 for a, b in zip(placed_photos, poses, strict=True)]
        for photo, pose in zip(placed_photos, poses, strict=True):
            photo.pose = pose
        log.info("registered %d photographs by tie points in %.1f s: median correction %.2f m",
                 len(poses), time.perf_counter() - t, float(np.median(moved)))
    for photo in placed_photos:
        photo.footprint = footprint(photo.camera, photo.pose, ground_m, surface)
    flight_id = flight_id or (Path(photos[0]).name if Path(photos[0]).is_dir() else paths[0].parent.name)
    survey_date = survey_date or next((t.taken[:10] for t in tags if t.taken), "")
    if not survey_date:
        log.warning("%s: no acquisition date in the photographs' tags (EXIF DateTimeOriginal): survey_date is "
                    "left empty; give --survey-date YYYY-MM-DD", paths[0].parent)

    runs_dir = out.parent / ".rams-runs"
    vrt_dir = runs_dir / f"photos-{hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:12]}"
    vrt_dir.mkdir(parents=True, exist_ok=True)
    plans: dict[int, SurveyPlan] = {}
    for n, photo in enumerate(placed_photos):
        vrt = vrt_dir / f"{photo.path.stem}.vrt"
        text = photo_vrt(photo.path, photo.tags.width_px, photo.tags.height_px, photo.gsd_m, crs)
        if not vrt.is_file() or vrt.read_text() != text:  # an unchanged VRT keeps its run key
            vrt.write_text(text)
        plans[n] = plan_survey(vrt, runs_dir, model=model, settings=settings, cut_chips=False, keep_view=False,
                               flight_id=photo.name, survey_date=survey_date)
    first = plans[0]
    on_ground: dict[int, dict[str, gpd.GeoDataFrame]] = {}

    def finish(number: int, results: list[RegionResult]) -> None:
        plan, photo = plans[number], placed_photos[number]
        local = merge_regions([r.layers for r in results], plan.flight.crs, plan.settings.detection, photo.name)
        cast = frame_to_ground(photo.camera, photo.pose, plan.native.gsd_m, ground_m, surface)
        on_ground[number] = placed(local, cast, crs)
        if not keep_run:
            remove_run(plan.run_dir)

    pixels = sum(p.tags.width_px * p.tags.height_px for p in placed_photos)
    log.info("surveying %d photographs (%.0f MPix at %.2f-%.2f cm)", len(placed_photos), pixels / 1e6,
             min(p.gsd_m for p in placed_photos) * 100, max(p.gsd_m for p in placed_photos) * 100)
    with ExitStack() as stack:
        client = cluster_client(stack, scheduler, workers)
        resumed = survey_flights(plans, finish, client=client, threads=threads, label="photos")
    if resumed:
        log.info("resumed %d regions from earlier runs", resumed)

    names = [p.name for p in placed_photos]
    owned = central_ground([p.footprint for p in placed_photos],
                           np.array([[p.pose.easting, p.pose.northing] for p in placed_photos]))
    flights = [FlightLayers(p.name, p.gsd_m, survey_date, on_ground[n]) for n, p in enumerate(placed_photos)]
    det = first.settings.detection
    layers = merge_flights(flights, det, crs, owned=owned)
    layers["submunitions"] = merge_views([on_ground[n]["submunitions"] for n in range(len(placed_photos))], names,
                                         [p.footprint for p in placed_photos],
                                         [p.accuracy_m for p in placed_photos], crs, VIEW_RADIUS_M)
    for name in ("submunitions", "trenches", "positions", "not_assessable"):
        layers[name]["flight_id"] = flight_id
    layers["coverage"]["photo"] = layers["coverage"]["flight_id"]
    layers["coverage"]["flight_id"] = flight_id
    layers.update(hazard_layers(layers, first.rules, flight_id=flight_id, survey_date=survey_date,
                                model=first.card["name"]))
    photo_table = [{"flight_id": p.name, "flight": str(p.path), "gsd_m": round(p.gsd_m, 4),
                    "survey_date": p.tags.taken, "mpix": round(p.tags.width_px * p.tags.height_px / 1e6, 2),
                    "regions": len(plans[n].regions), "gpkg": "",
                    "easting": round(p.pose.easting, 3), "northing": round(p.pose.northing, 3),
                    "yaw_deg": round(p.pose.yaw_deg, 2), "off_nadir_deg": round(p.pose.off_nadir_deg, 2)}
                   for n, p in enumerate(placed_photos)]
    metadata = {
        "flight_id": flight_id,
        "flight_path": ",".join(str(Path(p)) for p in photos),
        "crs": crs.to_string(),
        **first.networks,
        "photos": json.dumps(photo_table),
        "photos_refused": str(len(paths) - len(placed_photos)),
        "gsd_m": str(float(np.median([p.gsd_m for p in placed_photos]))),
        "configuration": json.dumps(dataclasses.asdict(first.settings), sort_keys=True),
        "hazard_rules": first.rules.name,
        "hazard_rules_config": json.dumps(rules_to_dict(first.rules), sort_keys=True),
        "ground": "dsm" if dsm is not None else ("elevation" if ground_elevation_m is not None else "take-off"),
        "registration": str(registration).lower(),
        "survey_date": survey_date,
        "rams_version": rams.__version__,
        "created_by": "rams survey",
    }
    write_geopackage(out, layers, metadata)
    if not keep_run:  # the photographs' VRTs go with their run folders
        shutil.rmtree(vrt_dir, ignore_errors=True)
        if runs_dir.exists() and not any(runs_dir.iterdir()):
            runs_dir.rmdir()
    seconds = time.perf_counter() - t0
    summary = {
        "flight_id": flight_id, "photos": len(placed_photos), "photos_refused": len(paths) - len(placed_photos),
        "flights": photo_table, "crs": crs.to_string(), "campaign_id": flight_id,
        "title": "Survey from photographs", "sources": "photographs",
        "counts": {name: len(frame) for name, frame in layers.items()}, "regions_resumed": resumed,
        "survey_date": survey_date, "rams_version": rams.__version__,
        "regions": sum(len(p.regions) for p in plans.values()),
        "seconds": round(seconds, 1), "mpix_per_s": round(pixels / 1e6 / seconds, 2),
    }
    if report is not None:
        from rams.report.campaign import write_campaign_report

        write_campaign_report(report, layers, summary)
    log.info("wrote %s in %.1f s (%.2f MPix/s over %d photographs): %s", out, seconds, summary["mpix_per_s"],
             len(placed_photos), ", ".join(f"{v} {k}" for k, v in summary["counts"].items()))
    return summary
