from dataclasses import replace

import pytest

from rams.config import load_config
from rams.errors import RamsError
from rams.settings import SurveySettings, calibrated


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
        ("tiling: {region_px: 10}\n", "tiling.region_px must be within"),
        ("tiling: {batch_size: 2.5}\n", "tiling.batch_size must be an integer"),
        ("detection: {nms_radius_m: yes}\n", "detection.nms_radius_m must be a number"),
        ("detection: [1, 2]\n", "detection must be a mapping"),
        ("tiling: {region_px: [\n", "not valid YAML"),
    ],
)
def test_errors_name_the_file_and_key(tmp_path, text, message):
    with pytest.raises(RamsError) as err:
        _load(tmp_path, text)
    assert message in str(err.value) and "c.yaml" in str(err.value)


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
