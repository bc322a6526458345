"""A reviewer's decision on one detection, and decisions read from a CSV file.

A decision names its detection by layer and GeoPackage feature id (``fid``), so that the
detection's geometry, the flight it came from and its chip can be found again later (to
train on reviewed chips, say). Times are ISO 8601 in UTC, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rams.errors import RamsError

#: The layers whose features a person reviews.
REVIEWED_LAYERS: tuple[str, ...] = ("submunitions", "trenches", "positions")
#: What a reviewer may decide about a detection.
DECISIONS: tuple[str, ...] = ("confirmed", "rejected", "unsure")
#: The columns of a decisions CSV (``rams review SURVEY.gpkg --import F.csv``), in this order.
CSV_COLUMNS: tuple[str, ...] = ("layer", "fid", "decision", "reviewer", "reviewed_at", "note")


@dataclass(frozen=True)
class Decision:
    """One reviewer's decision on the feature ``fid`` of ``layer``, made at ``reviewed_at``."""

    layer: str
    fid: int
    decision: str
    reviewer: str
    reviewed_at: str
    note: str = ""

    @property
    def key(self) -> tuple[str, int]:
        return self.layer, self.fid


def utc_now() -> str:
    """The current time, ISO 8601 UTC to the microsecond (decisions of one second stay apart)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_time(text: str) -> str:
    """``text`` (an ISO 8601 date or date and time; without an offset taken as UTC) as
    :func:`utc_now` writes times; ValueError when it is none."""
    when = datetime.fromisoformat(text.strip())
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def latest(decisions: Iterable[Decision]) -> dict[tuple[str, int], Decision]:
    """The decision in force on each detection: the latest by ``reviewed_at`` (of equal times,
    the one given last). Another reviewer's later decision overrides an earlier one."""
    current: dict[tuple[str, int], Decision] = {}
    for d in decisions:
        if d.key not in current or d.reviewed_at >= current[d.key].reviewed_at:
            current[d.key] = d
    return current


def check(decision: Decision, fids: Mapping[str, set[int]]) -> str | None:
    """What is wrong with ``decision`` given the feature ids of each reviewed layer, or None."""
    if decision.layer not in REVIEWED_LAYERS:
        return f"layer {decision.layer!r} is not one of {', '.join(REVIEWED_LAYERS)}"
    if decision.fid not in fids.get(decision.layer, set()):
        return f"{decision.layer} has no feature {decision.fid}"
    if decision.decision not in DECISIONS:
        return f"decision {decision.decision!r} is not one of {', '.join(DECISIONS)}"
    if not decision.reviewer.strip():
        return "no reviewer"
    return None


def read_csv(path: str | os.PathLike, fids: Mapping[str, set[int]]) -> list[Decision]:
    """Every decision in the CSV ``path`` (columns ``CSV_COLUMNS``, a header row first; ``note``
    may be left out), checked against the feature ids ``fids`` of each reviewed layer. The first
    bad row is refused with a `RamsError` naming its row (the header is row 1), so that a file
    is taken whole or not at all."""
    path = Path(path)
    if not path.is_file():
        raise RamsError(path, "no such file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [c.strip() for c in reader.fieldnames or []]
            missing = [c for c in CSV_COLUMNS[:-1] if c not in header]
            if missing:
                raise RamsError(path, f"row 1: the header lacks {', '.join(missing)} "
                                      f"(columns: {','.join(CSV_COLUMNS)})")
            decisions = []
            for number, row in enumerate(reader, start=2):
                decisions.append(_decision(path, number, {k.strip(): (v or "") for k, v in row.items() if k}, fids))
    except UnicodeDecodeError as err:
        raise RamsError(path, f"not UTF-8 text: {err.reason}") from err
    except csv.Error as err:
        raise RamsError(path, f"not a CSV file: {err}") from err
    return decisions


def _decision(path: Path, number: int, row: dict[str, str], fids: Mapping[str, set[int]]) -> Decision:
    def refuse(problem: str) -> RamsError:
        return RamsError(path, f"row {number}: {problem}; nothing was imported")

    try:
        fid = int(row.get("fid", "").strip())
    except ValueError:
        raise refuse(f"fid {row.get('fid')!r} is not a whole number") from None
    try:
        when = utc_time(row.get("reviewed_at", ""))
    except ValueError:
        raise refuse(f"reviewed_at {row.get('reviewed_at')!r} is not an ISO 8601 date or time") from None
    decision = Decision(row.get("layer", "").strip(), fid, row.get("decision", "").strip().lower(),
                        row.get("reviewer", "").strip(), when, row.get("note", "").strip())
    problem = check(decision, fids)
    if problem:
        raise refuse(problem)
    return decision
