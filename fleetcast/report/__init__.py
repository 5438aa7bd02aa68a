"""The self-contained HTML report (SVG charts, no scripts or network needed to view it)."""

from fleetcast.report.build import build_report

__all__ = ["build_report"]
