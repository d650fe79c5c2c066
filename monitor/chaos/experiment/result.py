"""What one experiment run found: its status, the checks, the phases, the actions, and the
workload's timeline (for the report's plots), as JSON (``schema_version`` 1)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from monitor.chaos.engine import ActionRun

STATUSES = ("passed", "failed", "aborted", "skipped", "error")


@dataclass(slots=True)
class Check:
    """One verdict of the experiment (steady state, invariant, recovery)."""

    name: str
    passed: bool | None
    """None: could not be evaluated (an error naming the missing value, never a violation)."""
    expected: str
    observed: str
    message: str = ""
    phase: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "phase": self.phase, "passed": self.passed,
                "expected": self.expected, "observed": self.observed,
                "message": self.message}  # fmt: skip


@dataclass(slots=True)
class ExperimentPhase:
    """A span of the run (workload seconds): before, during, recovery, after."""

    name: str
    start: float
    end: float
    stats: dict[str, Any] = field(default_factory=dict)
    slo_met: bool | None = None


@dataclass(slots=True)
class SuiteRun:
    """A suite run inside the experiment."""

    suite: str
    phase: str
    passed: bool
    status: str
    failed_checks: list[str] = field(default_factory=list)
    duration_s: float = 0.0


@dataclass(slots=True)
class ExperimentResult:
    """The outcome of one experiment run."""

    name: str
    target: str
    started_at: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )
    status: str = "error"
    reason: str = ""
    """Why it was skipped, aborted or failed."""
    dry_run: bool = False
    duration_s: float = 0.0
    wall_start: float = field(default_factory=time.time)
    checks: list[Check] = field(default_factory=list)
    phases: list[ExperimentPhase] = field(default_factory=list)
    actions: list[ActionRun] = field(default_factory=list)
    suites: list[SuiteRun] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    workload_t0: float = 0.0
    """Wall time (epoch) of the workload's second 0 (actions are placed on the same axis)."""
    recovery_s: float | None = None
    """From the last revert to the target answering again."""
    slo: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": 1, "kind": "experiment", "name": self.name, "target": self.target,
            "started_at": self.started_at, "duration_s": round(self.duration_s, 3),
            "status": self.status, "passed": self.passed, "reason": self.reason,
            "dry_run": self.dry_run, "recovery_s": self.recovery_s, "slo": self.slo,
            "checks": [c.to_json() for c in self.checks],
            "phases": [{"name": p.name, "start_s": round(p.start, 3), "end_s": round(p.end, 3),
                        "slo_met": p.slo_met, **p.stats} for p in self.phases],
            "actions": [self._action(a) for a in self.actions],
            "suites": [{"suite": s.suite, "phase": s.phase, "passed": s.passed,
                        "status": s.status, "failed_checks": s.failed_checks,
                        "duration_s": round(s.duration_s, 3)} for s in self.suites],
            "timeline": self.timeline,
        }  # fmt: skip

    def _action(self, run: ActionRun) -> dict[str, Any]:
        doc = run.to_json()
        for key in ("started_at", "injected_at", "reverted_at"):
            wall = doc[key]
            doc[key.replace("_at", "_s")] = (
                None if wall is None else round(wall - self.workload_t0, 3)
            )
        return doc


__all__ = ["STATUSES", "Check", "ExperimentPhase", "ExperimentResult", "SuiteRun"]
