"""The `rams` command: a thin argparse layer over the library and its jobs (`rams.pipelines`).

Each command is a small module ``rams.cli.<command>`` with ``register(subparsers)``, which adds
its sub-command (with the shared options of :mod:`rams.cli.options`) and sets
``run=<callable(args) -> int>`` as the parser default; ``run`` calls a job function.

Every refusal is one line on stderr, ``rams COMMAND: error: PATH: PROBLEM``, and exit 2: bad
input (:class:`~rams.errors.RamsError`), an output that exists without ``--overwrite``, a file or
CRS GDAL cannot handle, bad arguments. A bug is one line and exit 1 (its traceback with
``--verbose``).
"""

from __future__ import annotations

import gc
import importlib
import sys

from rams import __version__
from rams.cli.logs import command_logging
from rams.cli.options import Parser, add_logging
from rams.errors import RamsError, gdal_message, is_gdal_error

#: Sub-commands and their one-line help; a command's module (and the job it runs) is imported
#: only when that command is given: torch, dask and GDAL take seconds to import.
COMMANDS = {
    "info": "describe a flight raster (size, CRS, GSD, footprint, layout)",
    "synth": "generate a synthetic survey flight with ground-truth labels",
    "survey": "survey a flight: detections, hazard areas, GeoPackage and report",
    "campaign": "survey many flights as one campaign: merged evidence, hazard areas, baseline per task",
    "hazards": "recompute suspected hazard areas from a detections GeoPackage",
    "export": "export a survey GeoPackage as GeoJSON, Shapefile, KML, CSV, FlatGeobuf and SLD",
    "review": "confirm or reject every detection in the browser; the hazard records follow",
    "train": "train the detector from labelled flights",
    "evaluate": "evaluate a detector on a labelled flight",
    "compare": "is one model better than another: two rams evaluate reports of the same flights",
    "degrade": "copy a labelled flight under an imaging shift (robustness checks)",
}


def build_parser(argv: list[str] | None = None) -> Parser:
    """The `rams` parser; only the command named in ``argv`` gets its full options."""
    parser = Parser(prog="rams", description="Remote Aerial Minefield Survey")
    parser.add_argument("--version", action="version", version=f"rams {__version__}")
    add_logging(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.commands = sub.choices
    chosen = next((a for a in (sys.argv[1:] if argv is None else argv) if a in COMMANDS), None)
    for name, summary in COMMANDS.items():
        if name == chosen:
            importlib.import_module(f"rams.cli.{name}").register(sub)
            add_logging(sub.choices[name], on_command=True)
        else:
            sub.add_parser(name, help=summary)
    return parser


def _logging_parser() -> Parser:
    """-q / -v alone, wherever they are in the command line."""
    parser = Parser(prog="rams", add_help=False)
    add_logging(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one `rams` command; returns its exit status (0 done, 2 refused, 1 a bug, 130 ^C)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    # logging is set up before the command's modules load, so that what they say on import goes
    # through it too: -q / -v are read ahead of the full parse
    early, _ = _logging_parser().parse_known_args(argv)
    with command_logging(verbose=early.verbose, quiet=early.quiet) as held:
        parser = build_parser(argv)
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # refused by the command's parser, so that the line names the command
            parser.commands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
        prefix = f"rams {args.command}"
        try:
            status = int(args.run(args) or 0)
        except RamsError as err:
            print(f"{prefix}: error: {err}", file=sys.stderr)
            return 2
        except BrokenPipeError:  # output piped into `head` and the like
            return 0
        except KeyboardInterrupt:
            print(f"{prefix}: interrupted", file=sys.stderr)
            return 130
        except Exception as err:
            if args.verbose:
                raise
            if is_gdal_error(err):  # a file or CRS GDAL / PROJ cannot handle that no check named
                print(f"{prefix}: error: {gdal_message(err)} (rerun with --verbose for details)",
                      file=sys.stderr)
                return 2
            if held is not None:
                held.report()  # what the libraries said may explain the bug
            text = " ".join(str(err).split())
            print(f"{prefix}: internal error: {type(err).__name__}: {text} (rerun with --verbose for details)",
                  file=sys.stderr)
            return 1
        if held is not None:
            held.report()
        return status


def entry() -> None:
    """The console script: :func:`main`, then exit without the garbage collector walking every
    object torch, GDAL and dask made (it would add most of a second to every command)."""
    status = main()
    gc.freeze()
    sys.exit(status)


if __name__ == "__main__":
    entry()
