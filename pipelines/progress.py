"""Progress over regions: a live bar with MPix/s and ETA, on a terminal only.

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

    def update(self, result) -> None:
        """Account for one finished region result (anything with ``.pixels``)."""
        self.done += 1
        self.pixels += result.pixels
        now = time.perf_counter()
        rate = self.pixels / max(now - self.start, 1e-9) / 1e6
        left = (self.total_pixels - self.pixels) / 1e6 / rate if rate > 0 else 0.0
        text = f"regions {self.done}/{self.total}  {rate:6.2f} MPix/s  ETA {_clock(left)}"
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


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds + 0.5), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"
