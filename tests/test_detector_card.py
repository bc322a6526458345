"""Model cards (rams.detector.card): typed and validated on read and before they are written."""

from __future__ import annotations

import pytest
import torch
import yaml

from rams.detector.card import CARD_FILE, read_card, save_model
from rams.detector.model import build_model
from rams.errors import RamsError

CARD = {"name": "t", "classes": ["trench", "position", "submunition"], "input_bands": ["red", "green", "blue"],
        "normalisation": {}, "gsd_range_m": [0.02, 0.04], "tile_px": 64, "overlap_px": 16,
        "arch": {"widths": [8, 8, 8, 8, 8]}}


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(CARD["arch"]).eval()


def test_saved_cards_carry_schema_version_first_and_read_back(tmp_path):
    card = save_model(tmp_path / "m", _model(), CARD)
    written = (tmp_path / "m" / CARD_FILE).read_text()
    assert written.startswith("schema_version: 1\n") and card["schema_version"] == 1
    assert read_card(tmp_path / "m") == card == yaml.safe_load(written)


def test_free_form_sections_and_metrics_are_optional(tmp_path):
    save_model(tmp_path / "bare", _model(), CARD)  # no metrics, limitations, training
    free = {**CARD, "limitations": ["not for snow"], "training": {"note": "x", "config": {"any": [1]}},
            "metrics": {"validation": {"submunition": {"f1": 0.5}}}}
    assert read_card(tmp_path / "bare")["name"] == "t"
    assert save_model(tmp_path / "free", _model(), free)["limitations"] == ["not for snow"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"weights_url": "x"}, "unknown key 'weights_url' (known: arch, calibration, classes,"),
        ({"tile_px": 0}, "tile_px: must be >= 1, got 0"),
        ({"gsd_range_m": [0.04, 0.02]}, "gsd_range_m: min must not exceed max"),
        ({"kind": "classifier"}, "kind: must be detector or verifier"),
        ({"outputs": ["craters"]}, "outputs: must be a non-empty subset"),
        ({"postprocess": {"threshold": "high"}}, "postprocess.threshold: must be a number"),
        ({"limitations": "none"}, "limitations: must be a list"),
        ({"input_dtype": "float32"}, "input_dtype: must be uint8"),
    ],
)
def test_impossible_cards_are_refused_in_one_line_naming_file_and_key(tmp_path, change, message):
    save_model(tmp_path / "m", _model(), CARD)
    path = tmp_path / "m" / CARD_FILE
    path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), **change}))
    with pytest.raises(RamsError) as err:
        read_card(tmp_path / "m")
    assert str(err.value).startswith(f"{path}: {message}") and "\n" not in str(err.value)
    with pytest.raises(RamsError, match=message.split(" (")[0].replace("[", r"\[")):
        save_model(tmp_path / "again", _model(), {**CARD, **change})  # never written either


def test_required_keys_and_the_weights_hash(tmp_path):
    save_model(tmp_path / "m", _model(), CARD)
    path = tmp_path / "m" / CARD_FILE
    card = yaml.safe_load(path.read_text())
    path.write_text(yaml.safe_dump({k: v for k, v in card.items() if k != "arch"}))
    with pytest.raises(RamsError, match=r"card\.yaml: arch: missing \(required\)"):
        read_card(tmp_path / "m")
    path.write_text(yaml.safe_dump({**card, "sha256": "abc"}))
    with pytest.raises(RamsError, match=r"card\.yaml: sha256: must be 64 hexadecimal digits"):
        read_card(tmp_path / "m")
