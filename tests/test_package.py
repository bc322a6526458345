"""The package as installed: one import package, data found through it, the library's front."""

from __future__ import annotations

import subprocess
import sys

import rams
from rams.resources import configs_dir, hazard_rules_path, models_dir

SHIPPED = {"rams-det-v2", "rams-ver-v10", "rams-ctx-v1", "rams-det-dsm-v1", "rams-ctx-dsm-v1"}


def test_models_and_configs_come_from_the_package() -> None:
    assert {p.name for p in models_dir().iterdir() if (p / "card.yaml").is_file()} == SHIPPED
    assert (configs_dir() / "survey.yaml").is_file()
    assert hazard_rules_path("default") == configs_dir() / "hazards" / "default.yaml"
    assert hazard_rules_path("default").is_file()


def test_the_jobs_are_library_functions() -> None:
    from rams.pipelines.evaluate import evaluate
    from rams.pipelines.survey import survey
    from rams.pipelines.synth import synth

    assert (rams.survey, rams.evaluate, rams.synth) == (survey, evaluate, synth)
    assert all(f.__doc__ for f in (survey, evaluate, synth))


def test_the_survey_path_imports_neither_training_nor_synthesis() -> None:
    """Inference stands alone: a survey loads no training, evaluation or synthetic-flight code."""
    code = ("import sys, rams.pipelines.survey, rams.detect; "
            "print(sorted(m for m in sys.modules if m.startswith(('rams.training', 'rams.synthetic', "
            "'rams.evaluation'))))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_import_rams_is_light() -> None:
    code = "import sys, rams; print(sorted(m for m in ('torch', 'dask', 'rasterio') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"
