"""The options every `rams` command spells the same way, defined once.

=================  =======================================================  ==============================
option             meaning                                                  commands
=================  =======================================================  ==============================
``-o/--out``       the output file (or folder) the command writes           survey, hazards, synth,
                                                                            degrade, train, evaluate,
                                                                            compare, export
``--overwrite``    replace an existing output (otherwise: refused, exit 2)  the same
``--model``        a model name under the models folder, or a model folder  survey, evaluate, hazards
``--config``       the command's settings YAML                              survey, train
``--workers N``    a local dask cluster of N worker processes               survey
``--scheduler``    a running dask.distributed scheduler (tcp://HOST:PORT)   survey
``--threads N``    N threads in this process                                survey, synth
``-q/--quiet``     only warnings and errors on stderr (no progress)         every command
``-v/--verbose``   debug logging; a bug's traceback                         every command
=================  =======================================================  ==============================

``synth``, ``degrade`` and ``export`` also take their output as a positional ``OUT`` (as ``rio`` does).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn

from rams.errors import RamsError


class Parser(argparse.ArgumentParser):
    """An argument parser whose refusals are one line on stderr and exit 2, like every other."""

    #: The sub-commands' parsers, by name (set on the `rams` parser by ``build_parser``).
    commands: dict[str, argparse.ArgumentParser]

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1 (workers, threads)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_logging(parser: argparse.ArgumentParser, *, on_command: bool = False) -> None:
    """``-q/--quiet`` and ``-v/--verbose``: before the command (``rams -q survey``) or after it
    (``rams survey -q``); on a command they default to nothing, so as not to reset the first."""
    default = argparse.SUPPRESS if on_command else False
    parser.add_argument("-q", "--quiet", action="store_true", default=default,
                        help="only warnings and errors on stderr (no progress)")
    parser.add_argument("-v", "--verbose", action="store_true", default=default,
                        help="debug logging, and a traceback for a bug")


def add_out(parser: argparse.ArgumentParser, help: str, *, required: bool = False,
            positional: bool = False) -> None:
    """``-o/--out PATH`` (``args.out``, a Path or None) and ``--overwrite``. With ``positional``
    the output may also be given as the positional ``OUT`` (see :func:`output`)."""
    if positional:
        parser.add_argument("out_arg", nargs="?", type=Path, metavar="OUT", help=f"{help} (or -o OUT)")
    parser.add_argument("-o", "--out", type=Path, metavar="OUT", required=required and not positional,
                        help=help)
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the output if it exists (otherwise the command refuses)")


def output(args: argparse.Namespace) -> Path | None:
    """The output path given either as the positional OUT or as ``-o/--out`` (not both)."""
    given = getattr(args, "out_arg", None)
    if given is not None and args.out is not None and given != args.out:
        raise RamsError(args.out, f"two outputs given ({given} and -o {args.out}): give one")
    return given if given is not None else args.out


def add_model(parser: argparse.ArgumentParser, help: str = "") -> None:
    """``--model NAME|DIR``: a model name under the models folder, or a model folder."""
    parser.add_argument("--model", metavar="NAME|DIR",
                        help=help or "model name under the models folder, or a model folder "
                                     "(default: the shipped detector)")


def add_config(parser: argparse.ArgumentParser, help: str, *, required: bool = False) -> None:
    """``--config YAML``: the command's settings file."""
    parser.add_argument("--config", metavar="YAML", required=required, help=help)


def add_threads(parser: argparse.ArgumentParser) -> None:
    """``--threads N``: threads in this process (default: the cores it may use)."""
    parser.add_argument("--threads", type=positive_int, metavar="N",
                        help="threads in this process (default: the cores it may use)")


def add_cluster(parser: argparse.ArgumentParser) -> None:
    """``--workers N`` (a local dask cluster of N worker processes) or ``--scheduler ADDRESS``
    (a running dask.distributed scheduler), not both."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, metavar="N",
                       help="run on a local dask cluster of N worker processes")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on a dask.distributed scheduler (tcp://HOST:PORT)")
