"""What the daemon remembers, bounded: recent runs, active violations, verdicts, probes.

``status()`` is the JSON of ``/api/status``. The state listens to the event bus; nothing calls
into it from the scheduler directly.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from monitor import __version__
from monitor.analysis.verdict import Verdict
from monitor.events import (
    BurstFinished,
    CheckFailed,
    CheckRecovered,
    EventBus,
    LoopCrashed,
    LoopFailed,
    ProbeReading,
    RunFinished,
    RunStarted,
    SoakInterval,
    SuiteScheduled,
    VerdictEvaluated,
)


@dataclass
class SuiteState:
    """One scheduled suite."""

    name: str
    target: str
    schedule: str
    running: bool = False
    next_run_at: float | None = None
    runs_total: int = 0
    failures_total: int = 0
    missed_runs: int = 0
    history: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=50))


@dataclass
class Violation:
    """A check currently failing, with the evidence of its latest failure."""

    suite: str
    scenario: str
    target: str
    check: str
    since: float
    last_seen: float
    count: int
    expected: str
    observed: str
    message: str
    evidence: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "scenario": self.scenario,
            "target": self.target,
            "check": self.check,
            "since": _iso(self.since),
            "last_seen": _iso(self.last_seen),
            "count": self.count,
            "expected": self.expected,
            "observed": self.observed,
            "message": self.message,
            "evidence": self.evidence[:20],
        }


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _verdict_json(target: str, v: Verdict) -> dict[str, Any]:
    return {
        "target": target,
        "name": v.name,
        "passed": v.passed,
        "conclusive": v.conclusive,
        "expected": v.expected,
        "observed": v.observed,
        "message": v.message,
    }


class DaemonState:
    """Bounded memory of the daemon, fed by events."""

    def __init__(self, *, runs_per_suite: int = 50, max_violations: int = 200) -> None:
        self.started_at = time.time()
        self.runs_per_suite = runs_per_suite
        self.max_violations = max_violations
        self.suites: dict[str, SuiteState] = {}
        self.violations: OrderedDict[tuple[str, str, str, str], Violation] = OrderedDict()
        self.verdicts: dict[tuple[str, str], Verdict] = {}
        self.probes: dict[str, dict[str, Any]] = {}
        self.soaks: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, dict[str, Any]] = {}
        self.alerts: dict[str, Any] = {}
        self.chaos: dict[str, Any] = {}
        self.ready = False
        self.loop_lag_s: float | None = None
        """The event loop's lag, worst of the last 10 s (:mod:`monitor.daemon.looplag`)."""

    def subscribe(self, bus: EventBus) -> None:
        bus.on(RunStarted, self._run_started)
        bus.on(RunFinished, self._run_finished)
        bus.on(CheckFailed, self._check_failed)
        bus.on(CheckRecovered, self._check_recovered)
        bus.on(VerdictEvaluated, self._verdict_changed)
        bus.on(SuiteScheduled, self._suite_scheduled)
        bus.on(SoakInterval, self._soak_interval)
        bus.on(ProbeReading, self._probe_reading)
        bus.on(BurstFinished, self._burst_finished)
        bus.on(LoopCrashed, self._loop_crashed)
        bus.on(LoopFailed, self._loop_failed)

    def add_suite(self, key: str, target: str, schedule: str) -> SuiteState:
        state = SuiteState(key, target, schedule, history=deque(maxlen=self.runs_per_suite))
        self.suites[key] = state
        return state

    def _run_started(self, ev: RunStarted) -> None:
        suite = self.suites.get(ev.suite)
        if suite is not None:
            suite.running = True

    def _run_finished(self, ev: RunFinished) -> None:
        suite = self.suites.get(ev.suite)
        if suite is None:
            return
        suite.running = False
        suite.runs_total += 1
        if not ev.passed:
            suite.failures_total += 1
        entry: dict[str, Any] = {
            "started_at": _iso(ev.started_at),
            "duration_s": round(ev.finished_at - ev.started_at, 3),
            "passed": ev.passed,
            "error": ev.error,
        }
        if ev.result is not None:
            entry["counts"] = ev.result.counts
            entry["failed_checks"] = [
                f"{sc.name}: {c.name}" for sc in ev.result.scenarios for c in sc.failed_checks
            ][:20]
        suite.history.append(entry)

    def _check_failed(self, ev: CheckFailed) -> None:
        key = (ev.suite, ev.scenario, ev.target, ev.check.name)
        c = ev.check
        v = self.violations.get(key)
        if v is None:
            v = Violation(ev.suite, ev.scenario, ev.target, c.name, ev.at, ev.at, 0, "", "", "", [])
            self.violations[key] = v
        self.violations.move_to_end(key)
        v.last_seen, v.count = ev.at, v.count + 1
        v.expected, v.observed, v.message, v.evidence = (
            c.expected,
            c.observed,
            c.message,
            list(c.evidence),
        )
        while len(self.violations) > self.max_violations:
            self.violations.popitem(last=False)

    def _check_recovered(self, ev: CheckRecovered) -> None:
        self.violations.pop((ev.suite, ev.scenario, ev.target, ev.check), None)

    def _verdict_changed(self, ev: VerdictEvaluated) -> None:
        self.verdicts[(ev.target, ev.verdict.name)] = ev.verdict

    def _suite_scheduled(self, ev: SuiteScheduled) -> None:
        suite = self.suites.get(ev.suite)
        if suite is not None:
            suite.next_run_at = ev.next_run_at
            suite.missed_runs += ev.missed

    def _soak_interval(self, ev: SoakInterval) -> None:
        status = self.soaks.setdefault(ev.soak, {"target": ev.target})
        status["requests_total"] = status.get("requests_total", 0) + ev.requests
        status["errors_total"] = status.get("errors_total", 0) + ev.errors
        if ev.reauthentications is not None:
            status["reauthentications"] = ev.reauthentications
        if ev.transport is not None:
            status["transport"] = ev.transport
        if ev.workers is not None:
            status["workers"] = ev.workers
        p95 = ev.p95_ms
        status["last_interval"] = {
            "requests": ev.requests,
            "errors": ev.errors,
            "rate": round(ev.rate, 2),
            "p95_ms": None if p95 is None else round(p95, 2),
        }

    def _probe_reading(self, ev: ProbeReading) -> None:
        status = self.probes.setdefault(ev.probe, {"errors": 0})
        if ev.error is not None:
            status["errors"] = status.get("errors", 0) + 1
            status["error"] = ev.error
            return
        status.update(
            {
                "kind": ev.kind,
                "target": ev.target,
                "values": dict(ev.values),
                "error": None,
                "at": _iso(ev.at),
            }
        )

    def _burst_finished(self, ev: BurstFinished) -> None:
        self.soaks[f"burst:{ev.burst}"] = {
            "target": ev.target,
            "last_burst_at": _iso(ev.at),
            "size": ev.size,
            "ok": ev.ok,
            "p99_ms": round(ev.p99_ms, 2),
            "baseline_p99_ms": None if ev.baseline_p99_ms is None else round(ev.baseline_p99_ms, 2),
            "recovered": ev.recovered,
        }

    def _loop_crashed(self, ev: LoopCrashed) -> None:
        self.tasks[ev.loop] = {
            "state": "restarting",
            "restarts": ev.restarts,
            "last_error": ev.error,
        }

    def _loop_failed(self, ev: LoopFailed) -> None:
        task = self.tasks.setdefault(ev.loop, {"restarts": 0})
        task.update({"state": "failed", "last_error": ev.error})

    @property
    def failed_loops(self) -> list[str]:
        return sorted(name for name, t in self.tasks.items() if t.get("state") == "failed")

    def is_violated(self, suite: str, scenario: str, target: str, check: str) -> bool:
        return (suite, scenario, target, check) in self.violations

    def status(self) -> dict[str, Any]:
        """The document served at ``/api/status``."""
        now = time.time()
        return {
            "version": __version__,
            "started_at": _iso(self.started_at),
            "uptime_s": round(now - self.started_at, 1),
            "ready": self.ready,
            "event_loop_lag_ms": None
            if self.loop_lag_s is None
            else round(self.loop_lag_s * 1000.0, 1),
            "healthy": not self.violations
            and not self.failed_loops
            and all(v.passed for v in self.verdicts.values()),
            "failed_loops": self.failed_loops,
            "suites": [
                {
                    "name": s.name,
                    "target": s.target,
                    "schedule": s.schedule,
                    "running": s.running,
                    "next_run_at": _iso(s.next_run_at),
                    "runs_total": s.runs_total,
                    "failures_total": s.failures_total,
                    "missed_runs": s.missed_runs,
                    "last_run": s.history[-1] if s.history else None,
                    "history": list(s.history),
                }
                for s in self.suites.values()
            ],
            "violations": [v.to_json() for v in reversed(self.violations.values())],
            "analysis": [_verdict_json(t, v) for (t, _), v in sorted(self.verdicts.items())],
            "soak": self.soaks,
            "probes": self.probes,
            "tasks": self.tasks,
            "alerts": self.alerts,
            "chaos": self.chaos,
        }
