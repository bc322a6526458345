"""The survey report: a self-contained HTML page with a map, figures and detection chips."""

from rams.report.document import chip_anchor, write_report

__all__ = ["chip_anchor", "write_report"]
