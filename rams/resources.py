"""What the package carries besides code: the shipped models and the default configurations.

Both are found through importlib.resources, so rams works the same from a wheel installed
anywhere as from a checkout; nothing is looked up relative to a working directory.
"""

from __future__ import annotations

import os
from importlib.resources import as_file, files
from pathlib import Path

#: The survey settings used when ``--config`` is not given (defaults of :class:`SurveySettings`).
SURVEY_CONFIG = "survey.yaml"


def _folder(package: str) -> Path:
    """A data package's folder on disk (installed packages are plain folders: no zip imports)."""
    with as_file(files(package)) as path:
        return Path(path)


def models_dir() -> Path:
    """Where named models live: ``$RAMS_MODELS_DIR`` when set, else the shipped models."""
    env = os.environ.get("RAMS_MODELS_DIR")
    return Path(env) if env else _folder("rams.models")


def configs_dir() -> Path:
    """The default configurations: ``survey.yaml``, ``hazards/*.yaml`` and the model recipes."""
    return _folder("rams.configs")


def hazard_rules_path(name: str | os.PathLike[str]) -> Path:
    """A hazard-rules profile by name (``configs/hazards/NAME.yaml``, shipped) or a YAML path."""
    path = Path(name)
    return path if path.suffix in (".yaml", ".yml") else configs_dir() / "hazards" / f"{path}.yaml"
