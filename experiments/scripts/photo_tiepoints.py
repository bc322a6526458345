"""Tie-point disagreement between neighbouring photographs, before and after registration.

    python experiments/scripts/photo_tiepoints.py PHOTO_FOLDER [--prior-sigma M] [--json OUT.json]

Each photograph is placed through the camera model (rams.photos: tags, camera table, pose in the
flight's UTM zone; flat ground at the take-off level). For every two photographs whose footprints
share at least 20 % of the smaller (rams.photos.registration.neighbours) the shift between
them is measured on tie points (pair_shift): its norm is how far apart the two footprints put the
same ground. Printed, as JSON-able numbers and a Markdown table:

1. the poses as tagged;
2. after the heading check (turned_headings: photographs whose tagged yaw is 180° off turned);
3. after register() on the checked poses: the shifts measured again with the corrected poses,
   and the least-squares residuals of the shifts used.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from rams.photos.cameras import camera_for
from rams.photos.poses import pose_for, utm_crs_of
from rams.photos.registration import (
    neighbours,
    pair_shifts,
    register,
    solve_offsets,
    tie_point_disagreement,
    turn_headings,
    turned_headings,
)
from rams.photos.tags import read_tags


def summary(report: dict) -> dict:
    return {k: v for k, v in report.items() if k != "per_pair"}


def line(label: str, report: dict) -> str:
    return (f"| {label} | {report['candidate_pairs']} | {report['pairs']} | {report['inliers']} | "
            f"{report['median_m']:.2f} | {report['p90_m']:.2f} | {report['max_m']:.2f} | {report['residual_m']:.3f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--prior-sigma", type=float, default=3.0, help="GPS position sigma (m)")
    parser.add_argument("--tie-sigma", type=float, default=0.05, help="tie shift sigma (m)")
    parser.add_argument("--json", type=Path, help="write every number here")
    args = parser.parse_args(argv)

    paths = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    tags = [read_tags(p) for p in paths]
    crs = utm_crs_of(tags)
    placed = [pose_for(t, crs) for t in tags]  # ground: the take-off level, height 0
    photos = [(np.asarray(Image.open(p).convert("L")), camera_for(t), pose)
              for p, t, (pose, _) in zip(paths, tags, placed, strict=True)]
    names = [p.stem for p in paths]
    print(f"{len(photos)} photographs, {crs.to_string()}, {photos[0][1].name}, "
          f"heights {min(h for _, h in placed):.1f}-{max(h for _, h in placed):.1f} m", file=sys.stderr)
    for name, t, (pose, _) in zip(names, tags, placed, strict=True):
        print(f"  {name} {t.taken} E {pose.easting:.2f} N {pose.northing:.2f} yaw tag {t.gimbal_yaw_deg:+.1f} "
              f"grid {pose.yaw_deg:.2f}", file=sys.stderr)

    out: dict = {"photos": names, "crs": crs.to_string(), "candidates": neighbours(photos)}
    t0 = time.perf_counter()
    tagged = tie_point_disagreement(photos)
    out["as_tagged"] = tagged
    t1 = time.perf_counter()
    turned = turned_headings(photos)
    out["turned"] = [n for n, t in zip(names, turned, strict=True) if t]
    checked = turn_headings(photos, turned)
    t2 = time.perf_counter()
    shifts = pair_shifts(checked)
    before = tie_point_disagreement(checked, shifts=shifts)
    t3 = time.perf_counter()
    poses = register(checked, 0.0, args.prior_sigma, tie_sigma_m=args.tie_sigma, shifts=shifts)
    offsets = solve_offsets(len(checked), shifts, args.prior_sigma, args.tie_sigma)
    residuals = [float(np.linalg.norm(s.shift_m - (offsets[s.j] - offsets[s.i]))) for s in shifts]
    corrected = [(rgb, cam, pose) for (rgb, cam, _), pose in zip(checked, poses, strict=True)]
    t4 = time.perf_counter()
    after = tie_point_disagreement(corrected)
    t5 = time.perf_counter()
    out.update(checked=before, registered=after, offsets_m=offsets.tolist(),
               ls_residual_median_m=float(np.median(residuals)), ls_residual_p90_m=float(np.percentile(residuals, 90)),
               ls_residuals_m=residuals,
               seconds={"as_tagged": t1 - t0, "heading_check": t2 - t1, "checked": t3 - t2, "register": t4 - t3,
                        "after": t5 - t4})

    print(json.dumps({"as_tagged": summary(tagged), "turned": out["turned"], "checked": summary(before),
                      "registered": summary(after), "ls_residual_median_m": out["ls_residual_median_m"],
                      "ls_residual_p90_m": out["ls_residual_p90_m"], "seconds": out["seconds"]}, indent=1))
    print()
    print("| poses | candidate pairs | pairs tied | tie points | median (m) | p90 (m) | max (m) | residual (m) |")
    print("|---|---|---|---|---|---|---|---|")
    print(line("as tagged", tagged))
    print(line("headings checked", before))
    print(line("registered (measured again)", after))
    print()
    print("| pair | overlap | before: east, north (m) | before (m) | tie points | LS residual (m) | after (m) |")
    print("|---|---|---|---|---|---|---|")
    again = {(p["i"], p["j"]): p for p in after["per_pair"]}
    for p, r in zip(before["per_pair"], residuals, strict=True):
        a = again.get((p["i"], p["j"]))
        print(f"| {names[p['i']]}–{names[p['j']]} | {p['overlap']:.2f} | {p['east_m']:+.2f}, {p['north_m']:+.2f} | "
              f"{p['disagreement_m']:.2f} | {p['inliers']} | {r:.2f} | "
              f"{a['disagreement_m'] if a else float('nan'):.2f} |")
    print()
    print("| photo | correction east, north (m) |")
    print("|---|---|")
    for name, o in zip(names, offsets, strict=True):
        print(f"| {name} | {o[0]:+.2f}, {o[1]:+.2f} |")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
