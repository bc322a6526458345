"""A job's progress: a live bar over regions with MPix/s and ETA, and wall seconds per stage.

The bar is drawn when the stream is a terminal and the ``rams.progress`` logger speaks at INFO
(``rams --quiet`` sets it to WARNING). A stream that is not a terminal (a script's log, a pipe)
gets no progress lines: only the debug log has them (``--verbose``), every few seconds.
"""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("rams.progress")


#: Seconds between the debug log's progress lines when no bar is drawn.
LOG_EVERY_S = 5.0


class Progress:
    """Counts finished regions (and their pixels) and reports throughput (MPix/s) and ETA."""

    def __init__(self, total: int, total_pixels: int, stream=None) -> None:
        self.total, self.total_pixels = total, total_pixels
        self.done = self.pixels = 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() and log.isEnabledFor(logging.INFO)
        self.start = self.last_log = time.perf_counter()
        #: Text put before the regions' count (a campaign's flights done, say).
        self.prefix = ""

    def update(self, result) -> None:
        """Account for one finished region result (anything with ``.pixels``)."""
        self.done += 1
        self.pixels += result.pixels
        now = time.perf_counter()
        rate = self.pixels / max(now - self.start, 1e-9) / 1e6
        left = (self.total_pixels - self.pixels) / 1e6 / rate if rate > 0 else 0.0
        text = (f"{self.prefix}regions {self.done}/{self.total}  {self.pixels / 1e6:.0f}/{self.total_pixels / 1e6:.0f} "
                f"MPix  {rate:6.2f} MPix/s  ETA {_clock(left)}")
        if self.tty:
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {text}")
            self.stream.flush()
        elif now - self.last_log >= LOG_EVERY_S or self.done == self.total:
            log.debug(text)
            self.last_log = now

    def close(self) -> None:
        """End the bar's line (on a terminal)."""
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


class StageClock:
    """Wall seconds per stage of a job, from ``started`` (a `time.perf_counter` reading; default
    now): each :meth:`lap` charges the time since the previous one to a stage, so the stages
    always add up to :attr:`total`. A command passes the reading taken when it began, so that
    its imports are counted (as ``start``) and its total is its wall time."""

    def __init__(self, started: float | None = None) -> None:
        self.started = time.perf_counter() if started is None else started
        self._mark = self.started
        self.stages: dict[str, float] = {}

    def lap(self, stage: str) -> float:
        """Charge the seconds since the previous lap to ``stage``; return them."""
        now = time.perf_counter()
        seconds, self._mark = now - self._mark, now
        self.stages[stage] = self.stages.get(stage, 0.0) + seconds
        return seconds

    def lap_shared(self, weights: dict[str, float]) -> None:
        """Charge the seconds since the previous lap to several stages that ran interleaved (in
        parallel tasks), in proportion to ``weights`` (their task seconds, say)."""
        seconds = self.lap("_shared")
        del self.stages["_shared"]
        weights = weights or {"regions": 1.0}
        total = sum(weights.values())
        for stage, weight in weights.items():
            share = weight / total if total > 0 else 1.0 / len(weights)
            self.stages[stage] = self.stages.get(stage, 0.0) + seconds * share

    @property
    def total(self) -> float:
        """Seconds from the start to the last lap (the sum of the stages)."""
        return self._mark - self.started

    def rounded(self, digits: int = 2) -> dict[str, float]:
        """The stages' seconds, rounded."""
        return {stage: round(seconds, digits) for stage, seconds in self.stages.items()}


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds + 0.5), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"
