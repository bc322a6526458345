"""The `rams` command: a thin argparse layer over the library and its jobs (`rams.pipelines`).

Every job module defines ``register(subparsers)`` which adds its sub-command and sets
``run=<callable(args) -> int>`` as the parser default.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from rams import __version__
from rams.errors import RamsError

#: Sub-commands and their one-line help; a job module is imported only when its command runs
#: (torch, dask and GDAL take seconds to import).
COMMANDS = {
    "info": "describe a flight raster (size, CRS, GSD, footprint, layout)",
    "synth": "generate a synthetic survey flight with ground-truth labels",
    "survey": "survey a flight: detections, hazard areas, GeoPackage and report",
    "hazards": "recompute suspected hazard areas from a detections GeoPackage",
    "train": "train the detector from labelled flights",
    "evaluate": "evaluate a detector on a labelled flight",
    "compare": "is one model better than another: two rams evaluate reports of the same flights",
    "degrade": "copy a labelled flight under an imaging shift (robustness checks)",
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rams", description="Remote Aerial Minefield Survey")
    parser.add_argument("--version", action="version", version=f"rams {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = next((a for a in (sys.argv[1:] if argv is None else argv) if a in COMMANDS), None)
    for name, summary in COMMANDS.items():
        if name == chosen:
            importlib.import_module(f"rams.pipelines.{name}").register(sub)
        else:
            sub.add_parser(name, help=summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    if not args.verbose:
        # GDAL's errors reach the user as RamsError; pyogrio logs every layer it writes
        for name in ("rasterio", "pyogrio", "distributed"):
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        return int(args.run(args) or 0)
    except RamsError as err:
        print(f"rams {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        return 0
    except Exception as err:  # a bug, not bad input: still one line, the traceback on request
        if args.verbose:
            raise
        print(
            f"rams {args.command}: internal error: {type(err).__name__}: {err} (rerun with --verbose for details)",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print(f"rams {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
