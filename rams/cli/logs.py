"""What `rams` prints on stderr besides a refusal: log lines and the libraries' warnings.

Library warnings (GDAL's CPLE_* warnings, which rasterio logs, and Python warnings such as
rasterio's NotGeoreferencedWarning) reach the user through logging, one line each, never as
Python's warning text with its source line. Unless ``--verbose`` they are held until the command
ends and then given once each: a refusal stays one line (its message names the problem), and
the same GDAL warning from every region of a survey neither repeats nor breaks the progress bar.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import warnings
from collections.abc import Iterator

log = logging.getLogger("rams.cli")

#: Loggers of the libraries whose warnings are held: GDAL's come through rasterio's.
LIBRARY_LOGGERS = ("rasterio", "py.warnings", "pyogrio", "fiona")
#: Loggers that speak at INFO of routine work (every layer written, every GDAL failure that
#: rasterio turns into an exception anyway): warnings only, unless --verbose.
ROUTINE_LOGGERS = ("rasterio", "pyogrio", "fiona", "distributed")

FORMAT = "%(asctime)s %(levelname)s %(message)s"
DATE_FORMAT = "%H:%M:%S"


def _log_python_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` for the command: one log line, without the source line."""
    logging.getLogger("py.warnings").warning("%s: %s", category.__name__, message)


def _text(record: logging.LogRecord) -> str:
    """A library record as one line; GDAL's (logged by rasterio as ``CPLE_x in MESSAGE``)
    as ``GDAL: MESSAGE``."""
    args = record.args if isinstance(record.args, tuple) else ()
    if record.name.startswith("rasterio") and len(args) == 2 and str(args[0]).startswith("CPLE_"):
        text = f"GDAL: {args[1]}"
    else:
        text = record.getMessage()
    return " ".join(text.split())


# The file name (with an extension) GDAL may put before its message: "flight.tif: ..."
_FILE_PREFIX = re.compile(r"^\S+\.\w{1,5}: ")


def _same_warning(text: str) -> str:
    """The warning without the file GDAL may prefix it with: GDAL gives the same warning with
    and without it, and again for every handle opened on the file."""
    return _FILE_PREFIX.sub("", text.removeprefix("GDAL: "), count=1)


class HeldWarnings(logging.Handler):
    """Holds the libraries' warnings, each once (with how often it came), until :meth:`report`."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.held: dict[str, list] = {}  # same warning -> [the fullest text, times]

    def emit(self, record: logging.LogRecord) -> None:
        text = _text(record)
        entry = self.held.setdefault(_same_warning(text), [text, 0])
        entry[0] = max(entry[0], text, key=len)  # the one that names the file
        entry[1] += 1

    def report(self) -> None:
        """Log each held warning once, and forget them."""
        for text, times in self.held.values():
            log.warning("%s%s", text, f" ({times} times)" if times > 1 else "")
        self.held.clear()


@contextlib.contextmanager
def command_logging(*, verbose: bool = False, quiet: bool = False) -> Iterator[HeldWarnings | None]:
    """Log to stderr for one command: INFO and up, WARNING and up when ``quiet``, DEBUG when
    ``verbose``; Python warnings become log lines. Yields the handler holding the libraries'
    warnings (None when ``verbose``: then they pass at once). Everything is put back on exit, so
    `main` can run several commands in one process (as the tests do)."""
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT, DATE_FORMAT))
    touched = {name: logging.getLogger(name) for name in (*LIBRARY_LOGGERS, *ROUTINE_LOGGERS)}
    saved = (root.level, warnings.showwarning, {n: (lg.level, lg.propagate) for n, lg in touched.items()})
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    warnings.showwarning = _log_python_warning
    held = None
    if not verbose:
        for name in ROUTINE_LOGGERS:
            touched[name].setLevel(logging.WARNING)
        held = HeldWarnings()
        for name in LIBRARY_LOGGERS:
            touched[name].addHandler(held)
            touched[name].propagate = False
    try:
        yield held
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        warnings.showwarning = saved[1]
        for name, (level, propagate) in saved[2].items():
            touched[name].setLevel(level)
            touched[name].propagate = propagate
            if held is not None:
                touched[name].removeHandler(held)
