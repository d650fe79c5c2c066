"""The result model of a run: scenarios, suites, the run (plain dataclasses, no I/O).

Producers: the scenario runner and the checkers (``CheckResult``). Consumers: the report writers
(``monitor.report``), the daemon and the CLI.

Status rules. A check is ``passed``, ``failed`` (a violation), ``error`` (it could not be
evaluated: the message names the missing value; not a violation) or ``not_applicable`` (the target
does not provide what it needs; the reason says what). A scenario is ``failed`` when a check
failed, else ``error`` when a check (or its setup / read-back) errored, else ``passed`` when a check
passed, else ``skipped`` — shown as *not applicable* with ``skip_reason``. A suite or run passes
when no scenario failed or errored; not-applicable scenarios neither pass nor fail (the reports
show them prominently with their reasons).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from monitor.suites.results.attempts import Attempts
from monitor.suites.results.check import CheckResult
from monitor.suites.results.latency import HistogramBucket, TimelineSample
from monitor.suites.results.requests import empty_requests

#: Names of the pseudo-checks that report a scenario section that could not complete.
SECTION_CHECKS = frozenset({"setup", "readback"})

Status = Literal["passed", "failed", "error", "skipped"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "error", "skipped")


@dataclass(slots=True)
class ScenarioResult:
    """What one scenario did and whether its checks held."""

    name: str
    suite: str
    status: Status
    duration_s: float = 0.0
    requests: dict[str, Any] = field(default_factory=empty_requests)
    checks: list[CheckResult] = field(default_factory=list)
    skip_reason: str | None = None
    description: str = ""
    spec_ref: str | None = None  # the spec scenario title this scenario implements
    timeline: list[TimelineSample] = field(default_factory=list)  # ≤ MAX_TIMELINE_POINTS
    histogram: list[HistogramBucket] = field(default_factory=list)
    server_errors: dict[str, int] = field(default_factory=dict)  # HTTP 5xx status -> answers
    outcomes: dict[str, dict[str, int]] = field(default_factory=dict)  # operation -> code -> n
    state: dict[str, Any] = field(default_factory=dict)  # read back (bounded: see ``bounded``)
    extracted: dict[str, Any] = field(default_factory=dict)  # per operation: sample values
    attempts: Attempts | None = None  # every attempt, its verdict and its phases' start spread

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def failed_checks(self) -> list[CheckResult]:
        """Checks that found a violation (not errors, not the not-applicable ones)."""
        return [c for c in self.checks if c.status == "failed"]

    @property
    def error_checks(self) -> list[CheckResult]:
        """Checks (or the setup / read-back) that could not be evaluated."""
        return [c for c in self.checks if c.status == "error"]

    @property
    def not_applicable_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if c.status == "not_applicable"]

    @property
    def not_applicable(self) -> bool:
        """The scenario did not run: the target does not provide what it needs."""
        return self.status == "skipped"

    @classmethod
    def skipped(cls, name: str, suite: str, reason: str, **kwargs: Any) -> ScenarioResult:
        """A scenario that is not applicable (e.g. the profile does not map an operation)."""
        return cls(name=name, suite=suite, status="skipped", skip_reason=reason, **kwargs)

    @classmethod
    def from_checks(
        cls, name: str, suite: str, checks: list[CheckResult], **kwargs: Any
    ) -> ScenarioResult:
        """A scenario that ran: failed when a check failed (or there is no check), else error
        when a check errored, else passed when a check passed, else not applicable."""
        statuses = {c.status for c in checks}
        status: Status
        if not checks or "failed" in statuses:
            status = "failed"
        elif "error" in statuses:
            status = "error"
        elif "passed" in statuses:
            status = "passed"
        else:
            status = "skipped"
            reasons = "; ".join(f"{c.name}: {c.message}" for c in checks)
            kwargs.setdefault("skip_reason", f"no check applies ({reasons})")
        return cls(name=name, suite=suite, status=status, checks=checks, **kwargs)


MAX_ITEMS = 8
#: List items kept of the state a scenario's checks saw (a ledger, the tasks read back): the
#: whole list in any built-in scenario, so the report shows what the checks judged.
STATE_ITEMS = 100
MAX_CHARS = 200
MAX_DEPTH = 5


def bounded(value: Any, *, depth: int = MAX_DEPTH, items: int = MAX_ITEMS) -> Any:
    """A JSON-safe copy of ``value`` small enough for a report: lists keep their first
    ``items`` items (then ``"… and N more"``), maps their first ``items * 4`` keys (at least
    32), strings ``MAX_CHARS`` characters, nesting ``MAX_DEPTH`` levels."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_CHARS else value[: MAX_CHARS - 1] + "…"
    if depth <= 0:
        return "…"
    if isinstance(value, Mapping):
        keys = list(value)[: max(items, MAX_ITEMS) * 4]
        out = {str(k): bounded(value[k], depth=depth - 1, items=items) for k in keys}
        if len(value) > len(keys):
            out["…"] = f"{len(value) - len(keys)} more keys"
        return out
    if isinstance(value, list | tuple):
        kept = [bounded(v, depth=depth - 1, items=items) for v in value[:items]]
        if len(value) > items:
            kept.append(f"… and {len(value) - items} more")
        return kept
    return bounded(str(value), depth=depth, items=items)


def _counts(scenarios: Iterable[ScenarioResult]) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
    for s in scenarios:
        counts[s.status] += 1
    return counts


@dataclass(slots=True)
class SuiteResult:
    name: str
    scenarios: list[ScenarioResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not any(s.status in ("failed", "error") for s in self.scenarios)

    @property
    def counts(self) -> dict[str, int]:
        return _counts(self.scenarios)


@dataclass(slots=True)
class RunResult:
    target: str
    started_at: str  # ISO 8601, UTC
    duration_s: float
    suites: list[SuiteResult] = field(default_factory=list)
    profile: str | None = None
    seed: int | None = None

    @property
    def passed(self) -> bool:
        """No scenario failed or errored (every check that applies holds)."""
        return all(s.passed for s in self.suites)

    @property
    def status(self) -> Literal["passed", "failed", "error"]:
        """``failed`` when a check found a violation, else ``error`` when something could not
        be evaluated, else ``passed``."""
        counts = self.counts
        if counts["failed"]:
            return "failed"
        return "error" if counts["error"] else "passed"

    @property
    def setup_errors_only(self) -> bool:
        """Every scenario that ran errored before its checks (setup / read-back): the target
        most likely does not speak the profile's API."""
        ran = [s for s in self.scenarios if s.status != "skipped"]
        return bool(ran) and all(
            s.status == "error" and any(c.name in SECTION_CHECKS for c in s.error_checks)
            for s in ran
        )

    @property
    def scenarios(self) -> list[ScenarioResult]:
        return [sc for s in self.suites for sc in s.scenarios]

    @property
    def counts(self) -> dict[str, int]:
        return _counts(self.scenarios)


# --- helpers from the engine's results (structural types: no import of monitor.engine) ---------
