"""A campaign against its flights surveyed one after another, on one LocalCluster, in one run.

    python benchmarks/bench_campaign.py [--flights DIR] [--workers 2] [--repeats 1]

The flights are the campaign preset (``rams synth --preset campaign``, written once under
``benchmarks/data/campaign`` unless ``--flights`` names a folder). One dask LocalCluster serves
both: each flight surveyed by `rams.survey` in turn (no report), then `rams.campaign` over all
of them (regions interleaved in one graph, each flight's GeoPackage, the merge, hazards over the
merged evidence). The figure is the ratio of their MPix/s (campaign / one after another) and
the merge's share of the campaign's time; repeats alternate the two so that a drift of the
shared machine falls on both. It also scores the merged output against the preset's truth:
items twice (points closer than 0.3 m), footprints per true strike, pieces per true trench.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pyogrio
import shapely

DATA = Path(__file__).parent / "data" / "campaign"


def merged_scores(out: Path, truth: Path) -> dict:
    """The merged output scored against the scene's truth."""
    from rams.evaluation.hazards import fragmentation_metrics
    from rams.evaluation.metrics import submunition_counts

    labels = {name: pyogrio.read_dataframe(truth, layer=name) for name in ("submunitions", "trenches")}
    found = {name: pyogrio.read_dataframe(out, layer=name) for name in ("submunitions", "trenches",
                                                                        "strike_footprints")}
    points = found["submunitions"].geometry.to_numpy()
    left, right = shapely.STRtree(points).query(points, predicate="dwithin", distance=0.3)
    counts = submunition_counts(found["submunitions"], labels["submunitions"])
    return {"points": len(points), "points_within_0.3m": int((left < right).sum()),
            "tp": int(counts["tp"]), "fp": int(counts["fp"]), "fn": int(counts["fn"]),
            **fragmentation_metrics(found["strike_footprints"], found["trenches"], labels)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--flights", type=Path, help="folder of flights (default: the campaign preset)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    import rams
    from rams.pipelines.campaign import flight_paths
    from rams.pipelines.synth import synth

    folder = args.flights
    if folder is None:
        folder = DATA
        if not (folder / "truth.gpkg").exists():
            synth(folder, preset="campaign")
    flights = flight_paths([folder])
    rows = []
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client, \
            tempfile.TemporaryDirectory(prefix="bench-campaign-") as tmp:
        address = cluster.scheduler_address
        client.run(lambda: __import__("rams.pipelines.survey_region"))  # imports are not the job
        for repeat in range(args.repeats):
            t = time.perf_counter()
            pixels = 0
            for n, flight in enumerate(flights):
                summary = rams.survey(flight, Path(tmp) / f"r{repeat}-{n}.gpkg", report=None, scheduler=address)
                pixels += summary["mpix_per_s"] * summary["seconds"]
            one_by_one = time.perf_counter() - t
            out = Path(tmp) / f"campaign-{repeat}.gpkg"
            t = time.perf_counter()
            summary = rams.campaign(flights, out, scheduler=address)
            together = time.perf_counter() - t
            rows.append({"one_by_one_s": round(one_by_one, 1), "campaign_s": round(together, 1),
                         "merge_s": summary["merge_seconds"], "mpix": round(pixels, 1),
                         "throughput_ratio": round(one_by_one / together, 3),
                         "merge_share": round(summary["merge_seconds"] / together, 3)})
            print(json.dumps(rows[-1]), file=sys.stderr)
        truth = folder / "truth.gpkg"
        scores = merged_scores(out, truth) if truth.exists() else None
    print(json.dumps({"flights": len(flights), "workers": args.workers, "runs": rows, "scores": scores}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
