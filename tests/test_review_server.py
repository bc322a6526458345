"""`rams review` as a person uses it: a real survey of a synthetic flight, the real server on
127.0.0.1, Debian's chromium driven with the keyboard, decisions in the GeoPackage's reviews
table, then applied; the server's refusals; the command started and interrupted."""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pyogrio
import pytest
from devtools import Browser
from gis_clients import assert_gdal_validates

from rams.pipelines.review import apply_reviews, open_review
from rams.review import store


@pytest.fixture(scope="module")
def surveyed(tmp_path_factory) -> Path:
    """A survey GeoPackage (and its report) of a small synthetic flight, as `rams survey` writes it."""
    from rams.pipelines.survey import survey
    from rams.settings import SurveySettings, TilingSettings
    from rams.synthetic import generate_flight

    folder = tmp_path_factory.mktemp("survey")
    tif, _ = generate_flight(folder / "flight.tif", 1024, 1024, 0.03, 4242)
    settings = SurveySettings(tiling=TilingSettings(tile_px=512, region_px=512))
    survey(tif, folder / "survey.gpkg", settings=settings, report=folder / "report.html")
    return folder / "survey.gpkg"


@pytest.fixture
def survey_copy(surveyed, tmp_path) -> Path:
    for name in ("flight.tif", "survey.gpkg", "report.html"):
        shutil.copy(surveyed.parent / name, tmp_path / name)
    return tmp_path / "survey.gpkg"


@pytest.fixture
def server(survey_copy):
    srv = open_review(survey_copy, reviewer="ana")
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_ten_decisions_by_keyboard_persist_across_a_reload_and_are_applied(server, survey_copy, tmp_path):
    counts = {name: pyogrio.read_info(survey_copy, layer=name)["features"]
              for name in ("submunitions", "trenches", "positions")}
    total = sum(counts.values())
    assert total >= 12 and counts["trenches"] and counts["positions"]  # every layer is reviewable
    browser = Browser(server.url, tmp_path / "profile")
    try:
        browser.wait_for("document.body.dataset.ready === 'yes'")
        assert browser.evaluate("document.getElementById('progress').textContent").startswith(f"0 of {total} ")
        chip = browser.evaluate("document.querySelector('#chip img').naturalWidth")
        assert chip == 96  # a submunition chip: 96 flight px at the native 3 cm
        keys = "ccrcrurccr"  # confirm, reject, unsure
        seen = []
        for n, key in enumerate(keys, start=1):
            seen.append(browser.evaluate("document.body.dataset.current"))
            browser.press(key)
            browser.wait_for(f"document.body.dataset.reviewed === '{n}'")
        browser.press("z")  # undo the last (a reject) ...
        browser.wait_for("document.body.dataset.reviewed === '9'")
        assert browser.evaluate("document.body.dataset.current") == seen[-1]
        browser.press("r")  # ... and decide it again
        browser.wait_for("document.body.dataset.reviewed === '10'")
        assert len(set(seen)) == 10

        browser.send("Page.reload")
        browser.wait_for("document.body.dataset.reviewed === '10' && document.body.dataset.ready === 'yes'")
        assert browser.evaluate("document.getElementById('progress').textContent").startswith(f"10 of {total} ")
        resumed = browser.evaluate("document.body.dataset.current")
        assert resumed not in seen  # reopening resumes at the first undecided detection
        browser.press("q")  # finish: the server stops, the job applies
        server.finished.wait(10)
    finally:
        browser.close()

    decided = store.read(survey_copy)
    assert [(d.layer + "/" + str(d.fid), d.decision) for d in decided] == list(
        zip(seen, [{"c": "confirmed", "r": "rejected", "u": "unsure"}[k] for k in keys], strict=True))
    assert {d.reviewer for d in decided} == {"ana"}

    before = pyogrio.read_dataframe(survey_copy, layer="hazard_areas")
    result = apply_reviews(survey_copy)
    assert result["decisions"] == 10
    reviewed = {name: pyogrio.read_dataframe(survey_copy, layer=name, fid_as_index=True)
                for name in ("submunitions", "trenches", "positions")}
    for d in decided:
        row = reviewed[d.layer].loc[d.fid]
        assert (row["review_status"], row["reviewer"], row["reviewed_at"]) == (d.decision, "ana", d.reviewed_at)
        if d.layer == "submunitions":
            assert row["evidence"] == ("direct" if d.decision == "confirmed" else "indirect")
    assert sum(len(f) for f in reviewed.values()) == total  # rejected detections are kept, marked
    assert sum((f["review_status"] != "unreviewed").sum() for f in reviewed.values()) == 10
    after = pyogrio.read_dataframe(survey_copy, layer="hazard_areas")
    assert set(after["status"]) == {"SHA"} and "CHA" in set(after["proposed_status"])
    assert set(after["hazard_id"]) & set(before["hazard_id"])  # areas whose evidence persists keep their ids
    assert len(store.read(survey_copy)) == 10  # the table survives the rewrite
    page = (survey_copy.parent / "report.html").read_text()
    assert "Reviewed: 10 of" in page
    assert_gdal_validates(survey_copy)


def _get(srv, path: str, host: str | None = None) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=10)
    conn.request("GET", path, headers={"Host": host} if host else {})
    status = conn.getresponse().status
    conn.close()
    return status


def test_the_server_refuses_requests_without_the_token_or_outside_the_survey(server, survey_copy):
    token = server.session.token
    assert server.server_address[0] == "127.0.0.1"
    assert _get(server, f"/{token}/") == 200
    assert _get(server, f"/{token}/api/item/submunitions/1") == 200
    assert _get(server, "/") == 403
    assert _get(server, "/api/state") == 403
    assert _get(server, f"/{token[:-1]}x/api/state") == 403
    assert _get(server, f"/{token}/api/state", host="evil.example:80") == 403
    for path in ("../../../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd", "survey.gpkg", "flight.tif",
                 "api/item/metadata/1", "api/item/submunitions/99999", "api/item/..%2Fsurvey.gpkg/1",
                 f"/{survey_copy}"):
        assert _get(server, f"/{token}/{path}") == 404, path
    request = urllib.request.Request(f"{server.url}api/decision", method="POST",
                                     data=json.dumps({"layer": "metadata", "fid": 1, "decision": "confirmed"}).encode(),
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 400 and store.read(survey_copy) == []


def test_two_reviewers_writing_at_once_lose_nothing(survey_copy):
    from rams.review.decisions import Decision, utc_now

    def review(name: str) -> None:
        for fid in range(1, 41):
            store.record(survey_copy, [Decision("submunitions", fid, "unsure", name, utc_now())])

    with store.held(survey_copy):  # a third writer holds the lock while they start
        threads = [threading.Thread(target=review, args=(name,)) for name in ("ana", "ben")]
        for t in threads:
            t.start()
    for t in threads:
        t.join()
    rows = store.read(survey_copy)
    assert len(rows) == 80 and {r.reviewer for r in rows} == {"ana", "ben"}


def test_the_command_prints_its_address_and_applies_on_interrupt(survey_copy):
    proc = subprocess.Popen([sys.executable, "-m", "rams.cli.main", "review", str(survey_copy), "--no-browser",
                             "--reviewer", "cli"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        url = line.split(" at ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        request = urllib.request.Request(f"{url}api/decision", method="POST",
                                         data=json.dumps({"layer": "trenches", "fid": 1,
                                                          "decision": "confirmed"}).encode(),
                                         headers={"Content-Type": "application/json"})
        assert json.load(urllib.request.urlopen(request))["decision"]["reviewer"] == "cli"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    trenches = pyogrio.read_dataframe(survey_copy, layer="trenches", fid_as_index=True)
    assert trenches.loc[1, "review_status"] == "confirmed" and trenches.loc[1, "reviewer"] == "cli"
