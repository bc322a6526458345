"""Progress over regions: a live bar with MPix/s and ETA on a terminal, log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("rams.progress")


class Progress:
    """Counts finished regions (and their pixels) and reports throughput and ETA."""

    def __init__(self, total: int, total_pixels: int, stream=None) -> None:
        self.total, self.total_pixels = total, total_pixels
        self.done = self.pixels = 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
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
        elif now - self.last_log >= 5 or self.done == self.total:
            log.info(text)
            self.last_log = now

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds + 0.5), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"
