"""The ``reviews`` table inside a survey GeoPackage: every decision a row, each written in its
own SQLite transaction the moment it is made.

Closing the browser or killing the server loses nothing already answered. Two reviewers on one
file are serialised by SQLite's lock: a writer waits for the other (``BUSY_TIMEOUT_S``), and a
write that still finds the file locked is retried. The table is registered in
``gpkg_contents`` as an attributes table, so GDAL and QGIS list it; its own key is ``id``, and
``fid`` is the reviewed feature's id in ``layer``. Rows are only ever added, except that an undo
removes the reviewer's own latest row on that feature.

When reviews are applied, the GeoPackage is rewritten and renamed into place (rams.export); a
write that raced the rename (its connection opened the old file) is written again to the new
one; the unique key (layer, fid, reviewer, reviewed_at) makes that harmless.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from rams.errors import RamsError
from rams.review.decisions import Decision

TABLE = "reviews"
#: Seconds a writer waits for another's lock before SQLite gives up (then retried).
BUSY_TIMEOUT_S = 10.0
#: Attempts at a write that finds the file locked.
ATTEMPTS = 5

_CREATE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    layer TEXT NOT NULL,
    fid INTEGER NOT NULL,
    decision TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    reviewed_at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    UNIQUE (layer, fid, reviewer, reviewed_at)
)"""
_REGISTER = f"""
INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, last_change)
VALUES ('{TABLE}', 'attributes', '{TABLE}', 'review decisions: layer, fid, decision, reviewer, reviewed_at, note',
        strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"""
_INSERT = (f"INSERT OR IGNORE INTO {TABLE} (layer, fid, decision, reviewer, reviewed_at, note) "
           "VALUES (?, ?, ?, ?, ?, ?)")
_COLUMNS = "layer, fid, decision, reviewer, reviewed_at, note"

T = TypeVar("T")


def connect(path: str | os.PathLike) -> sqlite3.Connection:
    """A connection to the GeoPackage ``path`` that begins its transactions itself."""
    path = Path(path)
    if not path.is_file():
        raise RamsError(path, "no such file")
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)


def _write(path: Path, work: Callable[[sqlite3.Connection], T]) -> T:
    """``work`` in one IMMEDIATE transaction on ``path``, retried while the file is locked, and
    done again on the new file when the file was replaced under the connection."""
    for attempt in range(ATTEMPTS):
        inode = path.stat().st_ino
        try:
            with contextlib.closing(connect(path)) as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute(_CREATE)
                    conn.execute(_REGISTER)
                    result = work(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) and "busy" not in str(err):
                raise RamsError(path, f"cannot write the reviews table: {err}") from err
            time.sleep(0.05 * 2**attempt)
            continue
        except sqlite3.DatabaseError as err:
            raise RamsError(path, f"not a GeoPackage SQLite can write: {err}") from err
        if path.stat().st_ino == inode:
            return result
    raise RamsError(path, f"the file stayed locked by another writer through {ATTEMPTS} attempts")


def record(path: str | os.PathLike, decisions: Iterable[Decision]) -> int:
    """Add ``decisions`` to the reviews table of ``path`` in one transaction (all or none);
    returns how many rows were new."""
    rows = [(d.layer, d.fid, d.decision, d.reviewer, d.reviewed_at, d.note) for d in decisions]

    def insert(conn: sqlite3.Connection) -> int:
        before = conn.total_changes
        conn.executemany(_INSERT, rows)
        return conn.total_changes - before

    return _write(Path(path), insert)


def withdraw(path: str | os.PathLike, layer: str, fid: int, reviewer: str) -> Decision | None:
    """Undo: remove ``reviewer``'s latest decision on feature ``fid`` of ``layer``; returns it
    (None when there was none)."""

    def delete(conn: sqlite3.Connection) -> Decision | None:
        row = conn.execute(f"SELECT id, {_COLUMNS} FROM {TABLE} WHERE layer = ? AND fid = ? AND reviewer = ? "
                           "ORDER BY reviewed_at DESC, id DESC LIMIT 1", (layer, fid, reviewer)).fetchone()
        if row is None:
            return None
        conn.execute(f"DELETE FROM {TABLE} WHERE id = ?", (row[0],))
        return Decision(*row[1:])

    return _write(Path(path), delete)


def read(path: str | os.PathLike) -> list[Decision]:
    """Every decision in the reviews table of ``path``, oldest first (none without the table)."""
    with contextlib.closing(connect(path)) as conn:
        return _rows(conn)


def _rows(conn: sqlite3.Connection, schema: str = "main") -> list[Decision]:
    exists = conn.execute(f"SELECT 1 FROM {schema}.sqlite_master WHERE type = 'table' AND name = ?",
                          (TABLE,)).fetchone()
    if not exists:
        return []
    rows = conn.execute(f"SELECT {_COLUMNS} FROM {schema}.{TABLE} ORDER BY reviewed_at, id").fetchall()
    return [Decision(str(a), int(b), str(c), str(d), str(e), str(f or "")) for a, b, c, d, e, f in rows]


@contextlib.contextmanager
def held(path: str | os.PathLike) -> Iterator[sqlite3.Connection]:
    """Hold the write lock of ``path`` (readers may still read): no decision is added while a
    rewrite of the file reads the decisions, writes the new file and renames it into place."""
    path = Path(path)
    for attempt in range(ATTEMPTS):
        conn = connect(path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            break
        except sqlite3.OperationalError as err:
            conn.close()
            if attempt == ATTEMPTS - 1:
                raise RamsError(path, f"the file stayed locked by another writer: {err}") from err
            time.sleep(0.05 * 2**attempt)
    try:
        yield conn
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def copy_into(decisions: list[Decision], path: str | os.PathLike) -> None:
    """Write the reviews table, holding ``decisions``, into the GeoPackage ``path`` (a rewrite
    about to be renamed into place)."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(_CREATE)
        conn.execute(_REGISTER)
        conn.executemany(_INSERT, [(d.layer, d.fid, d.decision, d.reviewer, d.reviewed_at, d.note)
                                   for d in decisions])
        conn.execute("COMMIT")
