"""The one user-facing error type: a single line naming the file and the problem."""

from __future__ import annotations

import re
from pathlib import Path

#: Packages whose exceptions say what GDAL or PROJ made of a file or a CRS (a broken tag, a CRS
#: that cannot be transformed, a truncated block): a quirk of the data, not a bug in rams.
GDAL_BINDINGS = frozenset({"rasterio", "pyogrio", "pyproj", "fiona", "osgeo"})

#: Longest GDAL message kept in a refusal (characters); GDAL quotes whole CRS definitions.
MESSAGE_CHARS = 200

# A CRS quoted whole in a GDAL / PROJ message: PROJJSON ({...}) or WKT (NAME[...]).
_QUOTED_CRS = re.compile(r"[`'\"](?:\{.*?\}|[A-Z_]+\[.*?\])[`'\"]")


class RamsError(Exception):
    """An error a user can act on; ``str(err)`` is one line: ``<path>: <problem>``."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = " ".join(problem.split())
        super().__init__(f"{self.path}: {self.problem}")


def refuse_existing(*paths: str | Path | None, overwrite: bool = False) -> None:
    """Refuse to replace an output that exists (the first of ``paths`` that does), unless
    ``overwrite``; called before anything is written, so a refusal leaves every file as it was.
    ``None`` entries (outputs not asked for) are skipped."""
    if overwrite:
        return
    for path in paths:
        if path is not None and Path(path).exists():
            raise RamsError(path, "exists (use --overwrite to replace it)")


def is_gdal_error(err: BaseException) -> bool:
    """Whether ``err`` was raised by a GDAL / PROJ binding (see ``GDAL_BINDINGS``)."""
    return type(err).__module__.split(".")[0] in GDAL_BINDINGS


def gdal_message(err: BaseException) -> str:
    """GDAL's own message behind a rasterio (or other binding's) exception, on one line: CRS
    definitions quoted whole are elided and the text is cut to ``MESSAGE_CHARS``."""
    while err.__cause__ is not None and "previous exception" in str(err):
        err = err.__cause__  # rasterio wraps GDAL's own message
    text = _QUOTED_CRS.sub("…", " ".join(str(err).split())) or type(err).__name__
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1] + "…"
