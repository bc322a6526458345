"""The survey report: a self-contained HTML page with a map, figures and detection chips."""

from rams.report.document import Report, chip_anchor, render_report, write_report

__all__ = ["Report", "chip_anchor", "render_report", "write_report"]
