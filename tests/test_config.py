"""The one config mechanism (rams.config): types, bounds, paths, seeds, schema versions; every
config kind refuses unknown keys and impossible values in one line naming the file and key, and
every shipped config and card loads."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Literal, NamedTuple

import pytest
import yaml

from rams.config import (
    FIRST_SCHEMA_VERSION,
    REQUIRED,
    FloatRange,
    IntRange,
    Invalid,
    ModelRef,
    RelativePath,
    Seeds,
    bounded,
    from_mapping,
    load_config,
    version_field,
)
from rams.detector.card import CARD_FILE, ModelCard, checked_card, read_card
from rams.errors import RamsError
from rams.hazards.rules import HazardRules, load_rules
from rams.resources import configs_dir, models_dir
from rams.settings import SurveySettings, calibrated
from rams.training.config import TrainConfig
from rams.training.config import load_config as load_train_config

ROOT = Path(__file__).resolve().parents[1]


def _load(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return load_config(SurveySettings, path)


def test_defaults_and_nested_values(tmp_path):
    s = _load(tmp_path, "tiling: {region_px: 2048}\ndetection: {nms_radius_m: 0.3}\n")
    assert s.tiling.region_px == 2048 and s.detection.nms_radius_m == 0.3
    assert s.tiling.batch_size == SurveySettings().tiling.batch_size
    assert load_config(SurveySettings, None) == SurveySettings()


@pytest.mark.parametrize(
    "text, message",
    [
        ("tilling: {}\n", "unknown key 'tilling'"),
        ("tiling: {regin_px: 1}\n", "unknown key 'tiling.regin_px'"),
        ("tiling: {region_px: 10}\n", "tiling.region_px: must be within [512, 32768], got 10"),
        ("tiling: {batch_size: 2.5}\n", "tiling.batch_size: must be an integer"),
        ("detection: {nms_radius_m: yes}\n", "detection.nms_radius_m: must be a number"),
        ("detection: {nms_radius_m: 1e-1}\n", "YAML reads 1e-4 as text"),
        ("detection: [1, 2]\n", "detection: must be a mapping"),
        ("tiling: {region_px: [\n", "not valid YAML"),
    ],
)
def test_errors_name_the_file_and_key(tmp_path, text, message):
    with pytest.raises(RamsError) as err:
        _load(tmp_path, text)
    assert message in str(err.value) and "c.yaml" in str(err.value) and "\n" not in str(err.value)


def test_unset_thresholds_come_from_the_model_card():
    card = {"postprocess": {"peak_threshold": 0.3, "mask_threshold": 0.45}}
    det = calibrated(SurveySettings().detection, card)
    assert (det.submunition_threshold, det.trench_threshold, det.position_threshold) == (0.3, 0.45, 0.45)
    assert calibrated(SurveySettings().detection, {}).submunition_threshold == 0.5
    context = {"outputs": ["position"], "postprocess": {"mask_threshold": 0.6}}
    det = calibrated(SurveySettings().detection, card, context)
    assert (det.trench_threshold, det.position_threshold) == (0.45, 0.6)  # each map its model's
    context["postprocess"]["position_mask_threshold"] = 0.35  # calibrated for one class
    det = calibrated(SurveySettings().detection, card, {**context, "outputs": ["trench", "position"]})
    assert (det.trench_threshold, det.position_threshold) == (0.6, 0.35)
    assert det.position_min_area_m2 == 2.0  # neither card says: 2 m2
    context["postprocess"]["min_position_area_m2"] = 6.0  # from the model that draws positions
    assert calibrated(SurveySettings().detection, card, context).position_min_area_m2 == 6.0
    own = replace(SurveySettings().detection, position_min_area_m2=0.0)  # the user's setting wins
    assert calibrated(own, card, context).position_min_area_m2 == 0.0


# --- the mechanism, on a class using every supported type -------------------------------------


class Pair(NamedTuple):
    image: RelativePath
    note: str = ""


@dataclass(frozen=True)
class Inner:
    ratio: float = bounded(0.5, 0.0, 1.0)
    mode: Literal["fast", "exact"] = "fast"


@dataclass(frozen=True)
class Example:
    size: int = bounded(REQUIRED, 1, doc="required, >= 1")
    gap_m: float = bounded(1.0, 0.0, low_open=True)
    names: tuple[str, ...] = ()
    point: tuple[float, float] = (0.0, 0.0)
    steps: list[int] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict, metadata={"low": 0.0})
    inner: Inner = Inner()
    maybe: Inner | None = None
    limit: float | None = None
    pairs: tuple[Pair, ...] = ()
    out_dir: RelativePath = "out"
    model: ModelRef | None = None
    seeds: Seeds = ()
    band_m: FloatRange = bounded((0.02, 0.04), 0.0, low_open=True)
    quality: IntRange = (40, 95)
    raw: Any = None

    def checked(self) -> Example:
        if self.limit is not None and self.limit < self.size:
            raise Invalid("limit", f"must not be below size ({self.size})")
        return self


def _example(text: str, tmp_path: Path) -> Example:
    path = tmp_path / "e.yaml"
    path.write_text(text)
    return load_config(Example, path)


def test_every_supported_type_is_read_and_converted(tmp_path):
    (tmp_path / "beside").mkdir()
    e = _example(
        "size: 3\nnames: [a, b]\npoint: [1, 2.5]\nsteps: [1, 2]\nweights: {x: 2}\ninner: {mode: exact}\n"
        "maybe: {}\nlimit: 4\npairs: [{image: a.tif}, {image: /abs/b.tif, note: n}]\nmodel: beside\n"
        "seeds: [7, {first: 10, count: 3}, 2]\nband_m: 0.03\nraw: {anything: [1]}\n",
        tmp_path,
    )
    assert e.size == 3 and e.names == ("a", "b") and e.point == (1.0, 2.5) and e.steps == [1, 2]
    assert e.weights == {"x": 2.0} and e.inner == Inner(mode="exact") and e.maybe == Inner()
    assert e.pairs == ((str(tmp_path / "a.tif"), ""), ("/abs/b.tif", "n"))  # NamedTuples are tuples
    assert e.out_dir == str(tmp_path / "out")  # a default path is read beside the file too
    assert e.model == str(tmp_path / "beside")
    assert e.seeds == (7, 10, 11, 12, 2)
    assert e.band_m == (0.03, 0.03) and e.quality == (40, 95) and e.raw == {"anything": [1]}
    assert _example("size: 1\nmodel: rams-det-v2\n", tmp_path).model == "rams-det-v2"  # no such folder: a name
    # no file, no folder: paths stay as written
    assert from_mapping(Example, {"size": 1, "pairs": [{"image": "a.tif"}]}, "<e>").pairs[0].image == "a.tif"


@pytest.mark.parametrize(
    "text, message",
    [
        ("gap_m: 1\n", "size: missing (required)"),
        ("size: 0\n", "size: must be >= 1, got 0"),
        ("size: 1\ngap_m: 0\n", "gap_m: must be > 0, got 0"),
        ("size: 1\nsize_m: 2\n", "unknown key 'size_m' (known: band_m, gap_m, inner, limit, maybe, model,"),
        ("size: 1\nnames: a\n", "names: must be a list of values, got 'a'"),
        ("size: 1\nnames: [a, 2]\n", "names[1]: must be text, got 2"),
        ("size: 1\npoint: [1]\n", "point: must be a list of 2 values"),
        ("size: 1\nweights: {x: -1}\n", "weights.x: must be >= 0, got -1"),
        ("size: 1\ninner: {ratio: 2}\n", "inner.ratio: must be within [0, 1], got 2"),
        ("size: 1\ninner: {mode: slow}\n", "inner.mode: must be fast or exact, got 'slow'"),
        ("size: 1\nmaybe: {speed: 1}\n", "unknown key 'maybe.speed' (known: mode, ratio)"),
        ("size: 1\nlimit: .nan\n", "limit: must be a number, got nan"),
        ("size: 1\npairs: [{note: x}]\n", "pairs[0].image: missing (required)"),
        ("size: 1\npairs: [a.tif]\n", "pairs[0]: must be a mapping"),
        ("size: 1\nseeds: [1, -2]\n", "seeds[1]: must be >= 0, got -2"),
        ("size: 1\nseeds: [{first: 1, count: 0}]\n", "seeds[0].count: must be >= 1, got 0"),
        ("size: 1\nseeds: {first: 1, cnt: 2}\n", "unknown key 'seeds.cnt' (known: count, first)"),
        ("size: 1\nseeds: [1.5]\n", "seeds[0]: must be an integer"),
        ("size: 1\nseeds: 5\n", "seeds: must be a list of seeds"),
        ("size: 1\nband_m: [0.04, 0.02]\n", "band_m: min must not exceed max"),
        ("size: 1\nband_m: [0.02, 0]\n", "band_m[1]: must be > 0"),
        ("size: 1\nquality: [40, 95.5]\n", "quality[1]: must be an integer"),
        ("size: 5\nlimit: 4\n", "limit: must not be below size (5)"),
        ("- 1\n", "configuration: must be a mapping"),
    ],
)
def test_mechanism_errors_are_one_line_naming_file_and_key(tmp_path, text, message):
    with pytest.raises(RamsError) as err:
        _example(text, tmp_path)
    assert str(err.value).startswith(str(tmp_path / "e.yaml") + ": ")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_nested_checks_are_prefixed_with_where_they_sit():
    @dataclass(frozen=True)
    class Outer:
        child: Example = Example(size=1)

    with pytest.raises(RamsError, match=r"^f\.yaml: child\.limit: must not be below size"):
        from_mapping(Outer, {"child": {"size": 5, "limit": 1}}, "f.yaml")


# --- schema versions -----------------------------------------------------------------------------

_V2_SEEN: list[dict] = []


def _rename_size(data: dict) -> dict:
    _V2_SEEN.append(dict(data))
    return {("count" if k == "size" else k): v for k, v in data.items()}


@dataclass(frozen=True)
class VersionTwo:
    """A class at version 2 whose version 1 called ``count`` ``size`` (the hook, exercised)."""

    UPGRADES: ClassVar[dict] = {1: _rename_size}
    schema_version: int = version_field(2)
    count: int = 0


def test_older_files_are_upgraded_step_by_step_and_newer_refused():
    assert from_mapping(VersionTwo, {"size": 3}, "f.yaml") == VersionTwo(count=3)  # no key: version 1
    assert _V2_SEEN == [{"size": 3}]
    assert from_mapping(VersionTwo, {"schema_version": 1, "size": 4}, "f.yaml").count == 4
    assert from_mapping(VersionTwo, {"schema_version": 2, "count": 5}, "f.yaml").count == 5
    with pytest.raises(RamsError, match=r"^f\.yaml: schema_version: 3 is newer than this rams reads \(up to 2\)"):
        from_mapping(VersionTwo, {"schema_version": 3}, "f.yaml")
    with pytest.raises(RamsError, match=r"^f\.yaml: schema_version: must be >= 1, got 0"):
        from_mapping(VersionTwo, {"schema_version": 0}, "f.yaml")


def _valid_card() -> dict:
    return {"name": "t", "classes": ["trench", "position", "submunition"], "input_bands": ["red", "green", "blue"],
            "normalisation": {}, "gsd_range_m": [0.02, 0.04], "tile_px": 64, "overlap_px": 16,
            "arch": {"widths": [8, 8, 8, 8, 8]}, "sha256": "0" * 64, "rams_version": "0.1.0"}


# each config kind: its loader, a valid file, an impossible value (key, value) and the message
KINDS = {
    "survey": (lambda p: load_config(SurveySettings, p), {}, ("tiling", {"batch_size": 0}), "tiling.batch_size: "),
    "rules": (load_rules, {"name": "p"}, ("cmr", {"fade_out_m": -1}), "cmr.fade_out_m: must be >= 0"),
    "training": (load_train_config, {"train": {"synth": {"seeds": [1]}}}, ("epochs", -1), "epochs: must be >= 0"),
    "card": (lambda p: read_card(p.parent), _valid_card(), ("tile_px", 0), "tile_px: must be >= 1"),
}
CLASSES_OF = {"survey": SurveySettings, "rules": HazardRules, "training": TrainConfig, "card": ModelCard}


def _write(tmp_path: Path, kind: str, data: dict) -> Path:
    path = tmp_path / (CARD_FILE if kind == "card" else "c.yaml")
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_versioned_and_reads_files_without_a_version_as_1(tmp_path, kind):
    load, valid, _, _ = KINDS[kind]
    assert "schema_version" not in valid
    got = load(_write(tmp_path, kind, valid))
    assert (got["schema_version"] if kind == "card" else got.schema_version) == 1
    assert load(_write(tmp_path, kind, {"schema_version": 1, **valid})) == got
    with pytest.raises(RamsError) as err:
        load(path := _write(tmp_path, kind, {"schema_version": 2, **valid}))
    assert str(err.value) == f"{path}: schema_version: 2 is newer than this rams reads (up to 1); update rams"
    cls = CLASSES_OF[kind]
    current = next(f.default for f in dataclasses.fields(cls) if f.name == "schema_version")
    assert current == 1 and set(cls.UPGRADES) == set(range(FIRST_SCHEMA_VERSION, current))


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_refuses_unknown_keys_and_impossible_values_naming_file_and_key(tmp_path, kind):
    load, valid, (key, value), message = KINDS[kind]
    with pytest.raises(RamsError) as err:
        load(path := _write(tmp_path, kind, {**valid, "colour_mode": "x"}))
    assert str(err.value).startswith(f"{path}: unknown key 'colour_mode' (known: ") and "\n" not in str(err.value)
    with pytest.raises(RamsError) as err:
        load(path := _write(tmp_path, kind, {**valid, key: value}))
    assert str(err.value).startswith(f"{path}: {message}") and "\n" not in str(err.value)


def test_the_card_view_is_the_upgraded_mapping():
    card = checked_card(_valid_card(), "card.yaml")
    assert list(card)[0] == "schema_version" and card["schema_version"] == 1 and card["tile_px"] == 64
    assert checked_card({**_valid_card(), "metrics": {"validation": {}}}, "card.yaml")["metrics"] == {"validation": {}}


# --- everything shipped loads --------------------------------------------------------------------


def _training_configs() -> list[Path]:
    configs = [p for p in configs_dir().rglob("*.yaml")
               if p.name not in ("survey.yaml", "cameras.yaml") and "hazards" not in p.parts]
    return sorted(configs + list((ROOT / "experiments").rglob("*.yaml")))


def test_shipped_survey_settings_and_rules_load():
    assert load_config(SurveySettings, configs_dir() / "survey.yaml").schema_version == 1
    profiles = sorted((configs_dir() / "hazards").glob("*.yaml"))
    assert profiles and all(load_rules(p).schema_version == 1 for p in profiles)


@pytest.mark.parametrize("path", _training_configs(), ids=lambda p: p.name)
def test_shipped_training_configs_load(path):
    cfg = load_train_config(path)
    assert cfg.schema_version == 1 and (cfg.train.flights or cfg.train.synth.seeds)


@pytest.mark.parametrize("folder", sorted(p.parent for p in models_dir().glob(f"*/{CARD_FILE}")), ids=lambda p: p.name)
def test_shipped_cards_load(folder):
    card = read_card(folder)
    assert card["schema_version"] == 1 and card["name"] == folder.name
