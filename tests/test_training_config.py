"""Training configs (rams.training.config): typed, read beside their file, seeds as lists or ranges."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rams.errors import RamsError
from rams.training.config import Flight, load_config


def _load(tmp_path, text):
    path = tmp_path / "train.yaml"
    path.write_text(text)
    return load_config(path)


def test_seed_lists_accept_ranges_and_mixtures(tmp_path):
    cfg = _load(tmp_path, "train: {synth: {seeds: {first: 15001, count: 160}}}\n"
                          "val: {synth: {seeds: [2001, {first: 2011, count: 3}, 4001]}}\n")
    assert cfg.train.synth.seeds == tuple(range(15001, 15161))
    assert cfg.val.synth.seeds == (2001, 2011, 2012, 2013, 4001)
    assert _load(tmp_path, "train: {synth: {seeds: [3, 1, 2]}}\n").train.synth.seeds == (3, 1, 2)  # order kept


@pytest.mark.parametrize(
    "text, message",
    [
        ("train: {synth: {seeds: [1, {first: 5}]}}\n", "train.synth.seeds[1].count: missing (required)"),
        ("train: {synth: {seeds: [1, -1]}}\n", "train.synth.seeds[1]: must be >= 0, got -1"),
        ("train: {synth: {seeds: {first: 1, count: 4}}}\nval: {synth: {seeds: [{first: 4, count: 2}]}}\n",
         "val.synth.seeds: seeds [4] are in both train and val"),
        ("train: {synth: {seeds: [1]}}\nobject_scenes: 3\nobject_first_seed: 10\nval: {synth: {seeds: [12]}}\n",
         "val.synth.seeds: seeds [12] are in both train and val"),
        ("train: {flights: [{tif: a.tif}]}\n", "train.flights[0].labels: missing (required)"),
        ("train: {flights: [{tif: a.tif, labels: a.gpkg, dsm: a.dsm}]}\n", "unknown key 'train.flights[0].dsm'"),
        ("epochs: 3\n", "train: no training flights"),
        ("train: {synth: {seeds: [1], gsd_m: [0.04, 0.02]}}\n", "train.synth.gsd_m: min must not exceed max"),
        ("train: {synth: {seeds: [1]}}\nkind: judge\n", "kind: must be detector or verifier, got 'judge'"),
        ("train: {synth: {seeds: [1]}}\nkind: verifier\n", "candidates_from: a verifier needs"),
        ("train: {synth: {seeds: [1]}}\noutputs: [trench, crater]\n", "outputs: must be a non-empty subset"),
        ("train: {synth: {seeds: [1]}}\nsampling: {crater: 1}\n", "sampling.crater: unknown sample kind"),
        ("train: {synth: {seeds: [1]}}\ninput_bands: [red, green]\n", "input_bands: must be"),
        ("train: {synth: {seeds: [1]}}\norientations: 2\n", "orientations: must be 1, 4 or 8, got 2"),
        ("train: {synth: {seeds: [1]}}\naugment: {jpeg_p: 2}\n", "augment.jpeg_p: must be within [0, 1], got 2"),
        ("train: {synth: {seeds: [1]}}\naugment: {jpeg_quality: [90, 50]}\n", "augment.jpeg_quality: min must not"),
        ("train: {synth: {seeds: [1]}}\nlr: 0\n", "lr: must be > 0, got 0"),
    ],
)
def test_errors_name_the_file_and_key(tmp_path, text, message):
    with pytest.raises(RamsError) as err:
        _load(tmp_path, text)
    assert str(err.value).startswith(f"{tmp_path / 'train.yaml'}: ") and message in str(err.value)
    assert "\n" not in str(err.value)


def test_paths_are_read_beside_the_file(tmp_path):
    (tmp_path / "rams-det-x").mkdir()
    cfg = _load(tmp_path, "train: {flights: [{tif: a.tif, labels: a.gpkg}]}\ngsd_range_m: 0.03\n"
                          "init_from: rams-det-x\ncandidates_from: rams-det-v2\n")
    assert cfg.train.flights == (Flight(str(tmp_path / "a.tif"), str(tmp_path / "a.gpkg")),)
    assert cfg.cache_dir == str(tmp_path / "runs/synth-cache")  # the default too
    assert cfg.init_from == str(tmp_path / "rams-det-x")  # a folder beside the config
    assert cfg.candidates_from == "rams-det-v2"  # else a model name
    assert cfg.gsd_range_m == (0.03, 0.03)


def test_an_elevation_band_sizes_the_network(tmp_path):
    cfg = _load(tmp_path, "train: {synth: {seeds: [1]}}\ninput_bands: [red, green, blue, elevation]\n"
                          "arch: {widths: [8, 8, 8, 8, 8]}\n")
    assert cfg.arch["in_channels"] == 4 and cfg.arch["widths"] == [8, 8, 8, 8, 8] and len(cfg.arch["std"]) == 4


def test_real_ground_composites_are_listed_per_frame_and_gsd(tmp_path):
    from rams.training.config import real_ground_paths

    frames = tmp_path / "frames" / "caliterra"
    frames.mkdir(parents=True)
    for n in range(9420, 9431):  # 9425-9427 validation, 9428-9430 test
        (frames / f"IMG_{n}.jpg").touch()
    cfg = tmp_path / "c.yaml"
    cfg.write_text("kind: detector\ntrain:\n  real_ground: {frames_dir: frames, flights: [caliterra], "
                   "gsd_m: [0.01, 0.02], gsd_in_turn: true, seed: 7}\n")
    spec = load_config(cfg).train.real_ground
    listed = real_ground_paths(tmp_path / "cache", spec)
    assert [(f.stem, gsd, seed) for f, _, gsd, seed in listed] == [
        ("IMG_9420", 0.01, 7), ("IMG_9421", 0.02, 108), ("IMG_9422", 0.01, 207), ("IMG_9423", 0.02, 308),
        ("IMG_9424", 0.01, 407)]
    assert listed[1][1].name == "real-caliterra-IMG_9421-g0.0200-s108.tif"
    every = real_ground_paths(tmp_path / "cache", replace(spec, gsd_in_turn=False, split="test"))
    assert [(f.stem, gsd) for f, _, gsd, _ in every][:2] == [("IMG_9428", 0.01), ("IMG_9428", 0.02)]
    cfg.write_text(cfg.read_text().replace("seed: 7", "seed: 7, split: validation"))
    with pytest.raises(RamsError, match="training frames only"):
        load_config(cfg)
