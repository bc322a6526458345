"""The `rams` command: a thin argparse layer over the jobs in `pipelines`.

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

COMMANDS = ("info", "synth", "train", "evaluate", "survey", "hazards")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rams", description="Remote Aerial Minefield Survey")
    parser.add_argument("--version", action="version", version=f"rams {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"pipelines.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )
    if not args.verbose:
        logging.getLogger("rasterio").setLevel(
            logging.WARNING
        )  # GDAL's errors reach us as RamsError
    try:
        return int(args.run(args) or 0)
    except RamsError as err:
        print(f"rams {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rams {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
