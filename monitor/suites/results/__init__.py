"""What a run produced, and its JSON form. Owns the data that flows *out* of a scenario.

- ``history``      the operation history (Jepsen style): ``Op``, ``Outcome``, ``History`` — what
                   each client asked for and learned; the checkers' input
- ``check``        ``CheckResult``: one check's verdict and the check statuses
- ``attempts``     a scenario's attempts and each concurrent phase's start spread
- ``run``          ``ScenarioResult``, ``SuiteResult``, ``RunResult`` and the status rules
- ``latency``      timeline and histogram samples for the plots (from the engine's records)
- ``requests``     the design.md ``requests`` object of a scenario
- ``json_form``    ``to_json`` / ``from_json`` (report ``schema_version`` 1); ``json_fields``
                   reads typed fields naming the bad one

May import: ``monitor.errors`` only (no other part of ``monitor.suites``, no engine): the
report writers, the daemon, the alerts and the CLI read these types.
"""

from __future__ import annotations

from monitor.suites.results.attempts import (
    AttemptResult,
    Attempts,
    PhaseTiming,
    format_spread,
)
from monitor.suites.results.check import CHECK_STATUSES, CheckResult, CheckStatus
from monitor.suites.results.json_fields import ReportFormatError
from monitor.suites.results.json_form import SCHEMA_VERSION, from_json, to_json
from monitor.suites.results.latency import (
    MAX_TIMELINE_POINTS,
    HistogramBucket,
    TimelineSample,
    histogram_from,
    histogram_from_counts,
    observations_from,
    timeline_from,
)
from monitor.suites.results.requests import empty_requests, requests_from
from monitor.suites.results.run import (
    SECTION_CHECKS,
    STATE_ITEMS,
    STATUSES,
    RunResult,
    ScenarioResult,
    Status,
    SuiteResult,
    bounded,
)

__all__ = [
    "CHECK_STATUSES",
    "MAX_TIMELINE_POINTS",
    "SCHEMA_VERSION",
    "SECTION_CHECKS",
    "STATE_ITEMS",
    "STATUSES",
    "AttemptResult",
    "Attempts",
    "CheckResult",
    "CheckStatus",
    "HistogramBucket",
    "PhaseTiming",
    "ReportFormatError",
    "RunResult",
    "ScenarioResult",
    "Status",
    "SuiteResult",
    "TimelineSample",
    "bounded",
    "empty_requests",
    "format_spread",
    "from_json",
    "histogram_from",
    "histogram_from_counts",
    "observations_from",
    "requests_from",
    "timeline_from",
    "to_json",
]
