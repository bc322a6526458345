"""A tiny training run, resume, and `rams evaluate` end to end."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from detector_fixtures import make_flight

from rams.cli.main import main
from rams.detector.model import build_model
from rams.training.augment import AugmentConfig, augment_batch
from rams.training.config import TrainConfig, load_config
from rams.training.data import load_labelled_flight, sample_batch
from rams.training.detector_trainer import chip_batches, detection_loss, train


def test_tiny_training_lowers_the_loss(tmp_path) -> None:
    torch.manual_seed(0)
    fl = load_labelled_flight(*make_flight(tmp_path))
    img, tgt = sample_batch(
        [fl], np.random.default_rng(0), 4, 64, {"submunition": 1, "position": 1, "trench": 1}, (0.03, 0.03), 0.0
    )
    x, y = augment_batch(img, tgt, torch.Generator().manual_seed(0), AugmentConfig())
    model = build_model({"widths": [8, 8, 16, 16, 16]})
    opt = torch.optim.AdamW(model.parameters(), lr=5e-3)
    losses = []
    for _ in range(25):
        loss, _ = detection_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert np.mean(losses[-3:]) < 0.6 * np.mean(losses[:3])


def test_chip_batches_cut_by_worker_processes_are_complete_and_reproducible(tmp_path) -> None:
    fl = load_labelled_flight(*make_flight(tmp_path))
    cfg = TrainConfig(steps_per_epoch=5, batch_size=3, chip_px=48)
    here = list(chip_batches([fl], cfg, epoch=0))
    forked = dataclasses.replace(cfg, loader_workers=2)
    once, again = list(chip_batches([fl], forked, epoch=0)), list(chip_batches([fl], forked, epoch=0))
    assert len(here) == len(once) == 5
    assert all(img.shape == (3, 3, 48, 48) and img.dtype == torch.uint8 and tgt.shape == (3, 3, 48, 48)
               for img, tgt in once)
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(once, again, strict=True))
    assert not torch.equal(once[1][0], once[2][0])  # each worker draws its own chips
    assert not torch.equal(once[0][0], list(chip_batches([fl], forked, epoch=1))[0][0])


def test_train_resume_and_evaluate_cli(tmp_path) -> None:
    make_flight(tmp_path)
    cfg_path = tmp_path / "t.yaml"
    cfg_path.write_text(
        "name: tiny\nseed: 1\ntrain: {flights: [{tif: hand.tif, labels: hand.labels.gpkg}]}\n"
        "val: {flights: [{tif: hand.tif, labels: hand.labels.gpkg}]}\nchip_px: 64\n"
        "batch_size: 2\nepochs: 1\nsteps_per_epoch: 2\nwarmup_steps: 1\ntile_px: 128\n"
        "overlap_px: 32\narch: {widths: [8, 8, 8, 8, 8]}\nthreads: 1\n"
    )
    out = tmp_path / "run"
    model_dir = train(load_config(cfg_path), out)
    state = json.loads((out / "state.json").read_text())
    assert state["epoch"] == 1 and (model_dir / "card.yaml").is_file()
    expected = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    assert yaml.safe_load((model_dir / "card.yaml").read_text())["training"]["device"] == expected
    cfg2 = tmp_path / "t2.yaml"
    cfg2.write_text(cfg_path.read_text().replace("epochs: 1", "epochs: 2"))
    train(load_config(cfg2), out, resume=True)
    assert [h["epoch"] for h in json.loads((out / "state.json").read_text())["history"]] == [1, 2]
    cfg3 = tmp_path / "t3.yaml"  # keep: last saves the final epoch's model, here on a resume after it
    cfg3.write_text(cfg2.read_text() + "keep: last\n")
    train(load_config(cfg3), out, resume=True)
    last = yaml.safe_load((model_dir / "card.yaml").read_text())
    assert last["training"]["epoch"] == 2
    assert last["postprocess"]["peak_threshold"] == json.loads((out / "state.json").read_text())["history"][-1][
        "peak_threshold"]

    report = tmp_path / "report.json"
    rc = main(
        [
            "evaluate",
            "--model",
            str(model_dir),
            "--flight",
            str(tmp_path / "hand.tif"),
            "--labels",
            str(tmp_path / "hand.labels.gpkg"),
            "--out",
            str(report),
        ]
    )
    assert rc == 0
    metrics = json.loads(report.read_text())["metrics"]
    assert set(metrics) == {"submunition", "position", "trench"}
    assert 0 <= metrics["submunition"]["precision"] <= 1
    ground = json.loads(report.read_text())["submunition_by_ground"]  # the flight has a trench and a position
    assert set(ground) == {"in_earthworks", "open_ground"}
    for k in ("tp", "fp", "fn"):
        assert sum(split[k] for split in ground.values()) == metrics["submunition"][k]
    args = ["evaluate", "--model", str(model_dir), "--flight", str(tmp_path / "hand.tif"), "--labels",
            str(tmp_path / "hand.labels.gpkg"), "--out", str(report), "--overwrite", "--position-threshold", "0.999",
            "--record", "test"]
    assert main(args) == 0
    strict = json.loads(report.read_text())["metrics"]["position"]
    assert strict["tp"] + strict["fp"] <= metrics["position"]["tp"] + metrics["position"]["fp"]
    recorded = yaml.safe_load((model_dir / "metrics.yaml").read_text())["test"]["hand.tif"]
    assert "test" not in yaml.safe_load((model_dir / "card.yaml").read_text())["metrics"]  # the card keeps none
    assert "--position-threshold 0.999" in recorded["command"]
    flight_report = json.loads(report.read_text())
    assert flight_report["model_sha256"] == yaml.safe_load((model_dir / "card.yaml").read_text())["sha256"]
    assert recorded["networks"] == {"model": flight_report["model"], "model_sha256": flight_report["model_sha256"]}
    assert all(recorded["position"][k] == strict[k] for k in ("tp", "fp", "fn"))
    assert main(args[:-2] + ["--position-min-area", "1e6"]) == 0  # no position is that large
    none = json.loads(report.read_text())["metrics"]["position"]
    assert none["tp"] + none["fp"] == 0 and none["fn"] == metrics["position"]["tp"] + metrics["position"]["fn"]

    # several flights (labels found beside them): each flight's report, and the counts pooled
    hand = str(tmp_path / "hand.tif")
    assert main(["evaluate", "--model", str(model_dir), "--flight", hand, hand, "--out", str(report),
                 "--overwrite", "--record", "pool"]) == 0
    both = json.loads(report.read_text())
    assert [r["metrics"] for r in both["flights"]] == [metrics, metrics]
    pooled = both["pooled"]["metrics"]
    for cls in ("submunition", "position"):
        assert [pooled[cls][k] for k in ("tp", "fp", "fn")] == [2 * metrics[cls][k] for k in ("tp", "fp", "fn")]
        assert pooled[cls]["f1"] == pytest.approx(metrics[cls]["f1"])
        # the same flight twice: every draw of flights scores alike, so the interval is the value
        ci = both["pooled"]["intervals"][cls]
        assert ci["f1_low"] == pytest.approx(metrics[cls]["f1"]) == pytest.approx(ci["f1_high"])
    assert pooled["trench"]["true_length_m"] == pytest.approx(2 * metrics["trench"]["true_length_m"])
    first = both["flights"][0]["hazards"]
    assert both["pooled"]["hazards"]["lowest submunition_coverage"] == first["submunition_coverage"]
    card = yaml.safe_load((model_dir / "metrics.yaml").read_text())["pool"]
    assert set(card) == {"hand.tif", "pooled"} and card["pooled"]["command"].count("hand.tif") == 2
    assert card["pooled"]["submunition"]["tp"] == pooled["submunition"]["tp"]
    assert card["pooled"]["submunition_interval95"]["recall_low"] == pytest.approx(
        pooled["submunition"]["recall"], abs=1e-4)
    one_label = ["--labels", str(tmp_path / "hand.labels.gpkg")]
    assert main(["evaluate", "--model", str(model_dir), "--flight", hand, hand, *one_label]) == 2


#: Seeds of the held-out test flights the shipped models' cards report on (3001-3010, 3101-3130,
#: 3201-3240).
TEST_SEEDS = set(range(3001, 3011)) | set(range(3101, 3131)) | set(range(3201, 3241))
ROOT = Path(__file__).parents[1]
#: Every training config: the shipped models' recipes and the experiments' configs.
TRAINING_CONFIGS = sorted([*(ROOT / "configs" / "recipes").glob("*/*.yaml"),
                           *(ROOT / "experiments" / "configs").glob("*.yaml")])


def test_every_model_recipe_and_experiment_has_training_configs() -> None:
    recipes = {p.parent.name for p in TRAINING_CONFIGS if p.parent.parent.name == "recipes"}
    assert {"rams-det-v2", "rams-ver-v10", "rams-ctx-v1", "rams-ctx-dsm-v1"} <= recipes
    assert any(p.parent.parent.name == "experiments" for p in TRAINING_CONFIGS)
    assert not [p.name for p in (ROOT / "configs").glob("*.yaml") if p.name not in ("survey.yaml", "cameras.yaml")]


@pytest.mark.parametrize("path", TRAINING_CONFIGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_training_configs_parse_and_hold_out_the_test_seeds(path: Path) -> None:
    cfg = load_config(path)
    seeds = set(cfg.train.synth.seeds) | set(cfg.val.synth.seeds)
    seeds |= set(range(cfg.object_first_seed, cfg.object_first_seed + cfg.object_scenes))
    assert not seeds & TEST_SEEDS
    assert not any("test" in Path(t).name for t, _ in cfg.train.flights + cfg.val.flights)
