"""The monitor's Prometheus metrics (prefix ``soakmon_``), in a registry of their own.

Names follow Prometheus conventions and pass ``promtool check metrics``. Request histograms
carry the trace id of the request as an exemplar (visible in the OpenMetrics exposition).
Label values that come from suites (operation names) are capped, like Locust caps request
names, so a suite with unbounded paths cannot blow up the series count.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.samples import Exemplar

#: Request latency buckets, seconds: fine below the 500 ms SLO, coarse above it.
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5,
    0.75, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip


@dataclass(slots=True)
class RequestCounts:
    """Requests of one label set counted where they happen (a worker process), for
    :meth:`MonitorMetrics.observe_request_counts`: count, latency sum and the count in each
    of :data:`LATENCY_BUCKETS` (and +Inf), not cumulative."""

    count: int = 0
    sum_s: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    exemplars: dict[int, tuple[str, float, float]] = field(default_factory=dict)
    """Per bucket, the last traced request in it: (trace id, seconds, Unix time), as
    :meth:`MonitorMetrics.observe_request` keeps one exemplar per bucket."""

    def observe(self, seconds: float, trace_id: str | None = None, at: float = 0.0) -> None:
        """One request of ``seconds`` (``trace_id``: its trace, finished at ``at``)."""
        self.count += 1
        self.sum_s += seconds
        bucket = bisect_left(LATENCY_BUCKETS, seconds)
        self.buckets[bucket] += 1
        if trace_id:
            self.exemplars[bucket] = (trace_id, seconds, at)


RUN_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
#: Start spread buckets, seconds: 10 µs (synchronised loopback) to 100 ms (a loose network).
SPREAD_BUCKETS = (
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
)  # fmt: skip
ATTEMPT_RESULTS = ("held", "violated", "weak", "error")
OTHER = "other"


class LabelCap:
    """Lets through at most ``limit`` distinct values; later new values become ``other``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        with self._lock:
            if len(self._seen) < self.limit:
                self._seen.add(value)
                return value
        return OTHER


class MonitorMetrics:
    """Every series the monitor exports; one instance per process (or per test)."""

    def __init__(
        self, registry: CollectorRegistry | None = None, *, max_operations: int = 200
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._operation = LabelCap(max_operations)
        r = self.registry
        req = ["suite", "scenario", "operation", "outcome", "target"]
        self.request_duration = Histogram(
            "soakmon_request_duration_seconds",
            "Latency of requests sent to the target, from the intended start.",
            req,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.requests = Counter(
            "soakmon_requests", "Requests sent to the target, by outcome.", req, registry=r
        )
        self._code = LabelCap(100)
        self.operation_outcomes = Counter(
            "soakmon_operation_outcomes",
            "Operations of suite scenarios by outcome, in the profile's words "
            "(ok, not_favorited, server_error, ...).",
            ["suite", "scenario", "operation", "outcome", "target"],
            registry=r,
        )
        check = ["suite", "scenario", "check", "target"]
        self.check_passing = Gauge(
            "soakmon_check_passing",
            "1 when the check held at its last evaluation, 0 when it failed.",
            check,
            registry=r,
        )
        self.check_violations = Counter(
            "soakmon_check_violations", "Evaluations in which the check failed.", check, registry=r
        )
        self.phase_spread = Histogram(
            "soakmon_phase_start_spread_seconds",
            "How far apart the requests of a concurrent phase started: measured=send (first to "
            "last final byte written; sync=none: first to last request aiohttp wrote) or "
            "arrival (first to last, as the target reported it).",
            ["suite", "scenario", "target", "sync", "measured"],
            buckets=SPREAD_BUCKETS,
            registry=r,
        )
        self.attempts = Counter(
            "soakmon_scenario_attempts",
            "Attempts of race scenarios by result: held, violated, weak (held, but its requests "
            "left wider apart than the bound: not counted as held) or error.",
            ["suite", "scenario", "target", "result"],
            registry=r,
        )
        self.check_errors = Counter(
            "soakmon_check_errors",
            "Evaluations in which the check could not be evaluated (not a violation).",
            check,
            registry=r,
        )
        self.runs = Counter(
            "soakmon_suite_runs", "Suite runs by result.", ["suite", "result"], registry=r
        )
        self.run_duration = Histogram(
            "soakmon_suite_run_duration_seconds",
            "Duration of suite runs.",
            ["suite"],
            buckets=RUN_BUCKETS,
            registry=r,
        )
        self.missed_runs = Counter(
            "soakmon_suite_missed_runs",
            "Scheduled slots skipped because the previous run was still going.",
            ["suite"],
            registry=r,
        )
        self.next_run = Gauge(
            "soakmon_suite_next_run_timestamp_seconds",
            "When the suite's next scheduled run is due (Unix time); in the past means overdue.",
            ["suite"],
            registry=r,
        )
        self.last_run = Gauge(
            "soakmon_suite_last_run_timestamp_seconds",
            "When the suite last finished (Unix time).",
            ["suite"],
            registry=r,
        )
        self.slo_error_ratio = Gauge(
            "soakmon_slo_error_ratio",
            "Share of failed requests over the SLO window.",
            ["target"],
            registry=r,
        )
        self.slo_p95 = Gauge(
            "soakmon_slo_latency_p95_seconds",
            "P95 request latency over the SLO window.",
            ["target"],
            registry=r,
        )
        self.slo_ok = Gauge(
            "soakmon_slo_passing",
            "1 while the SLO holds over its window, 0 when it is broken.",
            ["target", "slo"],
            registry=r,
        )
        self.target_memory = Gauge(
            "soakmon_target_memory_bytes",
            "Memory of the target as read by a probe.",
            ["target", "probe"],
            registry=r,
        )
        pool = ["target"]
        self.pool_size = Gauge(
            "soakmon_target_db_pool_size", "Target DB pool size.", pool, registry=r
        )
        self.pool_in_use = Gauge(
            "soakmon_target_db_pool_in_use", "Target DB connections in use.", pool, registry=r
        )
        self.pool_waiting = Gauge(
            "soakmon_target_db_pool_waiting",
            "Requests waiting for a target DB connection.",
            pool,
            registry=r,
        )
        self.probe_errors = Counter(
            "soakmon_probe_errors", "Probe reads that failed.", ["probe"], registry=r
        )
        self.loop_failed = Gauge(
            "soakmon_loop_failed",
            "1 when a daemon loop stopped for good on a configuration error (not restarted).",
            ["loop"],
            registry=r,
        )
        self.loop_restarts = Counter(
            "soakmon_loop_restarts", "Daemon loops restarted after a transient error.", ["loop"],
            registry=r,
        )  # fmt: skip
        self.chaos_actions = Counter(
            "soakmon_chaos_actions",
            "Fault actions that ended, by kind and result (ok, aborted, failed, revert-failed).",
            ["kind", "result"],
            registry=r,
        )
        self.chaos_active = Gauge(
            "soakmon_chaos_active", "Fault actions active right now, by target.", ["target"],
            registry=r,
        )  # fmt: skip
        self.analysis_passing = Gauge(
            "soakmon_soak_analysis_passing",
            "1 while a soak analysis (memory growth, pool, throughput, burst) holds.",
            ["target", "analysis"],
            registry=r,
        )
        self.resident_memory = Gauge(
            "soakmon_daemon_resident_memory_bytes",
            "Resident memory of the soakmon process itself.",
            registry=r,
        )
        self.alerts_sent = Counter(
            "soakmon_alerts_sent",
            "Alert batches posted to a receiver (one Alertmanager or webhook), by result.",
            ["receiver", "result"],
            registry=r,
        )
        self.alerts_active = Gauge(
            "soakmon_alerts_active", "Alerts the monitor currently holds firing.", registry=r
        )
        self.alert_queue_length = Gauge(
            "soakmon_alert_queue_length",
            "Alert batches waiting to be delivered, by receiver.",
            ["receiver"],
            registry=r,
        )
        self.alerts_dropped = Counter(
            "soakmon_alerts_dropped",
            "Alert batches dropped (oldest first) because a receiver's queue was full.",
            ["receiver"],
            registry=r,
        )

    def observe_request(
        self,
        *,
        suite: str,
        scenario: str,
        operation: str,
        outcome: str,
        seconds: float,
        trace_id: str | None = None,
        target: str = "",
    ) -> None:
        """One request: its latency (with the trace id as exemplar) and its outcome count."""
        labels = (suite, scenario, self._operation(operation), outcome, target)
        exemplar: dict[str, str] | None = {"trace_id": trace_id} if trace_id else None
        self.request_duration.labels(*labels).observe(seconds, exemplar=exemplar)
        self.requests.labels(*labels).inc()

    def observe_request_counts(
        self,
        *,
        suite: str,
        scenario: str,
        operation: str,
        outcome: str,
        counts: RequestCounts,
        target: str = "",
    ) -> None:
        """Requests observed elsewhere (a soak's worker process), added exactly: the same
        buckets, sum and count as :meth:`observe_request` per request, and each bucket's
        last trace id as its exemplar."""
        labels = (suite, scenario, self._operation(operation), outcome, target)
        child = self.request_duration.labels(*labels)
        # prometheus_client has no public "observe many": its histogram child keeps one
        # value per bucket (not cumulative) and the sum, which observe() increments
        buckets = child._buckets
        if len(counts.buckets) != len(buckets):
            raise ValueError(f"{len(counts.buckets)} bucket counts for {len(buckets)} buckets")
        for value, n in zip(buckets, counts.buckets, strict=True):
            if n:
                value.inc(n)
        for bucket, (trace_id, seconds, at) in counts.exemplars.items():
            buckets[bucket].set_exemplar(Exemplar({"trace_id": trace_id}, seconds, at))
        child._sum.inc(counts.sum_s)
        self.requests.labels(*labels).inc(counts.count)

    def record_outcomes(
        self,
        *,
        suite: str,
        scenario: str,
        outcomes: Mapping[str, Mapping[str, int]],
        target: str = "",
    ) -> None:
        """A scenario's operations by outcome code (``ScenarioResult.outcomes``)."""
        for operation, codes in outcomes.items():
            for code, n in codes.items():
                labels = (suite, scenario, self._operation(operation), self._code(code), target)
                self.operation_outcomes.labels(*labels).inc(n)

    def record_check(
        self,
        *,
        suite: str,
        scenario: str,
        check: str,
        passed: bool,
        status: str | None = None,
        target: str = "",
    ) -> None:
        """A check evaluation: its current state and a violation count when it failed; an
        ``error`` (could not be evaluated) counts in ``soakmon_check_errors_total`` only and a
        ``not_applicable`` check is not recorded."""
        status = status or ("passed" if passed else "failed")
        if status == "not_applicable":
            return
        if status == "error":
            self.check_errors.labels(suite, scenario, check, target).inc()
            return
        self.check_passing.labels(suite, scenario, check, target).set(1 if passed else 0)
        violations = self.check_violations.labels(suite, scenario, check, target)
        if not passed:
            violations.inc()

    def record_phase_spread(
        self,
        *,
        suite: str,
        scenario: str,
        target: str,
        sync: str,
        send_s: float | None,
        arrival_s: float | None,
    ) -> None:
        """One concurrent phase's send spread and, when the target reports it, arrival spread."""
        for measured, value in (("send", send_s), ("arrival", arrival_s)):
            if value is not None:
                labels = (suite, scenario, target, sync, measured)
                self.phase_spread.labels(*labels).observe(value)

    def record_attempt(self, *, suite: str, scenario: str, target: str, result: str) -> None:
        """One attempt of a race scenario: ``held``, ``violated``, ``weak`` or ``error``."""
        if result not in ATTEMPT_RESULTS:
            raise ValueError(f"attempt result must be one of {ATTEMPT_RESULTS}, got {result!r}")
        self.attempts.labels(suite, scenario, target, result).inc()

    def record_run(self, *, suite: str, passed: bool, seconds: float, finished_at: float) -> None:
        result = "passed" if passed else "failed"
        self.runs.labels(suite, result).inc()
        self.run_duration.labels(suite).observe(seconds)
        self.last_run.labels(suite).set(finished_at)

    def set_pool(self, target: str, values: Mapping[str, float]) -> None:
        """Pool gauges from a probe reading (keys pool_size, pool_in_use, pool_waiting)."""
        for key, gauge in (
            ("pool_size", self.pool_size),
            ("pool_in_use", self.pool_in_use),
            ("pool_waiting", self.pool_waiting),
        ):
            if key in values:
                gauge.labels(target).set(values[key])
