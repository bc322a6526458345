"""`rams compare`: two models' evaluation reports of the same flights, differenced with paired ranges."""

from __future__ import annotations

import json

import pytest
from evaluation_fixtures import report_row

from rams.cli.main import main
from rams.evaluation.metrics import bootstrap_difference


def test_paired_difference_of_a_model_that_finds_one_more_item_on_everyreport_row() -> None:
    before = [{"submunition": {"tp": t, "fp": 1, "fn": 3}} for t in (2, 5, 1, 4)]
    after = [{"submunition": {"tp": t + 1, "fp": 1, "fn": 2}} for t in (2, 5, 1, 4)]
    d = bootstrap_difference(before, after, draws=500)["submunition"]
    assert d["recall"] == pytest.approx(16 / 24 - 12 / 24)
    assert d["precision"] == pytest.approx(16 / 20 - 12 / 16)
    assert 0 < d["recall_low"] <= d["recall"] <= d["recall_high"] and d["recall_above_zero"] == 1.0
    same = bootstrap_difference(before, before, draws=100)["submunition"]
    assert same["f1"] == same["f1_low"] == same["f1_high"] == 0.0 and same["f1_above_zero"] == 0.0
    with pytest.raises(ValueError, match="same two or more flights"):
        bootstrap_difference(before, after[:3])


def test_compare_pairs_the_flights_by_name_and_refuses_other_flights(tmp_path, capsys) -> None:
    names = ["a.tif", "b.tif", "c.tif"]
    before = {"flights": [report_row(n, 3, 2, 1, "old") for n in names]}
    after = {"flights": [report_row(n, 4, 1, 0, "new", verifier="ver-b") for n in reversed(names)]}
    paths = [tmp_path / "before.json", tmp_path / "after.json"]
    for path, report in zip(paths, (before, after), strict=True):
        path.write_text(json.dumps(report))
    out = tmp_path / "diff.json"
    assert main(["compare", *map(str, paths), "--out", str(out)]) == 0
    diff = json.loads(out.read_text())
    assert diff["flights"] == names
    assert diff["difference"]["submunition"]["precision"] == pytest.approx(12 / 15 - 9 / 15)
    assert diff["difference"]["submunition"]["recall"] == pytest.approx(1 - 9 / 12)
    assert diff["difference"]["trench"]["f1"] == 0.0
    shown = capsys.readouterr().out
    # the networks behind each report, a verifier included: the same model may carry another one
    assert "new (abababababab) [verifier ver-b (cdcdcdcdcdcd)] against old (abababababab) on 3 flights" in shown
    assert "+0.200" in shown

    other = tmp_path / "other.json"
    other.write_text(json.dumps({"flights": [report_row(n, 4, 1, 0, "new") for n in ("a.tif", "b.tif", "d.tif")]}))
    assert main(["compare", str(paths[0]), str(other)]) == 2
    assert f"{other}: not the same flights as the first report (c.tif, d.tif)" in capsys.readouterr().err
    rescored = tmp_path / "rescored.json"
    rescored.write_text(json.dumps({"flights": [{**report_row(n, 4, 1, 0, "new"), "matching": {"match_radius_m": 0.5}}
                                                for n in names]}))
    assert main(["compare", str(paths[0]), str(rescored)]) == 2
    assert "scored with other matching rules" in capsys.readouterr().err
    single = tmp_path / "single.json"
    single.write_text(json.dumps(before["flights"][0]))
    assert main(["compare", str(single), str(paths[1])]) == 2
    assert f"{single}: not a rams evaluate report of two or more flights" in capsys.readouterr().err
    assert not (tmp_path / "diff.json.tmp").exists()
