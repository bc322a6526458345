"""`rams review SURVEY.gpkg [--flight F.tif] [--reviewer NAME] [--port N] [--no-browser]`:
review every detection in the browser; `--import F.csv` and `--apply` without a browser."""

from __future__ import annotations

import argparse
from pathlib import Path


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0 (any free one) to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0 to 65535, got {value}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``review`` sub-command."""
    p = sub.add_parser(
        "review",
        help="confirm or reject every detection in the browser; the hazard records follow",
        description="Serve a local review application (127.0.0.1 only, a session token in its address) "
        "for the detections of SURVEY.gpkg; each decision is stored in the file's reviews table as it "
        "is made. On finishing (q in the page, or Ctrl-C) the decisions are applied: detections marked, "
        "hazard areas recomputed (ids kept where their evidence persists), the report regenerated.",
    )
    p.add_argument("survey", type=Path, help="survey output GeoPackage (rams survey); updated in place")
    p.add_argument("--flight", type=Path, metavar="F.tif",
                   help="the flight the survey came from (default: the one its metadata names)")
    p.add_argument("--reviewer", metavar="NAME", help="the name decisions are recorded under (default: login name)")
    p.add_argument("--port", type=port_number, default=0, metavar="N",
                   help="port on 127.0.0.1 (default: any free port)")
    p.add_argument("--no-browser", action="store_true", help="print the address only; do not open a browser")
    p.add_argument("--report", type=Path, metavar="OUT.html",
                   help="report to regenerate (default: the survey's own report, else SURVEY.html)")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--import", dest="import_csv", type=Path, metavar="F.csv",
                      help="take decisions from a CSV (layer,fid,decision,reviewer,reviewed_at,note) "
                           "and apply them; no browser")
    what.add_argument("--apply", action="store_true", help="apply the stored decisions; no browser")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from rams.pipelines.review import apply_reviews, import_decisions, review

    if args.import_csv is not None:
        import_decisions(args.survey, args.import_csv)
    if args.import_csv is not None or args.apply:
        apply_reviews(args.survey, flight=args.flight, report=args.report)
    else:
        review(args.survey, flight=args.flight, reviewer=args.reviewer, port=args.port,
               browser=not args.no_browser, report=args.report)
    return 0
