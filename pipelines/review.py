"""`rams review SURVEY.gpkg`: a person confirms or rejects every detection, and the records follow.

Three jobs over one survey GeoPackage:

- :func:`review` serves the review application (rams.review.server) until the reviewer
  finishes or the command is interrupted, then applies the reviews;
- :func:`import_decisions` takes decisions from a CSV (a team that reviewed in QGIS), all of
  them or none;
- :func:`apply_reviews` writes the decisions in force into the detection layers and
  recomputes the hazard layers from the reviewed evidence with the survey's own hazard rules
  (rams.hazards, the input's areas as ``previous``, so areas whose evidence persists keep their
  ids), then regenerates the report when the flight is at hand.

Decisions live in the file's ``reviews`` table (rams.review.store) from the moment they are
made; applying them rewrites the GeoPackage atomically with the table carried over.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import webbrowser
from pathlib import Path

from rams.errors import RamsError
from rams.export import write_geopackage
from rams.flight import Flight, open_flight
from rams.hazards import HazardRules, hazard_layers
from rams.hazards.rules import rules_from_dict
from rams.pipelines.hazards import DETECTION_LAYERS, INPUT_LAYERS, PREVIOUS_LAYER, read_survey, with_fids
from rams.report import render_report
from rams.report.stats import review_counts
from rams.review import store
from rams.review.decisions import latest, read_csv, utc_now
from rams.review.items import thresholds
from rams.review.records import reviewed_layers
from rams.review.server import ReviewServer, ReviewSession

log = logging.getLogger(__name__)


def find_flight(survey: Path, metadata: dict[str, str], flight: str | os.PathLike | None) -> Path | None:
    """The flight a survey came from: ``flight`` when given, else the ``flight_path`` its
    metadata records (relative paths tried from the working folder, then the survey's)."""
    if flight is not None:
        path = Path(flight)
        if not path.is_file():
            raise RamsError(path, "no such flight file")
        return path
    recorded = metadata.get("flight_path", "")
    for path in (Path(recorded), survey.parent / recorded, survey.parent / Path(recorded).name):
        if recorded and path.is_file():
            return path
    return None


def open_review(survey: str | os.PathLike, *, flight: str | os.PathLike | None = None,
                reviewer: str | None = None, port: int = 0) -> ReviewServer:
    """The review server of ``survey`` (not yet serving: call ``serve_forever``), on 127.0.0.1
    at ``port`` (0: a free one). ``flight`` overrides the flight the survey's metadata names;
    ``reviewer`` defaults to the login name."""
    src = Path(survey)
    frames, metadata = read_survey(src)
    found = find_flight(src, metadata, flight)
    if found is None:
        raise RamsError(src, f"its flight {metadata.get('flight_path') or '(not recorded)'} is not there; "
                             "give it with --flight F.tif")
    native = open_flight(found)
    layers = {name: _in_crs(frames[name], native) for name in (*DETECTION_LAYERS, "coverage", PREVIOUS_LAYER)}
    store.record(src, [])  # the table exists (and the file is writable) before anyone reviews
    session = ReviewSession(src, native, layers, thresholds(metadata), reviewer or getpass.getuser())
    return ReviewServer(session, port)


def review(survey: str | os.PathLike, *, flight: str | os.PathLike | None = None, reviewer: str | None = None,
           port: int = 0, browser: bool = True, report: str | os.PathLike | None = None) -> dict:
    """Serve the review of ``survey`` until the reviewer finishes (``q`` in the page) or the
    command is interrupted, then apply the reviews (:func:`apply_reviews`); returns its counts.
    The page's address (with the session token) is printed, and opened in the browser unless
    ``browser`` is False."""
    server = open_review(survey, flight=flight, reviewer=reviewer, port=port)
    print(f"Review {Path(survey).name} at {server.url}  (q in the page, or Ctrl-C here, to finish)", flush=True)
    if browser:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("interrupted: applying the decisions made so far")
    finally:
        server.server_close()
    return apply_reviews(survey, flight=flight, report=report)


def import_decisions(survey: str | os.PathLike, decisions_csv: str | os.PathLike) -> int:
    """Add the decisions of ``decisions_csv`` (rams.review.decisions.read_csv) to the reviews
    table of ``survey`` in one transaction: every row or, on any bad row, none (a `RamsError`
    naming the row). Returns how many decisions were new."""
    src = Path(survey)
    frames, _ = read_survey(src)
    fids = {name: {int(f) for f in frames[name].index} for name in DETECTION_LAYERS}
    added = store.record(src, read_csv(decisions_csv, fids))
    log.info("%s: %d decisions imported from %s", src, added, decisions_csv)
    return added


def apply_reviews(survey: str | os.PathLike, *, flight: str | os.PathLike | None = None,
                  report: str | os.PathLike | None = None) -> dict:
    """Apply the decisions in force to ``survey`` in place: the detection layers get
    ``review_status``, ``reviewer``, ``reviewed_at`` (and a confirmed submunition ``evidence``
    "direct"); the hazard layers are recomputed from the reviewed evidence with the rules the
    survey recorded, keeping the ids of areas whose evidence persists, ``proposed_status`` CHA
    where a confirmed item is evidence. The file is rewritten and renamed into place while
    holding its write lock, the reviews table carried over. The report is regenerated with the
    review state at ``report`` (default: the report the survey's chips name, else
    ``<survey>.html``) when the flight is found, otherwise skipped with a warning.
    Returns counts: decisions applied and each layer's review states."""
    src = Path(survey)
    with store.held(src):
        frames, metadata = read_survey(src)
        decisions = store.read(src)
        in_force = latest(decisions)
        layers = {name: frames[name] for name in INPUT_LAYERS}
        layers.update(reviewed_layers(frames, in_force))
        rules = _recorded_rules(src, metadata)
        layers.update(hazard_layers(layers, rules, flight_id=metadata.get("flight_id") or src.stem,
                                    survey_date=metadata.get("survey_date", ""), model=metadata.get("model", ""),
                                    previous=frames[PREVIOUS_LAYER]))
        metadata.pop("schema_version", None)
        metadata.update({"reviews_applied": str(len(in_force)), "reviews_applied_at": utc_now()})
        written = {name: with_fids(frame) if name in INPUT_LAYERS else frame for name, frame in layers.items()}
        write_geopackage(src, written, metadata, finish=lambda temp: store.copy_into(decisions, temp))
    counts = _counts(layers, len(in_force))
    log.info("%s: %d decisions applied; hazard areas %d (%d proposed CHA)", src, len(in_force),
             counts["hazard_areas"], counts["proposed_cha"])
    found = find_flight(src, metadata, flight)
    if found is None:
        log.warning("%s: the flight %s is not there: the report was not regenerated (give --flight F.tif)",
                    src, metadata.get("flight_path") or "(not recorded)")
        return counts
    out = Path(report) if report is not None else _report_path(src, layers)
    native = open_flight(found)
    drawn = render_report(native, layers)
    drawn.write(out, {"flight_id": metadata.get("flight_id", ""), "flight": str(found),
                      "model": metadata.get("model", ""), "reviews_applied": len(in_force),
                      "reviews_applied_at": metadata["reviews_applied_at"]})
    counts["report"] = str(out)
    return counts


def _recorded_rules(src: Path, metadata: dict[str, str]) -> HazardRules:
    """The hazard rules the survey recorded (defaults when it recorded none)."""
    recorded = metadata.get("hazard_rules_config")
    if not recorded:
        return HazardRules()
    try:
        data = json.loads(recorded)
    except json.JSONDecodeError as err:
        raise RamsError(src, f"its recorded hazard rules are not JSON: {err}") from err
    return rules_from_dict(data, f"{src} (hazard_rules_config)")


def _report_path(src: Path, layers: dict) -> Path:
    chips = layers["submunitions"].get("chip")
    named = [str(c).split("#", 1)[0] for c in (chips if chips is not None else []) if c and str(c).strip()]
    return src.parent / (named[0] if named else f"{src.stem}.html")


def _counts(layers: dict, applied: int) -> dict:
    counts: dict = {"decisions": applied, **review_counts(layers)}
    areas = layers["hazard_areas"]
    counts["hazard_areas"] = len(areas)
    counts["proposed_cha"] = int((areas["proposed_status"] == "CHA").sum())
    return counts


def _in_crs(frame, flight: Flight):
    if frame.crs is not None and not frame.empty and frame.crs != flight.crs:
        return frame.to_crs(flight.crs)
    return frame
