"""Writing a text output whole or not at all (reports, cards, metric records, JSON).

An existing output is refused before a job starts (:func:`rams.errors.refuse_existing`); the
write itself goes to a temporary file (or folder) beside the output, renamed over it once
complete, so an interrupted job never leaves half a file under the output's name.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically (synced, then renamed into place, readable
    by all as a plain file would be); returns the path."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | os.PathLike, doc: Any) -> Path:
    """Write ``doc`` as indented JSON to ``path`` atomically; returns the path."""
    return write_text(path, json.dumps(doc, indent=1))


def move_folder_into_place(work: str | os.PathLike, out: str | os.PathLike) -> None:
    """Rename the complete folder ``work`` to ``out`` (beside it, on one file system); an existing
    ``out`` is moved aside first and removed only once the new one is in place (put back if that
    fails)."""
    work, out = Path(work), Path(out)
    if not out.exists():
        os.rename(work, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
    os.rename(out, old / out.name)
    try:
        os.rename(work, out)
    except BaseException:
        os.rename(old / out.name, out)
        old.rmdir()
        raise
    shutil.rmtree(old, ignore_errors=True)
