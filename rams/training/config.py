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
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rams.detector.model import CLASSES, ORIENTATIONS, RGB_BANDS
from rams.elevation import ELEVATION_BAND, sidecar
from rams.errors import RamsError
from rams.parallel import default_workers
from rams.training.augment import AugmentConfig
from rams.training.data import SAMPLE_KINDS, LabelledFlight, load_labelled_flight, synth_labelled_flight


@dataclass(frozen=True)
class SynthSpec:
    seeds: tuple[int, ...] = ()
    width_px: int = 2048
    height_px: int = 2048
    gsd_m: tuple[float, float] = (0.02, 0.04)
    crs: str = "EPSG:32638"
    in_memory: bool = False  # render on every run instead of caching GeoTIFFs

    def gsd_for(self, seed: int) -> float:
        lo, hi = self.gsd_m
        return lo if lo == hi else round(float(np.random.default_rng(seed).uniform(lo, hi)), 4)


@dataclass(frozen=True)
class FlightSet:
    flights: tuple[tuple[str, str], ...] = ()  # (tif, labels gpkg)
    synth: SynthSpec = SynthSpec()


@dataclass(frozen=True)
class TrainConfig:
    name: str = "rams-det-v1"
    description: str = ""
    seed: int = 0
    cache_dir: str = "runs/synth-cache"
    train: FlightSet = FlightSet()
    val: FlightSet = FlightSet()
    chip_px: int = 256
    batch_size: int = 8
    epochs: int = 10
    steps_per_epoch: int = 100
    lr: float = 3e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 50
    heatmap_weight: float = 1.0
    scale_jitter_p: float = 0.5
    sampling: dict[str, float] = field(default_factory=lambda: {
        "submunition": 0.35, "position": 0.2, "trench": 0.15, "distractor": 0.1, "random": 0.2})
    gsd_range_m: tuple[float, float] = (0.02, 0.04)
    tile_px: int = 512
    overlap_px: int = 64
    arch: dict[str, Any] = field(default_factory=dict)
    augment: AugmentConfig = AugmentConfig()
    postprocess: dict[str, float] = field(default_factory=dict)
    evaluation: dict[str, float] = field(default_factory=dict)
    threads: int = 2
    # processes that cut training chips beside the training process (0: it cuts them itself);
    # on a GPU machine with many cores the chips, not the network, limit the step rate
    loader_workers: int = 0
    init_from: str | None = None  # model name or folder to fine-tune from (e.g. rams-det-v1)
    # the evidence maps this model is trained (and scored) for; the others are left untrained
    outputs: tuple[str, ...] = CLASSES
    # a context model: flights are block-averaged to about this GSD (metres) before chips are cut
    input_gsd_m: float | None = None
    # the context model whose outputs this model defers to at inference (recorded in the card)
    context_model: str | None = None
    # the verifier that re-scores this model's submunition candidates (recorded in the card)
    verifier_model: str | None = None
    # "detector" (a RamsNet) or "verifier" (a PatchNet trained on the candidates of candidates_from)
    kind: str = "detector"
    candidates_from: str | None = None
    candidate_threshold: float = 0.08  # heatmap peak value a candidate needs
    patch_px: int = 32  # verifier patch side
    patch_gsd_m: float | None = None  # verifier patches resampled to this many metres per pixel
    # verifier: positives drawn evenly over octaves of item length (flight px), not as they occur
    # (small bomblets such as M77 outnumber the larger types many times over in cluster strikes)
    balance_sizes: bool = False
    # verifier: items shorter than this (flight px) are neither positives nor negatives: below
    # the imagery's resolution, where the evaluation ignores them too
    min_positive_px: float = 0.0
    # verifier: sampling weight of positives whose item is partly buried (visible_fraction under 1)
    # against the others of their length octave; rams-ver-v8's later networks found them half as
    # often as fully exposed ones
    buried_weight: float = 1.0
    # verifier: patches rendered around the objects (items, litter, stones) of this many synthetic
    # scenes, seeds object_first_seed onwards, beside the candidates mined on whole flights
    object_scenes: int = 0
    object_first_seed: int = 0
    object_negative_share: float = 0.5  # share of each batch's negatives drawn from those patches
    # verifier: share of each batch's negatives drawn in proportion to the network's own
    # probability on them, rescored at each epoch's start over a random pool of this many
    # negatives (mined and rendered alike): the cans, bottles and stones it still takes for items
    hard_negative_share: float = 0.0
    hard_negative_pool: int = 65536
    # verifier: a verifier (name or folder) whose networks, frozen, judge beside the one trained;
    # the model saved is their ensemble, each patch judged in ``orientations`` (1, 4 or 8)
    ensemble_with: str | None = None
    orientations: int = 1
    # verifier: when init_from is an ensemble, the member (0-based) to fine-tune
    init_member: int | None = None
    # verifier ensemble: the first member's probability a patch needs for the whole ensemble
    prefilter_threshold: float | None = None
    # red, green, blue, then optionally the elevation band (relief of the DSM beside each flight)
    input_bands: tuple[str, ...] = RGB_BANDS


def _check(d: Any, cls: type, where: str) -> dict[str, Any]:
    if not isinstance(d, dict):
        raise RamsError(where, f"expected a mapping, got {type(d).__name__}")
    allowed = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - allowed)
    if unknown:
        raise RamsError(where, f"unknown key(s) {', '.join(unknown)}; allowed: {sorted(allowed)}")
    return d


def _flight_set(d: Any, where: str) -> FlightSet:
    d = _check(d or {}, FlightSet, where)
    flights = []
    for i, f in enumerate(d.get("flights") or []):
        if not isinstance(f, dict) or set(f) != {"tif", "labels"}:
            raise RamsError(where, f"flights[{i}] must be a mapping with keys tif and labels")
        flights.append((str(f["tif"]), str(f["labels"])))
    s = _check(d.get("synth") or {}, SynthSpec, f"{where}.synth")
    gsd = s.get("gsd_m", SynthSpec.gsd_m)
    gsd = (float(gsd), float(gsd)) if isinstance(gsd, int | float) else tuple(map(float, gsd))
    synth = SynthSpec(**{**s, "seeds": tuple(int(x) for x in s.get("seeds", ())), "gsd_m": gsd})
    return FlightSet(tuple(flights), synth)


def load_config(path: str | Path) -> TrainConfig:
    """Parse and validate a training YAML; relative paths (flights, cache) are relative to it."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise RamsError(path, f"cannot read training config ({err})") from err
    raw = _check(raw, TrainConfig, str(path))
    kw = dict(raw)
    for key in ("train", "val"):
        fs = _flight_set(raw.get(key), f"{path}:{key}")
        kw[key] = FlightSet(tuple((str(path.parent / t), str(path.parent / g))
                                  for t, g in fs.flights), fs.synth)
    kw["cache_dir"] = str(path.parent / raw.get("cache_dir", TrainConfig.cache_dir))
    for key in ("init_from", "candidates_from", "ensemble_with"):  # a model name, or a folder beside the config
        if raw.get(key) and (path.parent / str(raw[key])).is_dir():
            kw[key] = str(path.parent / str(raw[key]))
    if "augment" in raw:
        aug = _check(raw["augment"], AugmentConfig, f"{path}:augment")
        kw["augment"] = AugmentConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in aug.items()})
    if "gsd_range_m" in raw:
        kw["gsd_range_m"] = tuple(map(float, raw["gsd_range_m"]))
    if kw.get("kind", "detector") not in ("detector", "verifier"):
        raise RamsError(path, f"kind must be detector or verifier, not {kw['kind']!r}")
    if kw.get("kind") == "verifier" and not kw.get("candidates_from"):
        raise RamsError(path, "a verifier needs candidates_from: the model whose candidates it judges")
    if "outputs" in raw:
        kw["outputs"] = tuple(str(c) for c in raw["outputs"])
        if not kw["outputs"] or set(kw["outputs"]) - set(CLASSES):
            raise RamsError(path, f"outputs must be a non-empty subset of {list(CLASSES)}")
    unknown_kinds = set(kw.get("sampling", {})) - set(SAMPLE_KINDS)
    if unknown_kinds:
        raise RamsError(path, f"unknown sampling kind(s) {sorted(unknown_kinds)}")
    if "input_bands" in raw:
        kw["input_bands"] = tuple(str(b) for b in raw["input_bands"])
        if kw["input_bands"] not in (RGB_BANDS, (*RGB_BANDS, ELEVATION_BAND)):
            raise RamsError(path, f"input_bands must be {list(RGB_BANDS)}, optionally followed by {ELEVATION_BAND}")
        if kw.get("kind") == "verifier" and len(kw["input_bands"]) > 3:
            raise RamsError(path, "a verifier judges RGB patches: input_bands must be red, green, blue")
        kw["arch"] = arch_for_bands(kw.get("arch") or {}, len(kw["input_bands"]))
    if not kw["train"].flights and not kw["train"].synth.seeds:
        raise RamsError(path, "no training flights: give train.flights and/or train.synth.seeds")
    if kw.get("orientations", 1) not in ORIENTATIONS:
        raise RamsError(path, "orientations must be 1, 4 or 8")
    if kw.get("epochs", TrainConfig.epochs) == 0 and not (
            kw.get("kind") == "verifier" and kw.get("init_from") and kw.get("ensemble_with")):
        raise RamsError(path, "epochs: 0 only joins a trained verifier (init_from) to another (ensemble_with)")
    if kw.get("init_member") is not None and not (kw.get("kind") == "verifier" and kw.get("init_from")):
        raise RamsError(path, "init_member picks a network of a verifier ensemble: give kind: verifier and init_from")
    if float(kw.get("buried_weight", 1.0)) <= 0:
        raise RamsError(path, "buried_weight must be positive")
    first = int(kw.get("object_first_seed", 0))
    objects = set(range(first, first + int(kw.get("object_scenes", 0))))
    overlap = (set(kw["train"].synth.seeds) | objects) & set(kw["val"].synth.seeds)
    if overlap:
        raise RamsError(path, f"seeds {sorted(overlap)} are in both train and val")
    return TrainConfig(**kw)


def synth_paths(cache_dir: Path, spec: SynthSpec, seed: int) -> tuple[Path, Path]:
    """Where a synthetic flight of ``seed`` is cached: (tif, labels gpkg)."""
    stem = f"synth-s{seed}-{spec.width_px}x{spec.height_px}-g{spec.gsd_for(seed):.4f}"
    return cache_dir / f"{stem}.tif", cache_dir / f"{stem}.labels.gpkg"


def resolve_flights(fs: FlightSet, cache_dir: Path, elevation: bool = False) -> list[tuple[str, str]]:
    """All (tif, labels) pairs of a flight set, generating missing synthetic flights (none for
    seeds rendered in memory; with their DSMs when ``elevation``)."""
    pairs = list(fs.flights)
    if fs.synth.seeds and not fs.synth.in_memory:
        from rams.synth import generate_flight  # only needed when seeds are asked for

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

