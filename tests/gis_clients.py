"""Debian's GDAL and QGIS, driven as GIS staff would, for tests of the GeoPackages rams writes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with python3-gdal and QGIS bindings
QGIS_PROCESS = "/usr/bin/qgis_process.bin"
# Debian's programs must not find the project's Python first on PATH: QGIS' embedded
# interpreter would load that one's standard library and crash.
QGIS_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": os.environ.get("HOME", "/tmp"),
    "LANG": "C.UTF-8",
    "QT_QPA_PLATFORM": "offscreen",
}


def _system_python_has(module: str) -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", f"import {module}"], capture_output=True)
    return probe.returncode == 0


def assert_gdal_validates(gpkg: Path) -> None:
    """GDAL's GeoPackage conformance validator accepts ``gpkg`` without a warning."""
    if not _system_python_has("osgeo_utils.samples.validate_gpkg"):
        pytest.skip("GDAL's GeoPackage validator (Debian python3-gdal) is not installed")
    result = subprocess.run(
        [SYSTEM_PYTHON, "-m", "osgeo_utils.samples.validate_gpkg", "--extra", str(gpkg)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "", result.stdout  # --extra warnings are printed, not fatal


# Runs in Debian's python3 (the project's Python has no QGIS bindings): loads every layer,
# reports validity, feature count, renderer and the colour QGIS draws each feature with.
_QGIS_PROBE = """
import json, os, sys
from qgis.core import (
    QgsApplication, QgsExpressionContextUtils, QgsRenderContext, QgsVectorLayer,
)
app = QgsApplication([], False)
app.initQgis()
report = {}
for name in sys.argv[2:]:
    layer = QgsVectorLayer(f"{sys.argv[1]}|layername={name}", name, "ogr")
    renderer = layer.renderer()
    context = QgsRenderContext()
    scopes = QgsExpressionContextUtils.globalProjectLayerScopes(layer)
    context.expressionContext().appendScopes(scopes)
    renderer.startRender(context, layer.fields())
    colours = []
    for feature in layer.getFeatures():
        context.expressionContext().setFeature(feature)
        symbol = renderer.symbolForFeature(feature, context)
        colours.append(symbol.color().name(1) if symbol else None)  # 1: QColor.HexArgb
    renderer.stopRender(context)
    symbols = renderer.symbols(context)  # keep the list alive while reading its layers
    report[name] = {
        "valid": layer.isValid(),
        "count": layer.featureCount(),
        "renderer": renderer.type(),
        "colours": colours,
        "symbol": dict(symbols[0].symbolLayer(0).properties()),
    }
print(json.dumps(report), flush=True)
os._exit(0)  # QGIS 3.22's teardown can crash after the work is done; skip it

"""


def qgis_report(gpkg: Path, layers: list[str]) -> dict[str, dict]:
    if not (Path(QGIS_PROCESS).exists() and _system_python_has("qgis.core")):
        pytest.skip("QGIS (Debian qgis, python3-qgis) is not installed")
    result = subprocess.run(
        [SYSTEM_PYTHON, "-c", _QGIS_PROBE, str(gpkg), *layers],
        capture_output=True,
        text=True,
        env=QGIS_ENV,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def assert_qgis_finds_no_invalid_geometries(gpkg: Path, counts: dict[str, int]) -> None:
    """qgis_process' validity check finds every feature of each non-empty layer valid."""
    if not Path(QGIS_PROCESS).exists():
        pytest.skip("QGIS (Debian qgis) is not installed")
    # One qgis_process per layer, one after another: concurrent runs share (and crash on) the
    # QGIS profile. Empty layers have nothing to check.
    for name, count in counts.items():
        if not count:
            continue
        run = subprocess.run(
            [QGIS_PROCESS, "--json", "run", "qgis:checkvalidity",
             f"--INPUT_LAYER={gpkg}|layername={name}", "--METHOD=2",
             "--VALID_OUTPUT=TEMPORARY_OUTPUT", "--INVALID_OUTPUT=TEMPORARY_OUTPUT",
             "--ERROR_OUTPUT=TEMPORARY_OUTPUT"],
            capture_output=True, text=True, env=QGIS_ENV, timeout=120,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        results = json.loads(run.stdout)["results"]
        assert results["INVALID_COUNT"] == 0 and results["ERROR_COUNT"] == 0, name
        assert results["VALID_COUNT"] == count, name
