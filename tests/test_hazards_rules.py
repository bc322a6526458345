from pathlib import Path

import pytest
import yaml

from rams.errors import RamsError
from rams.hazards.rules import HazardRules, load_rules, rules_from_dict, rules_to_dict

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "hazards"


def test_default_profile_matches_builtin_defaults():
    assert load_rules(CONFIGS / "default.yaml") == HazardRules()


def test_azerbaijan_profile_utm38n_and_50m_margins():
    rules = load_rules(CONFIGS / "azerbaijan.yaml")
    assert rules.expected_crs == "EPSG:32638"
    assert rules.cmr.fade_out_m == 50.0
    assert rules.fortification.trench_buffer_m == 50.0
    assert rules.fortification.position_buffer_m == 50.0
    assert rules.cmr.isolated_fade_out_m == 5.0


def test_round_trip_through_dict():
    rules = load_rules(CONFIGS / "azerbaijan.yaml")
    assert rules_from_dict(rules_to_dict(rules)) == rules


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"cmr": {"fade_out_metres": 10}}, "cmr.fade_out_metres"),
        ({"fortification": {"mine_buffer_m": 10}}, "fortification.mine_buffer_m"),
        ({"margin_m": 50}, "margin_m"),
    ],
)
def test_unknown_key_is_named_with_the_file(tmp_path, data, key):
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(RamsError) as err:
        load_rules(path)
    assert key in str(err.value)
    assert str(path) in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"cmr": {"fade_out_m": -5}}, "cmr.fade_out_m"),
        ({"cmr": {"neighbour_distance_m": 0}}, "cmr.neighbour_distance_m"),
        ({"cmr": {"min_samples": 0}}, "cmr.min_samples"),
        ({"cmr": {"min_samples": 2.5}}, "cmr.min_samples"),
        ({"cmr": {"concave_ratio": 1.5}}, "cmr.concave_ratio"),
        ({"cmr": {"outline": "blob"}}, "cmr.outline"),
        ({"cmr": {"min_confidence": "high"}}, "cmr.min_confidence"),
        ({"cmr": {"isolated_item_radius_m": True}}, "cmr.isolated_item_radius_m"),
        ({"cmr": {"isolated_fade_out_m": -1}}, "cmr.isolated_fade_out_m"),
        ({"cmr": {"fade_out_m": 10, "isolated_fade_out_m": 20}}, "cmr.isolated_fade_out_m"),
        ({"fortification": {"trench_buffer_m": -1}}, "fortification.trench_buffer_m"),
        ({"fortification": {"position_buffer_m": float("nan")}}, "fortification.position_buffer_m"),
        ({"expected_crs": "EPSG:4326"}, "expected_crs"),
        ({"expected_crs": "not a crs"}, "expected_crs"),
    ],
)
def test_impossible_value_is_named(data, key):
    with pytest.raises(RamsError, match=key.replace(".", r"\.")):
        rules_from_dict(data, "rules.yaml")


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(RamsError, match="cannot read"):
        load_rules(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("cmr: [unclosed")
    with pytest.raises(RamsError, match="not valid YAML"):
        load_rules(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n")
    with pytest.raises(RamsError, match="mapping"):
        load_rules(listed)
