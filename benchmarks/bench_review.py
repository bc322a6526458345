"""The review application's speed: how long the server takes to serve the next detection's
chip and context, and how long applying 1,000 decisions takes, hazard recomputation included.

    python benchmarks/bench_review.py [--size 2048] [--decisions 1000]

Chip latency: a synthetic flight (``--size`` px square at 3 cm, a COG with overviews, and the
same tiles without overviews as photogrammetry writes them) surveyed with the shipped model,
its review server on 127.0.0.1, and every detection's view requested over HTTP in review order,
as the page does: cold (drawn on request) and again warm (from the server's cache).
The page itself asks for the next three ahead while the reviewer looks at one. The same run's
baseline: a second server on the same survey whose views decode the flight on one thread, each
detection asked of both in turn (which goes first alternating, so that neither always finds the
file in the page cache).

Applying: a survey GeoPackage of 12 synthetic scenes of 300 m (about 1,500 submunitions in
strikes, trenches, positions) with its hazard areas, ``--decisions`` random decisions imported
from a CSV, then applied: layers marked, footprints and hazard areas recomputed, the file
rewritten (no flight: the report is timed in the first part's apply).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).parent / "data" / "review"


def surveyed(size: int) -> Path:
    from rams.pipelines.survey import survey
    from rams.synthetic import generate_flight

    out = DATA / f"survey-{size}.gpkg"
    if not out.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        tif, _ = generate_flight(DATA / f"flight-{size}.tif", size, size, 0.03, 4242)
        survey(tif, out, report=DATA / f"survey-{size}.html", overwrite=True)
    return out


def without_overviews(size: int) -> Path:
    """The surveyed flight as photogrammetry writes it: the same tiles, no overviews."""
    import rasterio.shutil

    out = DATA / f"flight-{size}-no-overviews.tif"
    if not out.exists():
        rasterio.shutil.copy(DATA / f"flight-{size}.tif", out, driver="GTiff", tiled=True, blockxsize=512,
                             blockysize=512, compress="deflate")
    return out


def chip_latency(size: int, overviews: bool = True) -> dict:
    import shutil

    from rams.pipelines.review import apply_reviews, open_review

    work = DATA / f"work-{size}.gpkg"
    shutil.copy(surveyed(size), work)
    flight = None if overviews else without_overviews(size)
    server = open_review(work, reviewer="bench", flight=flight)
    # the same run's baseline: a second server on the same survey, decoding on one thread
    single = open_review(work, reviewer="bench", flight=flight)
    single.session.views.decode_threads = 1
    for s in (server, single):
        threading.Thread(target=s.serve_forever, daemon=True).start()
    state = json.load(urllib.request.urlopen(server.url + "api/state"))
    order = [state["items"][k] for k in state["orders"]["uncertainty"]]

    def fetch(s, item: dict) -> float:
        start = time.perf_counter()
        urllib.request.urlopen(f"{s.url}api/item/{item['layer']}/{item['fid']}").read()
        return (time.perf_counter() - start) * 1000

    timings: dict[str, list[float]] = {"cold": [], "cold_one_thread": [], "warm": []}
    for k, item in enumerate(order):  # each item cold on both servers, which goes first alternating
        pair = [("cold", server), ("cold_one_thread", single)]
        for name, s in pair if k % 2 == 0 else pair[::-1]:
            timings[name].append(fetch(s, item))
    single.shutdown()
    for item in order:
        timings["warm"].append(fetch(server, item))
    decide_ms = []
    for item in order[:20]:
        body = json.dumps({"layer": item["layer"], "fid": item["fid"], "decision": "confirmed"}).encode()
        request = urllib.request.Request(server.url + "api/decision", data=body,
                                         headers={"Content-Type": "application/json"})
        start = time.perf_counter()
        urllib.request.urlopen(request).read()
        decide_ms.append((time.perf_counter() - start) * 1000)
    server.shutdown()
    start = time.perf_counter()
    apply_reviews(work, flight=flight, report=DATA / f"work-{size}.html")
    apply_s = time.perf_counter() - start

    def summary(ms: list[float]) -> dict:
        return {"median_ms": round(statistics.median(ms), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
                "max_ms": round(max(ms), 1)}

    def by_layer(ms: list[float]) -> dict:
        return {layer: summary([t for t, i in zip(ms, order, strict=True) if i["layer"] == layer])
                for layer in ("submunitions", "trenches", "positions") if any(i["layer"] == layer for i in order)}

    ratio = [a / b for a, b in zip(timings["cold"], timings["cold_one_thread"], strict=True)]
    return {"items": len(order), "cold": summary(timings["cold"]), "cold_by_layer": by_layer(timings["cold"]),
            "cold_one_thread": summary(timings["cold_one_thread"]),
            "cold_one_thread_by_layer": by_layer(timings["cold_one_thread"]),
            "cold_over_one_thread_median": round(statistics.median(ratio), 3),
            "warm": summary(timings["warm"]), "decision_write": summary(decide_ms),
            "apply_20_with_report_s": round(apply_s, 2)}


def large_survey() -> Path:
    """About 1,500 detections over 1.2 × 0.9 km, with hazard areas, as a survey writes them."""
    from rams.export import write_geopackage
    from rams.pipelines.hazards import hazards
    from rams.synthetic.labels import label_frames
    from rams.synthetic.layout import make_scene

    out = DATA / "large-survey.gpkg"
    if out.exists():
        return out
    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    parts: dict[str, list] = {"submunitions": [], "trenches": [], "positions": []}
    for k in range(12):
        x0, y0 = 600_000 + 300 * (k % 4), 4_400_000 + 300 * (k // 4)
        labels = label_frames(make_scene(k, (x0, y0, x0 + 300, y0 + 300), 0.03), "EPSG:32638")
        for name in parts:
            parts[name].append(labels[name][["geometry"]])
    layers = {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}
    for frame in layers.values():
        frame["confidence"] = rng.uniform(0.4, 1.0, len(frame))
        frame["flight_id"] = "bench"
    layers["submunitions"] = layers["submunitions"].assign(chip="", munition_class="submunition", evidence="indirect")
    layers["trenches"] = layers["trenches"].assign(length_m=layers["trenches"].length, width_m=1.0)
    layers["positions"] = layers["positions"].assign(area_m2=layers["positions"].area)
    detections = DATA / "large-detections.gpkg"
    write_geopackage(detections, layers, {"flight_id": "bench", "survey_date": "2026-12-07", "model": "bench"},
                     styles=False)
    hazards(detections, out)
    return out


def apply_time(decisions: int) -> dict:
    import shutil

    import pyogrio

    from rams.pipelines.review import apply_reviews, import_decisions

    work = DATA / "large-work.gpkg"
    shutil.copy(large_survey(), work)
    rng = np.random.default_rng(1)
    rows = []
    for layer in ("submunitions", "trenches", "positions"):
        fids = pyogrio.read_dataframe(work, layer=layer, fid_as_index=True, read_geometry=False).index
        rows += [(layer, int(f)) for f in fids]
    chosen = rng.choice(len(rows), size=min(decisions, len(rows)), replace=False)
    table = DATA / "decisions.csv"
    with table.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["layer", "fid", "decision", "reviewer", "reviewed_at", "note"])
        for k in chosen:
            writer.writerow([*rows[k], rng.choice(["confirmed", "rejected", "unsure"], p=[0.5, 0.4, 0.1]),
                             "bench", "2026-12-07T10:00:00Z", ""])
    start = time.perf_counter()
    import_decisions(work, table)
    imported = time.perf_counter() - start
    start = time.perf_counter()
    counts = apply_reviews(work)
    applied = time.perf_counter() - start
    return {"detections": len(rows), "decisions": len(chosen), "import_s": round(imported, 2),
            "apply_s": round(applied, 2), "hazard_areas": counts["hazard_areas"],
            "proposed_cha": counts["proposed_cha"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048, help="side (px) of the surveyed flight")
    parser.add_argument("--decisions", type=int, default=1000)
    args = parser.parse_args()
    print(json.dumps({"chip_latency": chip_latency(args.size),
                      "chip_latency_without_overviews": chip_latency(args.size, overviews=False),
                      "apply": apply_time(args.decisions)}, indent=1))


if __name__ == "__main__":
    main()
