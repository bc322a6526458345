"""Training configuration (YAML, validated: unknown keys are errors) and its flight lists.

Flights are given as (GeoTIFF, labels GeoPackage) pairs and/or as synthetic seeds that are
generated on first use into ``cache_dir`` (each seed gets a GSD drawn from ``gsd_m`` when that is
a [min, max] range, reproducibly from the seed). With ``synth.in_memory`` the seeds are rendered
in memory on every run instead, on all CPU cores, and nothing is written: for machines where
rendering is cheaper than storing hundreds of flights.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np

from rams import config
from rams.config import (
    FloatRange,
    Invalid,
    ModelRef,
    RelativePath,
    Seeds,
    Upgrade,
    bounded,
    choices_text,
    version_field,
)
from rams.detector.model import CLASSES, ORIENTATIONS, RGB_BANDS
from rams.elevation import ELEVATION_BAND, sidecar
from rams.errors import RamsError
from rams.parallel import default_workers
from rams.training.augment import AugmentConfig
from rams.training.data import SAMPLE_KINDS, LabelledFlight, load_labelled_flight, synth_labelled_flight


class Flight(NamedTuple):
    """A labelled flight: its GeoTIFF and its labels GeoPackage (read beside the config)."""

    tif: RelativePath
    labels: RelativePath


@dataclass(frozen=True)
class SynthSpec:
    """Synthetic flights: their seeds, size (px) and ground sampling distance (m per px)."""

    seeds: Seeds = ()
    width_px: int = bounded(2048, 64, 65536)
    height_px: int = bounded(2048, 64, 65536)
    gsd_m: FloatRange = bounded((0.02, 0.04), 0.001, 1.0, doc="one GSD, or [min, max] drawn per seed")
    crs: str = "EPSG:32638"
    in_memory: bool = False  # render on every run instead of caching GeoTIFFs

    def gsd_for(self, seed: int) -> float:
        lo, hi = self.gsd_m
        return lo if lo == hi else round(float(np.random.default_rng(seed).uniform(lo, hi)), 4)


@dataclass(frozen=True)
class RealGroundSpec:
    """Objects composited onto real drone frames (:mod:`rams.synthetic.real_ground`): every frame
    of ``split`` of each flight in ``flights`` under ``frames_dir`` (the folder holding
    ``caliterra/`` and ``brighton/``), at each GSD of ``gsd_m`` (metres per px), or with
    ``gsd_in_turn`` at one of them, frame k at ``gsd_m[k % len(gsd_m)]``. Frame k of the list at
    GSD j gets seed ``seed + 100 * k + j``."""

    frames_dir: RelativePath | None = None
    split: Literal["train", "validation", "test"] = "train"
    flights: tuple[str, ...] = ("caliterra", "brighton")
    gsd_m: tuple[float, ...] = (0.01, 0.02)
    gsd_in_turn: bool = False
    seed: int = bounded(0, 0)


@dataclass(frozen=True)
class FlightSet:
    """Labelled flights, synthetic seeds and real-ground composites, trained (or validated) on
    together."""

    flights: tuple[Flight, ...] = ()
    synth: SynthSpec = SynthSpec()
    real_ground: RealGroundSpec = RealGroundSpec()


@dataclass(frozen=True)
class TrainConfig:
    """A training run: data, schedule, network and what the saved card records."""

    # schema version n -> the function that rewrites a version-n file as n + 1 (none yet)
    UPGRADES: ClassVar[Mapping[int, Upgrade]] = {}

    schema_version: int = version_field(1)
    name: str = "rams-det-v1"
    description: str = ""
    seed: int = bounded(0, 0)
    cache_dir: RelativePath = "runs/synth-cache"
    train: FlightSet = FlightSet()
    val: FlightSet = FlightSet()
    chip_px: int = bounded(256, 16, 8192)
    batch_size: int = bounded(8, 1)
    epochs: int = bounded(10, 0)
    steps_per_epoch: int = bounded(100, 1)
    lr: float = bounded(3e-3, 0.0, low_open=True)
    weight_decay: float = bounded(1e-4, 0.0)
    warmup_steps: int = bounded(50, 0)
    heatmap_weight: float = bounded(1.0, 0.0)
    scale_jitter_p: float = bounded(0.5, 0.0, 1.0)
    # share of chips centred on each kind of sample (relative weights)
    sampling: dict[str, float] = field(default_factory=lambda: {
        "submunition": 0.35, "position": 0.2, "trench": 0.15, "distractor": 0.1, "random": 0.2},
        metadata={"low": 0.0})
    gsd_range_m: FloatRange = bounded((0.02, 0.04), 0.001, 1.0)
    tile_px: int = bounded(512, 16, 8192)
    overlap_px: int = bounded(64, 0, 4096)
    arch: dict[str, Any] = field(default_factory=dict)
    augment: AugmentConfig = AugmentConfig()
    postprocess: dict[str, float] = field(default_factory=dict)
    evaluation: dict[str, float] = field(default_factory=dict)
    # the model saved: the epoch of the best validation score, or the last epoch's (a heatmap that
    # proposes a verifier's candidates: its F1 at its own best threshold does not say how well it
    # ranks items above clutter, which is what the verifier needs of it)
    keep: Literal["best", "last"] = "best"
    threads: int = bounded(2, 1)
    # processes that cut training chips beside the training process (0: it cuts them itself);
    # on a GPU machine with many cores the chips, not the network, limit the step rate
    loader_workers: int = bounded(0, 0)
    init_from: ModelRef | None = None  # model name or folder to fine-tune from (e.g. rams-det-v1)
    # the evidence maps this model is trained (and scored) for; the others are left untrained
    outputs: tuple[str, ...] = CLASSES
    # a context model: flights are block-averaged to about this GSD (metres) before chips are cut
    input_gsd_m: float | None = bounded(None, 0.0, low_open=True)
    # the context model whose outputs this model defers to at inference (recorded in the card)
    context_model: str | None = None
    # the verifier that re-scores this model's submunition candidates (recorded in the card)
    verifier_model: str | None = None
    # "detector" (a RamsNet) or "verifier" (a PatchNet trained on the candidates of candidates_from)
    kind: Literal["detector", "verifier"] = "detector"
    candidates_from: ModelRef | None = None
    candidate_threshold: float = bounded(0.08, 0.0, 1.0)  # heatmap peak value a candidate needs
    patch_px: int = bounded(32, 4, 1024)  # verifier patch side
    # verifier patches resampled to this many metres per pixel
    patch_gsd_m: float | None = bounded(None, 0.0, low_open=True)
    # verifier: positives drawn evenly over octaves of item length (flight px), not as they occur
    # (small bomblets such as M77 outnumber the larger types many times over in cluster strikes)
    balance_sizes: bool = False
    # verifier: items shorter than this (flight px) are neither positives nor negatives: below
    # the imagery's resolution, where the evaluation ignores them too
    min_positive_px: float = bounded(0.0, 0.0)
    # verifier: sampling weight of positives whose item is partly buried (visible_fraction under 1)
    # against the others of their length octave; rams-ver-v8's later networks found them half as
    # often as fully exposed ones
    buried_weight: float = bounded(1.0, 0.0, low_open=True)
    # verifier: patches rendered around the objects (items, litter, stones) of this many synthetic
    # scenes, seeds object_first_seed onwards, beside the candidates mined on whole flights
    object_scenes: int = bounded(0, 0)
    # the objects of those scenes: the generator's "classic" ones or the varied "field" catalogue
    object_catalogue: Literal["classic", "field"] = "classic"
    # verifier: the validation flights its Platt calibration is fitted on: every one, or the
    # real-ground composites only (the ground surveys fly over; synthetic flights are easier)
    calibrate_on: Literal["all", "real_ground"] = "all"
    # verifier: at most this many negative candidates kept per mined flight (0: all), half the
    # heatmap's highest, half drawn at random from the rest: real ground at a low candidate
    # threshold gives thousands per frame, and memory holds every patch
    mined_negatives_per_flight: int = bounded(0, 0)
    object_first_seed: int = bounded(0, 0)
    # share of each batch's negatives drawn from those patches
    object_negative_share: float = bounded(0.5, 0.0, 1.0)
    # verifier: share of each batch's negatives drawn in proportion to the network's own
    # probability on them, rescored at each epoch's start over a random pool of this many
    # negatives (mined and rendered alike): the cans, bottles and stones it still takes for items
    hard_negative_share: float = bounded(0.0, 0.0, 1.0)
    hard_negative_pool: int = bounded(65536, 1)
    # verifier: a verifier (name or folder) whose networks, frozen, judge beside the one trained;
    # the model saved is their ensemble, each patch judged in ``orientations`` (1, 4 or 8)
    ensemble_with: ModelRef | None = None
    orientations: int = 1
    # verifier: when init_from is an ensemble, the member (0-based) to fine-tune
    init_member: int | None = bounded(None, 0)
    # verifier ensemble: the first member's probability a patch needs for the whole ensemble
    prefilter_threshold: float | None = bounded(None, 0.0, 1.0)
    # red, green, blue, then optionally the elevation band (relief of the DSM beside each flight)
    input_bands: tuple[str, ...] = RGB_BANDS

    def checked(self) -> TrainConfig:
        """This config as read from a file: refused (:class:`Invalid`) where keys cannot go
        together, and with ``arch`` sized for the input bands."""
        if self.kind == "verifier" and not self.candidates_from:
            raise Invalid("candidates_from", "a verifier needs the model whose candidates it judges")
        if not self.outputs or set(self.outputs) - set(CLASSES):
            raise Invalid("outputs", f"must be a non-empty subset of {list(CLASSES)}, got {list(self.outputs)}")
        unknown = sorted(set(self.sampling) - set(SAMPLE_KINDS))
        if unknown:
            raise Invalid(f"sampling.{unknown[0]}", f"unknown sample kind (known: {', '.join(SAMPLE_KINDS)})")
        if self.input_bands not in (RGB_BANDS, (*RGB_BANDS, ELEVATION_BAND)):
            raise Invalid("input_bands", f"must be {list(RGB_BANDS)}, optionally followed by {ELEVATION_BAND}")
        if self.kind == "verifier" and len(self.input_bands) > len(RGB_BANDS):
            raise Invalid("input_bands", "a verifier judges RGB patches: must be red, green, blue")
        if not self.train.flights and not self.train.synth.seeds and not self.train.real_ground.frames_dir:
            raise Invalid("train", "no training flights: give train.flights, train.synth.seeds and/or "
                                   "train.real_ground")
        if self.train.real_ground.frames_dir and self.train.real_ground.split != "train":
            raise Invalid("train.real_ground.split", "training composites come from the training frames only")
        if self.orientations not in ORIENTATIONS:
            raise Invalid("orientations", f"must be {choices_text(ORIENTATIONS)}, got {self.orientations}")
        if self.epochs == 0 and not (self.kind == "verifier" and self.init_from and self.ensemble_with):
            raise Invalid("epochs", "0 only joins a trained verifier (init_from) to another (ensemble_with)")
        if self.init_member is not None and not (self.kind == "verifier" and self.init_from):
            raise Invalid("init_member", "picks a network of a verifier ensemble: give kind: verifier and init_from")
        objects = range(self.object_first_seed, self.object_first_seed + self.object_scenes)
        overlap = (set(self.train.synth.seeds) | set(objects)) & set(self.val.synth.seeds)
        if overlap:
            raise Invalid("val.synth.seeds", f"seeds {sorted(overlap)} are in both train and val "
                                             "(train.synth.seeds or the object scenes)")
        if len(self.input_bands) > len(RGB_BANDS):  # RGB networks are built with these defaults
            return dataclasses.replace(self, arch=arch_for_bands(self.arch, len(self.input_bands)))
        return self


def load_config(path: str | Path) -> TrainConfig:
    """Parse and validate a training YAML; relative paths (flights, cache, model folders beside
    it) are read against its folder."""
    return config.load_config(TrainConfig, path)


def synth_paths(cache_dir: Path, spec: SynthSpec, seed: int) -> tuple[Path, Path]:
    """Where a synthetic flight of ``seed`` is cached: (tif, labels gpkg)."""
    stem = f"synth-s{seed}-{spec.width_px}x{spec.height_px}-g{spec.gsd_for(seed):.4f}"
    return cache_dir / f"{stem}.tif", cache_dir / f"{stem}.labels.gpkg"


def real_ground_paths(cache_dir: Path, spec: RealGroundSpec) -> list[tuple[Path, Path, float, int]]:
    """(frame, composite tif, GSD in metres, seed) of every composite of ``spec``, in order."""
    from rams.synthetic.real_frames import frames  # only needed when composites are asked for

    out = []
    every = [f for flight in spec.flights for f in frames(spec.frames_dir, flight, spec.split)]
    for k, frame in enumerate(every):
        for j, gsd in enumerate(spec.gsd_m):
            if spec.gsd_in_turn and j != k % len(spec.gsd_m):
                continue
            seed = spec.seed + 100 * k + j
            out.append((frame, cache_dir / f"real-{frame.parent.name}-{frame.stem}-g{gsd:.4f}-s{seed}.tif", gsd, seed))
    return out


def is_real_ground(path: str | Path) -> bool:
    """Whether a flight is a real-ground composite of :func:`real_ground_paths`."""
    return Path(path).name.startswith("real-")


def resolve_flights(fs: FlightSet, cache_dir: Path, elevation: bool = False) -> list[tuple[str, str]]:
    """All (tif, labels) pairs of a flight set, generating missing synthetic flights and
    real-ground composites (none for seeds rendered in memory; with their DSMs when
    ``elevation``)."""
    pairs = list(fs.flights)
    if fs.real_ground.frames_dir:
        from rams.synthetic import generate_real_ground_flight, labels_path

        cache_dir.mkdir(parents=True, exist_ok=True)
        for frame, tif, gsd, seed in real_ground_paths(cache_dir, fs.real_ground):
            if not (tif.is_file() and labels_path(tif).is_file()):
                generate_real_ground_flight(tif, frame, gsd, seed)
            pairs.append((str(tif), str(labels_path(tif))))
    if fs.synth.seeds and not fs.synth.in_memory:
        from rams.synthetic import generate_flight  # only needed when seeds are asked for

        cache_dir.mkdir(parents=True, exist_ok=True)
        for seed in fs.synth.seeds:
            tif, gpkg = synth_paths(cache_dir, fs.synth, seed)
            if not (tif.is_file() and gpkg.is_file() and (sidecar(tif).is_file() or not elevation)):
                tif_out, gpkg_out = generate_flight(str(tif), fs.synth.width_px,
                                                    fs.synth.height_px, fs.synth.gsd_for(seed),
                                                    seed, crs=fs.synth.crs,
                                                    bands="rgb+dsm" if elevation else "rgb")
                tif, gpkg = Path(tif_out), Path(gpkg_out)
            pairs.append((str(tif), str(gpkg)))
    for tif, gpkg in pairs:
        for p in (tif, gpkg):
            if not Path(p).is_file():
                raise RamsError(p, "training/validation file not found")
    return pairs


def arch_for_bands(arch: dict[str, Any], bands: int) -> dict[str, Any]:
    """``arch`` with ``in_channels`` and per-band normalisation for ``bands`` input bands (the
    elevation band's relief levels are centred on ground level, 128, about 0.3 m per std)."""
    mean = [127.5, 127.5, 127.5, 128.0][:bands]
    std = [64.0, 64.0, 64.0, 16.0][:bands]
    return {"in_channels": bands, "mean": mean, "std": std, **arch}


def iter_flights(fs: FlightSet, cache_dir: Path, input_gsd_m: float | None = None, elevation: bool = False
                 ) -> Iterator[LabelledFlight]:
    """Every flight of a set, in order, loaded for training (with the elevation band when
    ``elevation``); in-memory seeds are rendered on a process pool of the cores this process may
    use while earlier flights are consumed."""
    for tif, gpkg in resolve_flights(fs, cache_dir, elevation):
        yield load_labelled_flight(tif, gpkg, input_gsd_m, elevation)
    if fs.synth.in_memory and fs.synth.seeds:
        s = fs.synth
        n = len(s.seeds)
        # spawned, not forked: the parent holds torch threads (and maybe CUDA)
        with ProcessPoolExecutor(min(n, default_workers()), mp_context=multiprocessing.get_context("spawn")) as pool:
            yield from pool.map(synth_labelled_flight, s.seeds, [s.width_px] * n, [s.height_px] * n,
                                [s.gsd_for(seed) for seed in s.seeds], [s.crs] * n, [input_gsd_m] * n,
                                [elevation] * n)


def load_flights(fs: FlightSet, cache_dir: Path, input_gsd_m: float | None = None, elevation: bool = False
                 ) -> list[LabelledFlight]:
    """:func:`iter_flights` as a list."""
    return list(iter_flights(fs, cache_dir, input_gsd_m, elevation))

