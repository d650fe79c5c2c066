"""Reports: console summary, JSON, JUnit XML and HTML.

File formats register themselves in ``monitor.report.registry`` (one module each); the CLI calls
``write_reports(run, json=PATH, junit=PATH, html=PATH)`` and ``print_summary(run, console)``.
"""

from __future__ import annotations

import monitor.report.html
import monitor.report.json_report
import monitor.report.junit  # noqa: F401  (importing registers the writers)
from monitor.report.console import print_summary, render_summary
from monitor.report.registry import (
    FORMATS,
    ReportWriteError,
    register,
    write_report,
    write_reports,
)

__all__ = [
    "FORMATS",
    "ReportWriteError",
    "print_summary",
    "register",
    "render_summary",
    "write_report",
    "write_reports",
]
