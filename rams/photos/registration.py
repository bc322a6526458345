"""Relative registration of overlapping nadir photographs: tie points on the ground, then a light
bundle adjustment of each photograph's position (translation only, metres on the ground).

A photograph's position comes from its GPS tags, off by metres; the same item seen in several
overlapping photographs lands at places metres apart. Two overlapping photographs are both
resampled onto one north-up ground grid over their footprints' intersection
(:func:`ground_image`); ORB features matched between the two ground images and a one-point
consensus on their displacement give the shift between them (:func:`pair_shift`); every pair's
shift and a prior that each photograph's GPS position is right within ``prior_sigma_m`` give
per-photograph corrections by least squares (:func:`solve_offsets`, :func:`register`).

Sign conventions (metres, east and north):

* a correction ``o_i`` moves photograph ``i``: true position ≈ GPS position + ``o_i``, so the
  corrected pose is the GPS pose with ``o_i`` added to its easting and northing;
* a pair's shift is where photograph ``a`` (``i``) places a tie point minus where photograph
  ``b`` (``j``) places it: the move that brings ``b`` onto ``a``, hence ``o_j - o_i ≈ shift``.
  Its norm is the two footprints' disagreement about where things are
  (:func:`tie_point_disagreement`).

Only translations are solved for. A yaw, height or lens error moves things by amounts that vary
across a photograph: it shows as pairs whose shifts do not add up around loops (the
least-squares residuals) and as the spread of a pair's tie points about its shift
(``PairShift.residual_m``). A yaw tagged 180° from where the photograph faces (seen on one line
of a DJI Phantom 3 flight) leaves a photograph's pairs untied: :func:`turned_headings` finds such
photographs from their tie points, :func:`turn_headings` turns them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.linalg import lsqr
from scipy.spatial.distance import cdist

from rams.photos.camera import Camera, Pose, footprint, ground_sample_distance, project

#: A photograph: its pixels (H × W × 3 or H × W; uint8, uint16 or floats in [0, 1]), its camera
#: and its pose.
Photo = tuple[np.ndarray, Camera, Pose]

MIN_OVERLAP = 0.2  # share of the smaller footprint two photographs must share to be tied
MIN_INLIERS = 8  # tie points a pair's shift must rest on
COARSE_CELLS = 300_000  # a pair's first, whole-overlap ground grid is coarsened to at most this
FINE_TILES = 8  # tiles of the overlap the shift is measured again on, at the fine grid
TILE_CELLS = 256  # their width in fine grid cells
PHOTO_CELLS = COARSE_CELLS  # a photograph's ground grid for shared features holds at most this
FEATURE_SCALES = 4  # ORB pyramid levels of the shared features


@dataclass(frozen=True)
class PairShift:
    """The shift between photographs ``i`` (``a``) and ``j`` (``b``): where ``a`` places a tie
    point minus where ``b`` places it (``east_m``, ``north_m``), so ``o_j - o_i ≈ shift``."""

    i: int
    j: int
    east_m: float
    north_m: float
    inliers: int  # tie points agreeing on the shift
    matches: int  # feature matches tried
    residual_m: float  # RMS distance of the inlier tie points' displacements from the shift
    overlap: float  # footprint intersection / the smaller footprint
    gsd_m: float  # the ground grid the tie points were found on
    phase_m: tuple[float, float] | None = None  # masked phase correlation's shift, a check

    @property
    def shift_m(self) -> np.ndarray:
        return np.array([self.east_m, self.north_m])

    @property
    def norm_m(self) -> float:
        return math.hypot(self.east_m, self.north_m)


def _grey(rgb: np.ndarray) -> np.ndarray:
    """Brightness in [0, 1] (float32) of an H × W × 3 (or H × W) image."""
    a = np.asarray(rgb)
    scale = float(np.iinfo(a.dtype).max) if np.issubdtype(a.dtype, np.integer) else 1.0
    if a.ndim == 3:
        a = a[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.asarray(a, np.float32) / np.float32(scale)


def _block_mean(grey: np.ndarray, k: int) -> np.ndarray:
    if k <= 1:
        return grey
    h, w = grey.shape[0] // k * k, grey.shape[1] // k * k
    return grey[:h, :w].reshape(h // k, k, w // k, k).mean(axis=(1, 3), dtype=np.float32)


def _grid(bounds: Sequence[float], gsd_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Eastings (columns) and northings (rows, north first) of the cell centres of a north-up grid
    from (west, south, east, north) ``bounds`` at ``gsd_m``."""
    west, south, east, north = (float(v) for v in bounds)
    cols = max(1, int(math.ceil((east - west) / gsd_m - 1e-9)))
    rows = max(1, int(math.ceil((north - south) / gsd_m - 1e-9)))
    return west + (np.arange(cols) + 0.5) * gsd_m, north - (np.arange(rows) + 0.5) * gsd_m


def _photo_gsd(camera: Camera, pose: Pose, ground_m: float) -> float:
    return ground_sample_distance(camera, max(pose.altitude_m - ground_m, 1e-3))


class _Photo:
    """One photograph ready to be sampled on the ground: its grey image and, as asked for, its
    means over k × k blocks."""

    def __init__(self, photo: Photo, ground_m: float):
        rgb, self.camera, self.pose = photo
        self.grey = _grey(rgb)
        self.ground_m = float(ground_m)
        self.gsd = _photo_gsd(self.camera, self.pose, self.ground_m)
        self._blocks: dict[int, np.ndarray] = {}

    def turned(self) -> _Photo:
        """The same photograph with its yaw turned 180°."""
        other = object.__new__(_Photo)
        other.__dict__.update(self.__dict__)
        other.pose = dataclasses.replace(self.pose, yaw_deg=(self.pose.yaw_deg + 180.0) % 360.0)
        return other

    def footprint(self) -> shapely.Geometry:
        return footprint(self.camera, self.pose, self.ground_m)

    def on_ground(self, bounds: Sequence[float], gsd_m: float) -> np.ndarray:
        k = max(1, int(gsd_m / self.gsd + 1e-6))
        if k not in self._blocks:
            self._blocks[k] = _block_mean(self.grey, k)
        small = self._blocks[k]
        eastings, northings = _grid(bounds, gsd_m)
        e, n = np.meshgrid(eastings, northings)
        xyz = np.column_stack([e.ravel(), n.ravel(), np.full(e.size, self.ground_m)])
        colrow = project(self.camera, self.pose, xyz) / k - 0.5  # photo pixel k·(i + ½) is block i's centre
        coords = np.vstack([colrow[:, 1], colrow[:, 0]])
        inside = np.isfinite(coords).all(axis=0)
        inside &= (coords[0] >= -0.5) & (coords[0] <= small.shape[0] - 0.5)
        inside &= (coords[1] >= -0.5) & (coords[1] <= small.shape[1] - 0.5)
        out = np.full(e.size, np.nan, np.float32)
        out[inside] = ndimage.map_coordinates(small, coords[:, inside], order=1, mode="nearest")
        return out.reshape(e.shape)


def ground_image(rgb: np.ndarray, camera: Camera, pose: Pose, bounds: Sequence[float], gsd_m: float,
                 ground_m: float = 0.0) -> np.ndarray:
    """The photograph's brightness resampled onto a north-up ground grid: (west, south, east,
    north) ``bounds`` in the pose's CRS at ``gsd_m`` metres a cell, the ground the level plane at
    ``ground_m``. Row 0 is the northern edge, column 0 the western; cell (r, c) is centred at
    (west + (c + 0.5) gsd, north - (r + 0.5) gsd). Each cell centre is projected into the
    photograph (:func:`~rams.photos.camera.project`) and the grey image sampled there bilinearly,
    after averaging the photograph over whole blocks of pixels no wider than ``gsd_m`` on the
    ground. Returns float32 in [0, 1], NaN where the photograph does not see the ground."""
    return _Photo((rgb, camera, pose), ground_m).on_ground(bounds, gsd_m)


def choose_gsd(a: Photo, b: Photo, ground_m: float = 0.0) -> float:
    """The ground grid a pair's shift is measured on: twice the coarser photograph's GSD, kept
    within 3–5 cm (fine enough for centimetre shifts, coarse enough to be quick and to average
    away the photographs' own noise); at least the coarser GSD."""
    gsd = max(_photo_gsd(a[1], a[2], ground_m), _photo_gsd(b[1], b[2], ground_m))
    return _fine_gsd(gsd)


def _fine_gsd(photo_gsd: float) -> float:
    return max(photo_gsd, min(max(2 * photo_gsd, 0.03), 0.05))


def _features(image: np.ndarray, usable: np.ndarray | None, n_keypoints: int, fast_threshold: float,
              n_scales: int = 6):
    """ORB keypoints (row, col) and descriptors of a ground image, keypoints only where ``usable``
    (everywhere where None)."""
    from skimage.feature import ORB

    orb = ORB(n_keypoints=n_keypoints, fast_threshold=fast_threshold, downscale=1.2, n_scales=n_scales)
    try:
        orb.detect_and_extract(image)
    except RuntimeError:  # no features at all: featureless ground
        return np.empty((0, 2)), np.empty((0, 256), bool)
    kp, desc = orb.keypoints, orb.descriptors
    if len(kp) == 0:
        return np.empty((0, 2)), np.empty((0, 256), bool)
    if usable is None:
        return _level_zero(kp, orb.scales, image.shape, 1.2), desc
    r = np.clip(np.round(kp[:, 0]).astype(int), 0, usable.shape[0] - 1)
    c = np.clip(np.round(kp[:, 1]).astype(int), 0, usable.shape[1] - 1)
    keep = usable[r, c]
    return kp[keep], desc[keep]


def _level_zero(kp: np.ndarray, scales: np.ndarray, shape: tuple[int, ...], downscale: float) -> np.ndarray:
    """ORB keypoints (row, col) found on its pyramid's coarser levels, back on the image exactly:
    ORB scales them by ``downscale`` to the level, but each level is the one above resized to
    whole pixels (``ceil(size / downscale)``, pixel centres matched), so the true factor differs
    a little and grows with the distance from the image's corner. Photographs on one ground grid
    but with different corners would otherwise disagree by a fraction of a cell."""
    octave = np.rint(np.log(np.asarray(scales, float)) / math.log(downscale)).astype(int)
    sizes = [np.array(shape[:2], float)]
    for _ in range(int(octave.max(initial=0))):
        sizes.append(np.ceil(sizes[-1] / downscale))
    out = np.array(kp, float)
    for level in range(1, len(sizes)):
        on = octave == level
        x = out[on] / downscale**level
        for up in range(level, 0, -1):
            x = (x + 0.5) * (sizes[up - 1] / sizes[up]) - 0.5
        out[on] = x
    return out


def _hamming(desc_a: np.ndarray, desc_b: np.ndarray) -> np.ndarray:
    """Hamming distances (Na × Nb) between binary descriptors (rows of booleans): |a| + |b| - 2 a·b,
    exact in float32 (whole numbers to 2²⁴)."""
    a, b = np.asarray(desc_a, np.float32), np.asarray(desc_b, np.float32)
    out = a.sum(axis=1)[:, None] + b.sum(axis=1)[None, :] - 2.0 * (a @ b.T)
    return np.rint(out).astype(np.int32)


def _match(kp_a: np.ndarray, desc_a: np.ndarray, kp_b: np.ndarray, desc_b: np.ndarray, reach_px: float,
           max_ratio: float = 0.8) -> np.ndarray:
    """Index pairs (K × 2) of mutually nearest descriptors among keypoints at most ``reach_px``
    apart, each clearly nearer than the runner-up within reach (Lowe's ratio ``max_ratio``)."""
    dist = _hamming(desc_a, desc_b).astype(np.float32)
    far = cdist(kp_a, kp_b) > reach_px
    dist[far] = np.inf
    best_b = np.argmin(dist, axis=1)
    best_a = np.argmin(dist, axis=0)
    rows = np.arange(len(dist))
    d1 = dist[rows, best_b]
    keep = np.isfinite(d1) & (best_a[best_b] == rows)
    if dist.shape[1] > 1:
        d2 = np.partition(dist, 1, axis=1)[:, 1]
        keep &= d1 < max_ratio * d2
    return np.column_stack([rows[keep], best_b[keep]])


def _consensus(d: np.ndarray, tolerance: float, rounds: int = 3) -> np.ndarray:
    """Inlier mask of the largest set of displacements (M × 2) within ``tolerance`` of one shift:
    every displacement is tried as the shift (a one-point RANSAC, exhaustive), then the best set's
    mean is re-centred ``rounds`` times."""
    best, best_count = np.zeros(len(d), bool), 0
    for start in range(0, len(d), 1024):
        near = np.linalg.norm(d[start:start + 1024, None, :] - d[None, :, :], axis=2) < tolerance
        counts = near.sum(axis=1)
        k = int(np.argmax(counts))
        if counts[k] > best_count:
            best, best_count = near[k], int(counts[k])
    for _ in range(rounds):
        if not best.any():
            break
        centre = d[best].mean(axis=0)
        again = np.linalg.norm(d - centre, axis=1) < tolerance
        if again.sum() < best.sum():
            break
        best = again
    return best


def _phase_check(ga: np.ndarray, gb: np.ndarray, va: np.ndarray, vb: np.ndarray,
                 gsd_m: float) -> tuple[float, float] | None:
    """The shift (east, north; metres, same convention as :class:`PairShift`) masked normalised
    cross-correlation finds between two ground images, on a grid twice as coarse."""
    from skimage.registration import phase_cross_correlation

    def half(x):
        return _block_mean(x.astype(np.float32), 2)

    a, b = half(np.where(va, ga, 0.0)), half(np.where(vb, gb, 0.0))
    ma, mb = half(va.astype(np.float32)) > 0.99, half(vb.astype(np.float32)) > 0.99
    if ma.sum() < 64 or mb.sum() < 64:
        return None
    try:
        shift = phase_cross_correlation(a, b, reference_mask=ma, moving_mask=mb, overlap_ratio=0.3)
    except ValueError:
        return None
    rows, cols = np.asarray(shift[0] if isinstance(shift, tuple) else shift, dtype=float)
    # b shifted by (rows, cols) lies on a: a tie point at b's (r, c) is a's (r + rows, c + cols)
    return float(cols * 2 * gsd_m), float(-rows * 2 * gsd_m)


def _tie_points(ga: np.ndarray, gb: np.ndarray, gsd_m: float, reach_m: float, n_keypoints: int,
                fast_threshold: float, margin_px: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Matched ORB features of two ground images on one grid: their displacements (M × 2, a's
    minus b's, metres east and north) and a's positions (M × 2, metres east and south of the
    grid's north-west corner)."""
    va, vb = np.isfinite(ga), np.isfinite(gb)
    both = va & vb
    empty = np.empty((0, 2))
    if both.sum() < 32 * 32:
        return empty, empty
    # Keypoints only well inside the ground both see: the photographs' edges are not ground.
    usable = ndimage.binary_erosion(both, iterations=margin_px)
    kp_a, desc_a = _features(np.where(va, ga, float(ga[both].mean())), usable, n_keypoints, fast_threshold)
    kp_b, desc_b = _features(np.where(vb, gb, float(gb[both].mean())), usable, n_keypoints, fast_threshold)
    if len(kp_a) == 0 or len(kp_b) == 0:
        return empty, empty
    pairs = _match(kp_a, desc_a, kp_b, desc_b, reach_m / gsd_m)
    ra, rb = kp_a[pairs[:, 0]], kp_b[pairs[:, 1]]
    d = np.column_stack([(ra[:, 1] - rb[:, 1]) * gsd_m, -(ra[:, 0] - rb[:, 0]) * gsd_m])  # rows run south
    return d, np.column_stack([(ra[:, 1] + 0.5) * gsd_m, (ra[:, 0] + 0.5) * gsd_m])


def _fine_tiles(where: np.ndarray, bounds: Sequence[float], size_m: float, n: int) -> list[tuple[float, ...]]:
    """Up to ``n`` square tiles ``size_m`` wide, from a grid over ``bounds``, holding the most
    tie points found at the coarse level (``where``: metres east and south of the north-west
    corner), the fullest first."""
    west, _, _, north = bounds
    cells = np.floor(where / size_m).astype(int)
    keys, counts = np.unique(cells, axis=0, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:n]
    return [(west + c * size_m, north - (r + 1) * size_m, west + (c + 1) * size_m, north - r * size_m)
            for c, r in keys[order]]


def pair_shift(a: Photo, b: Photo, *, ground_m: float = 0.0, i: int = 0, j: int = 1,
               gsd_m: float | None = None, min_overlap: float = MIN_OVERLAP, min_inliers: int = MIN_INLIERS,
               max_shift_m: float = 15.0, n_keypoints: int = 1500, fast_threshold: float = 0.05,
               refine: bool = True, check: bool = True) -> PairShift | None:
    """The shift between two photographs (``a`` is photograph ``i``, ``b`` photograph ``j``), both
    placed on the level ground at ``ground_m`` by their poses: where ``a`` places the tie points
    minus where ``b`` places them (east, north; metres), so ``o_j - o_i ≈ shift`` (module doc).

    Coarse to fine. Both photographs are resampled (:func:`ground_image`) onto one north-up grid
    over their footprints' intersection, at ``gsd_m`` (default :func:`choose_gsd`) or, where that
    would exceed :data:`COARSE_CELLS` cells, at the smallest multiple of it that does not; ORB
    features (``n_keypoints`` each, FAST threshold ``fast_threshold`` on [0, 1] brightness) are
    matched (mutually nearest, Lowe ratio 0.8) among those at most ``max_shift_m`` apart, and the
    largest set of tie points whose displacements agree within 3 grid cells gives the shift (their
    mean): a one-point RANSAC, tried from every match. Where that grid was coarser than ``gsd_m``
    (and ``refine``), the shift is measured again at ``gsd_m`` on the :data:`FINE_TILES` tiles
    (:data:`TILE_CELLS` cells square) holding the most coarse tie points, ``b`` sampled at the
    coarse shift, matches within 4 coarse cells: only ground where the coarse tie points agreed,
    so tree tops and other things standing above the ground (whose displacement between the two
    photographs grows with their height) stay out. With ``check``, the masked phase correlation
    of the coarse images is kept beside it (``PairShift.phase_m``).

    None when the footprints share less than ``min_overlap`` of the smaller one, or fewer than
    ``min_inliers`` tie points agree (featureless ground, ground too different, or poses too far
    off, e.g. a yaw 180° wrong).
    """
    return _pair_shift(_Photo(a, ground_m), _Photo(b, ground_m), i=i, j=j, gsd_m=gsd_m,
                       min_overlap=min_overlap, min_inliers=min_inliers, max_shift_m=max_shift_m,
                       n_keypoints=n_keypoints, fast_threshold=fast_threshold, refine=refine, check=check)


def _pair_shift(pa: _Photo, pb: _Photo, *, i: int = 0, j: int = 1, gsd_m: float | None = None,
                min_overlap: float = MIN_OVERLAP, min_inliers: int = MIN_INLIERS, max_shift_m: float = 15.0,
                n_keypoints: int = 1500, fast_threshold: float = 0.05, refine: bool = True,
                check: bool = True) -> PairShift | None:
    fa, fb = pa.footprint(), pb.footprint()
    if fa.is_empty or fb.is_empty:
        return None
    inter = fa.intersection(fb)
    smaller = min(fa.area, fb.area)
    overlap = inter.area / smaller if smaller > 0 else 0.0
    if inter.is_empty or overlap < min_overlap:
        return None
    fine = gsd_m if gsd_m is not None else _fine_gsd(max(pa.gsd, pb.gsd))
    bounds = inter.bounds
    cells = (bounds[2] - bounds[0]) * (bounds[3] - bounds[1]) / fine**2
    k = max(1, math.ceil(math.sqrt(cells / COARSE_CELLS)))
    coarse = fine * k
    ga, gb = pa.on_ground(bounds, coarse), pb.on_ground(bounds, coarse)
    d, where = _tie_points(ga, gb, coarse, max_shift_m, n_keypoints, fast_threshold)
    if len(d) < min_inliers:
        return None
    inliers = _consensus(d, 3 * coarse)
    if inliers.sum() < min_inliers:
        return None
    shift = d[inliers].mean(axis=0)
    gsd = coarse
    if k > 1 and refine:
        tiles = _fine_tiles(where[inliers], bounds, TILE_CELLS * fine, FINE_TILES)
        found = []
        for west, south, east, north in tiles:
            ta = pa.on_ground((west, south, east, north), fine)
            # a tie point a places at p, b places at p - shift
            tb = pb.on_ground((west - shift[0], south - shift[1], east - shift[0], north - shift[1]), fine)
            td, _ = _tie_points(ta, tb, fine, 4 * coarse, max(200, n_keypoints // 4), fast_threshold)
            found.append(td + shift)
        d = np.concatenate(found) if found else np.empty((0, 2))
        if len(d) < min_inliers:
            return None
        inliers = _consensus(d, 3 * fine)
        if inliers.sum() < min_inliers:
            return None
        shift = d[inliers].mean(axis=0)
        gsd = fine
    residual = float(np.sqrt(np.mean(np.sum((d[inliers] - shift) ** 2, axis=1))))
    phase = _phase_check(ga, gb, np.isfinite(ga), np.isfinite(gb), coarse) if check else None
    return PairShift(i=i, j=j, east_m=float(shift[0]), north_m=float(shift[1]), inliers=int(inliers.sum()),
                     matches=len(d), residual_m=residual, overlap=float(overlap), gsd_m=float(gsd),
                     phase_m=phase)


@dataclass(frozen=True, eq=False)
class PhotoFeatures:
    """One photograph's ORB features on the ground, found once and matched against each of its
    neighbours' (:func:`photo_features`, :func:`shifts_from_features`)."""

    footprint: shapely.Geometry  # the ground the photograph sees, as its pose places it
    points_m: np.ndarray  # K × 2: the keypoints' eastings and northings (metres, the pose's CRS)
    descriptors: np.ndarray  # K × 256 booleans
    gsd_m: float  # the ground grid they were found on


def _features_gsd(prepared: Sequence[_Photo], gsd_m: float | None) -> float:
    """The ground grid photographs' features are found on: ``gsd_m`` (default :func:`choose_gsd`
    of the coarsest), or where a footprint would hold more than :data:`PHOTO_CELLS` cells the
    smallest multiple of it that holds no more."""
    if not prepared:
        return float(gsd_m or 0.05)
    fine = gsd_m if gsd_m is not None else _fine_gsd(max(p.gsd for p in prepared))
    area = max(p.footprint().area for p in prepared)
    return fine * max(1, math.ceil(math.sqrt(area / fine**2 / PHOTO_CELLS)))


def _photo_features(p: _Photo, gsd_m: float, n_keypoints: int, fast_threshold: float,
                    n_scales: int) -> PhotoFeatures:
    fp = p.footprint()
    none = PhotoFeatures(fp, np.empty((0, 2)), np.empty((0, 256), bool), gsd_m)
    if fp.is_empty:
        return none
    # One grid for every photograph: cell edges on whole multiples of gsd_m, so that a keypoint's
    # cell converts to the same ground metres whichever photograph it was found in.
    west, south, east, north = fp.bounds
    col0, row0 = math.floor(west / gsd_m), math.ceil(north / gsd_m)
    cols, rows = math.ceil(east / gsd_m) - col0, row0 - math.floor(south / gsd_m)
    image = p.on_ground((col0 * gsd_m, (row0 - rows) * gsd_m, (col0 + cols) * gsd_m, row0 * gsd_m), gsd_m)
    valid = np.isfinite(image)
    if valid.sum() < 32 * 32:
        return none
    kp, desc = _features(np.where(valid, image, float(image[valid].mean())), None, n_keypoints,
                         fast_threshold, n_scales)
    if len(kp) == 0:
        return none
    points = np.column_stack([(col0 + kp[:, 1] + 0.5) * gsd_m, (row0 - kp[:, 0] - 0.5) * gsd_m])
    return PhotoFeatures(fp, points, np.asarray(desc, bool), gsd_m)


def photo_features(photos: Sequence[Photo], ground_m: float = 0.0, *, gsd_m: float | None = None,
                   n_keypoints: int = 1200, fast_threshold: float = 0.05, n_scales: int = FEATURE_SCALES,
                   which: Sequence[int] | None = None) -> list[PhotoFeatures | None]:
    """Each photograph's ORB features on the ground, found once: the photograph resampled
    (:func:`ground_image`) onto a north-up grid over its footprint at ``gsd_m`` (see
    :func:`_features_gsd`; one grid for all, its cell edges on whole multiples of the GSD, so
    keypoints convert exactly to ground metres), ``n_keypoints`` ORB features (FAST threshold
    ``fast_threshold``, ``n_scales`` pyramid levels: on one ground grid the photographs differ
    little in scale) with their ground positions. Only the photographs in ``which`` (default all)
    are done; the others are None."""
    prepared = [_Photo(p, ground_m) for p in photos]
    gsd = _features_gsd(prepared, gsd_m)
    wanted = set(range(len(photos)) if which is None else which)
    return [_photo_features(p, gsd, n_keypoints, fast_threshold, n_scales) if k in wanted else None
            for k, p in enumerate(prepared)]


def _features_shift(fa: PhotoFeatures, fb: PhotoFeatures, *, i: int = 0, j: int = 1,
                    min_overlap: float = MIN_OVERLAP, min_inliers: int = MIN_INLIERS, max_shift_m: float = 15.0,
                    margin_px: int = 8) -> PairShift | None:
    if fa.footprint.is_empty or fb.footprint.is_empty:
        return None
    inter = fa.footprint.intersection(fb.footprint)
    smaller = min(fa.footprint.area, fb.footprint.area)
    overlap = inter.area / smaller if smaller > 0 else 0.0
    if inter.is_empty or overlap < min_overlap:
        return None
    gsd = max(fa.gsd_m, fb.gsd_m)
    # Keypoints only well inside the ground both see: the photographs' edges are not ground.
    region = inter.buffer(-margin_px * gsd)
    if region.is_empty or region.area < (32 * gsd) ** 2:
        return None
    shapely.prepare(region)
    in_a = shapely.contains_xy(region, fa.points_m[:, 0], fa.points_m[:, 1])
    in_b = shapely.contains_xy(region, fb.points_m[:, 0], fb.points_m[:, 1])
    if not in_a.any() or not in_b.any():
        return None
    ka, kb = fa.points_m[in_a], fb.points_m[in_b]
    origin = ka.mean(axis=0)
    pairs = _match(ka - origin, fa.descriptors[in_a], kb - origin, fb.descriptors[in_b], max_shift_m)
    d = ka[pairs[:, 0]] - kb[pairs[:, 1]]
    if len(d) < min_inliers:
        return None
    inliers = _consensus(d, 3 * gsd)
    if inliers.sum() < min_inliers:
        return None
    shift = d[inliers].mean(axis=0)
    residual = float(np.sqrt(np.mean(np.sum((d[inliers] - shift) ** 2, axis=1))))
    return PairShift(i=i, j=j, east_m=float(shift[0]), north_m=float(shift[1]), inliers=int(inliers.sum()),
                     matches=len(d), residual_m=residual, overlap=float(overlap), gsd_m=float(gsd))


def shifts_from_features(features: Sequence[PhotoFeatures | None], *, min_overlap: float = MIN_OVERLAP,
                         min_inliers: int = MIN_INLIERS, max_shift_m: float = 15.0,
                         pairs: Sequence[tuple[int, int]] | None = None) -> list[PairShift]:
    """The shifts (:class:`PairShift`, same convention) of the pairs of photographs (``pairs``,
    default those whose footprints share at least ``min_overlap`` of the smaller) from their
    features found once (:func:`photo_features`): the keypoints of both that lie inside the two
    footprints' intersection, eroded by 8 grid cells, matched (mutually nearest, Lowe ratio 0.8)
    among those at most ``max_shift_m`` apart, and the largest set of tie points whose
    displacements agree within 3 grid cells gives the shift (their mean), as in :func:`pair_shift`.
    Pairs whose shift could not be measured (or a photograph without features) are left out."""
    if pairs is None:
        prints = [f.footprint if f is not None else shapely.Polygon() for f in features]
        pairs = [(i, j) for i, j, _ in _neighbours(prints, min_overlap)]
    out = []
    for i, j in pairs:
        if features[i] is None or features[j] is None:
            continue
        s = _features_shift(features[i], features[j], i=i, j=j, min_overlap=min_overlap,
                            min_inliers=min_inliers, max_shift_m=max_shift_m)
        if s is not None:
            out.append(s)
    return out


def solve_offsets(n_photos: int, shifts: Sequence[PairShift], prior_sigma_m: float,
                  tie_sigma_m: float = 0.05) -> np.ndarray:
    """Per-photograph corrections (``n_photos`` × 2: east, north; metres) with true position ≈
    GPS position + ``o_i``, by least squares over: each pair ``o_j - o_i ≈ shift`` (sigma
    ``tie_sigma_m``) and each photograph ``o_i ≈ 0`` (sigma ``prior_sigma_m``). The ties only
    fix differences, so the corrections of every connected block average to zero: the block
    stays where the mean of its GPS positions puts it. Photographs with no tie stay at 0."""
    if prior_sigma_m <= 0 or tie_sigma_m <= 0:
        raise ValueError("prior_sigma_m and tie_sigma_m must be positive")
    offsets = np.zeros((n_photos, 2))
    if n_photos == 0 or not shifts:
        return offsets
    rows, cols, vals = [], [], []
    for k, s in enumerate(shifts):
        if not (0 <= s.i < n_photos and 0 <= s.j < n_photos) or s.i == s.j:
            raise ValueError(f"pair ({s.i}, {s.j}) is not two of {n_photos} photographs")
        rows += [k, k]
        cols += [s.j, s.i]
        vals += [1.0 / tie_sigma_m, -1.0 / tie_sigma_m]
    m = len(shifts)
    rows += list(range(m, m + n_photos))
    cols += list(range(n_photos))
    vals += [1.0 / prior_sigma_m] * n_photos
    design = coo_matrix((vals, (rows, cols)), shape=(m + n_photos, n_photos)).tocsr()
    measured = np.array([s.shift_m for s in shifts]) / tie_sigma_m
    for axis in range(2):
        rhs = np.concatenate([measured[:, axis], np.zeros(n_photos)])
        offsets[:, axis] = lsqr(design, rhs, atol=1e-12, btol=1e-12, iter_lim=50 * (n_photos + m))[0]
    return offsets


def neighbours(photos: Sequence[Photo], ground_m: float = 0.0,
               min_overlap: float = MIN_OVERLAP) -> list[tuple[int, int, float]]:
    """Pairs (i < j) of photographs whose footprints share at least ``min_overlap`` of the smaller
    footprint, with that share."""
    return _neighbours([footprint(cam, pose, ground_m) for _, cam, pose in photos], min_overlap)


def _neighbours(prints: Sequence[shapely.Geometry], min_overlap: float) -> list[tuple[int, int, float]]:
    tree = shapely.STRtree(prints)
    left, right = tree.query(prints, predicate="intersects")
    out = []
    for i, j in sorted({(int(p), int(q)) for p, q in zip(left, right, strict=True) if p < q}):
        smaller = min(prints[i].area, prints[j].area)
        share = prints[i].intersection(prints[j]).area / smaller if smaller > 0 else 0.0
        if share >= min_overlap:
            out.append((i, j, float(share)))
    return out


def _prepared(photos: Sequence[Photo], ground_m: float):
    """k -> photograph k ready to sample, each prepared once."""
    cache: dict[int, _Photo] = {}

    def ready(k: int) -> _Photo:
        if k not in cache:
            cache[k] = _Photo(photos[k], ground_m)
        return cache[k]

    return ready


def pair_shifts(photos: Sequence[Photo], ground_m: float = 0.0, **options) -> list[PairShift]:
    """:func:`pair_shift` over every pair of :func:`neighbours` (``options`` go to it); the pairs
    whose shift could not be measured are left out. With ``refine=False`` and ``check=False`` the
    features are found once per photograph rather than once per pair (:func:`photo_features`,
    ``2 × n_keypoints`` each, on the grid at ``gsd_m``; :func:`shifts_from_features`): several
    times quicker, the same shifts within a grid cell."""
    if options.get("refine") is False and options.get("check") is False:
        options = {k: v for k, v in options.items() if k not in ("refine", "check")}
        min_overlap = options.pop("min_overlap", MIN_OVERLAP)
        pairs = [(i, j) for i, j, _ in neighbours(photos, ground_m, min_overlap)]
        features = photo_features(photos, ground_m, gsd_m=options.pop("gsd_m", None),
                                  n_keypoints=2 * options.pop("n_keypoints", 1500),
                                  fast_threshold=options.pop("fast_threshold", 0.05),
                                  which=sorted({k for pair in pairs for k in pair}))
        return shifts_from_features(features, pairs=pairs, min_overlap=min_overlap, **options)
    ready = _prepared(photos, ground_m)
    out = []
    for i, j, _ in neighbours(photos, ground_m, options.get("min_overlap", MIN_OVERLAP)):
        s = _pair_shift(ready(i), ready(j), i=i, j=j, **options)
        if s is not None:
            out.append(s)
    return out


def corrected(poses: Sequence[Pose], offsets: np.ndarray) -> list[Pose]:
    """The poses moved by their corrections (``offsets``: n × 2, east and north; metres)."""
    return [dataclasses.replace(p, easting=p.easting + float(o[0]), northing=p.northing + float(o[1]))
            for p, o in zip(poses, np.asarray(offsets), strict=True)]


def register(photos: Sequence[Photo], ground_m: float = 0.0, prior_sigma_m: float = 3.0, *,
             tie_sigma_m: float = 0.05, shifts: Sequence[PairShift] | None = None, **options) -> list[Pose]:
    """The photographs' poses corrected so that overlapping photographs agree about where things
    are: :func:`pair_shifts` (or ``shifts`` already measured) then :func:`solve_offsets`. The
    block keeps the mean of its GPS positions; yaw, pitch, roll and height are left as they are."""
    if shifts is None:
        shifts = pair_shifts(photos, ground_m, **options)
    offsets = solve_offsets(len(photos), list(shifts), prior_sigma_m, tie_sigma_m)
    return corrected([pose for _, _, pose in photos], offsets)


def turned_headings(photos: Sequence[Photo], ground_m: float = 0.0, *, min_gain: float = 2.0,
                    features: Sequence[PhotoFeatures | None] | None = None, **options) -> list[bool]:
    """Which photographs' tagged yaw looks 180° wrong (the photograph faces the other way): for
    each two photographs taken one after the other (consecutive in ``photos``) whose footprints
    overlap, the tie points with both poses as tagged are set against those with both turned 180°
    (features found once per photograph and pose, :func:`photo_features`, ``2 × n_keypoints``
    each; ``features``, when given, are the tagged poses' already found). A pair votes for the
    side with at least ``min_gain`` times the other's tie points (and at least ``min_inliers``); a
    photograph is turned when a pair votes so and none votes for its tag. Photographs in one
    flight line share the error, so the pairs along the line find it; a photograph with no decided
    pair keeps its tag. Tie points are sought no farther apart than the two photographs' centres
    (nor than ``max_shift_m``), for a pair of photographs turned 180° places things twice that far
    apart. ``options`` are :func:`pair_shift`'s (``refine`` and ``check`` are ignored)."""
    min_inliers = options.get("min_inliers", MIN_INLIERS)
    min_overlap = options.get("min_overlap", MIN_OVERLAP)
    reach = options.get("max_shift_m", 15.0)
    gsd_m = options.get("gsd_m")
    if features is not None:
        found = [f for f in features if f is not None]
        gsd_m = found[0].gsd_m if found else gsd_m
    found_with = {"gsd_m": gsd_m, "n_keypoints": 2 * options.get("n_keypoints", 1500),
                  "fast_threshold": options.get("fast_threshold", 0.05)}
    if features is None:
        features = photo_features(photos, ground_m, **found_with)
    flipped = photo_features(turn_headings(photos, [True] * len(photos)), ground_m, **found_with)
    votes = [set() for _ in photos]
    for k in range(len(photos) - 1):
        a, b = photos[k][2], photos[k + 1][2]
        if features[k] is None or features[k + 1] is None:
            continue
        # Turning both photographs 180° about their centres moves everything one places by twice
        # the distance between them: within less than that, only the right headings tie.
        within = min(reach, math.hypot(a.easting - b.easting, a.northing - b.northing))
        tie = {"min_overlap": min_overlap, "min_inliers": min_inliers, "max_shift_m": within}
        tagged = _features_shift(features[k], features[k + 1], **tie)
        turned = _features_shift(flipped[k], flipped[k + 1], **tie)
        n_tagged = tagged.inliers if tagged is not None else 0
        n_turned = turned.inliers if turned is not None else 0
        if n_turned >= min_inliers and n_turned >= min_gain * n_tagged:
            votes[k].add(True)
            votes[k + 1].add(True)
        elif n_tagged >= min_inliers and n_tagged >= min_gain * n_turned:
            votes[k].add(False)
            votes[k + 1].add(False)
    return [v == {True} for v in votes]


def turn_headings(photos: Sequence[Photo], turned: Sequence[bool]) -> list[Photo]:
    """The photographs with the yaw of those flagged in ``turned`` turned 180°."""
    return [(rgb, cam, dataclasses.replace(pose, yaw_deg=(pose.yaw_deg + 180.0) % 360.0) if flip else pose)
            for (rgb, cam, pose), flip in zip(photos, turned, strict=True)]


def tie_point_disagreement(photos: Sequence[Photo], ground_m: float = 0.0, *,
                           shifts: Sequence[PairShift] | None = None, **options) -> dict:
    """How far apart neighbouring photographs place the same ground, over the pairs of
    :func:`neighbours`: per pair the norm of its measured shift (the distance between where the
    two footprints put its tie points), and over the pairs measured its median (``median_m``),
    90th percentile (``p90_m``), mean and maximum, the numbers of candidate and measured pairs,
    the tie points (``inliers``) and the median of the pairs' residual spreads (``residual_m``)."""
    candidates = neighbours(photos, ground_m, options.get("min_overlap", MIN_OVERLAP))
    if shifts is None:
        shifts = pair_shifts(photos, ground_m, **options)
    norms = np.array([s.norm_m for s in shifts])

    def stat(fn):
        return float(fn(norms)) if len(norms) else float("nan")

    return {
        "pairs": len(shifts),
        "candidate_pairs": len(candidates),
        "inliers": int(sum(s.inliers for s in shifts)),
        "median_m": stat(np.median),
        "p90_m": stat(lambda x: np.percentile(x, 90)),
        "mean_m": stat(np.mean),
        "max_m": stat(np.max),
        "residual_m": float(np.median([s.residual_m for s in shifts])) if shifts else float("nan"),
        "per_pair": [
            {"i": s.i, "j": s.j, "east_m": s.east_m, "north_m": s.north_m, "disagreement_m": s.norm_m,
             "inliers": s.inliers, "matches": s.matches, "residual_m": s.residual_m, "overlap": s.overlap,
             "phase_m": s.phase_m}
            for s in shifts
        ],
    }
