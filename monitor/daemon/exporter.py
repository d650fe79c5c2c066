"""The Prometheus exporter as an event subscriber: runs, checks, verdicts, probe readings and
loop failures become metrics. Nothing calls it; it listens to the bus."""

from __future__ import annotations

from monitor.daemon.probing import memory_of
from monitor.events import (
    ChaosActionEnded,
    ChaosActionStarted,
    EventBus,
    LoopCrashed,
    LoopFailed,
    ProbeReading,
    RunFinished,
    SuiteScheduled,
    VerdictEvaluated,
    WindowEvaluated,
)
from monitor.observe.metrics import MonitorMetrics
from monitor.observe.probes.registry import PROBE_KINDS
from monitor.suites.results import ScenarioResult

SLO_VERDICTS = ("error_rate", "p95")


class MetricsExporter:
    """Subscribes ``metrics`` to the events it exports."""

    def __init__(self, metrics: MonitorMetrics) -> None:
        self.metrics = metrics

    def subscribe(self, bus: EventBus) -> None:
        bus.on(RunFinished, self.run_finished)
        bus.on(VerdictEvaluated, self.verdict)
        bus.on(ProbeReading, self.probe_reading)
        bus.on(LoopCrashed, self.loop_crashed)
        bus.on(LoopFailed, self.loop_failed)
        bus.on(SuiteScheduled, self.suite_scheduled)
        bus.on(WindowEvaluated, self.window)
        bus.on(ChaosActionStarted, self.chaos_started)
        bus.on(ChaosActionEnded, self.chaos_ended)

    def chaos_started(self, ev: ChaosActionStarted) -> None:
        self.metrics.chaos_active.labels(ev.target).inc()

    def chaos_ended(self, ev: ChaosActionEnded) -> None:
        self.metrics.chaos_active.labels(ev.target).dec()
        self.metrics.chaos_actions.labels(ev.kind, ev.result).inc()

    def suite_scheduled(self, ev: SuiteScheduled) -> None:
        self.metrics.next_run.labels(ev.suite).set(ev.next_run_at)
        # inc(0) too: the series exists from the first schedule (a dashboard shows 0, not "no data")
        self.metrics.missed_runs.labels(ev.suite).inc(ev.missed)

    def window(self, ev: WindowEvaluated) -> None:
        if ev.requests:
            self.metrics.slo_error_ratio.labels(ev.target).set(ev.error_ratio)
            self.metrics.slo_p95.labels(ev.target).set(ev.p95_ms / 1000.0)

    def run_finished(self, ev: RunFinished) -> None:
        self.metrics.record_run(
            suite=ev.suite,
            passed=ev.passed,
            seconds=ev.finished_at - ev.started_at,
            finished_at=ev.finished_at,
        )
        if ev.result is None:
            return
        for scenario in ev.result.scenarios:
            self.metrics.record_outcomes(
                suite=ev.suite, scenario=scenario.name, outcomes=scenario.outcomes, target=ev.target
            )
            record_attempts(self.metrics, ev.suite, ev.target, scenario)
            for check in scenario.checks:
                self.metrics.record_check(
                    suite=ev.suite,
                    scenario=scenario.name,
                    check=check.name,
                    passed=check.passed,
                    status=check.status,
                    target=ev.target,
                )

    def verdict(self, ev: VerdictEvaluated) -> None:
        v = ev.verdict
        if not v.conclusive:
            return
        slo = v.name in SLO_VERDICTS
        gauge = self.metrics.slo_ok if slo else self.metrics.analysis_passing
        gauge.labels(ev.target, v.name).set(1 if v.passed else 0)

    def probe_reading(self, ev: ProbeReading) -> None:
        m = self.metrics
        if ev.error is not None:
            m.probe_errors.labels(ev.probe).inc()
            return
        values = dict(ev.values)
        itself = PROBE_KINDS.get_entry(ev.kind).daemon_itself
        if itself and "rss_bytes" in values:
            m.resident_memory.set(values["rss_bytes"])
        if ev.target is None:
            return
        memory = memory_of(values)
        if memory is not None and not itself:
            m.target_memory.labels(ev.target, ev.probe).set(memory)
        if "pool_size" in values or "pool_in_use" in values:
            m.set_pool(ev.target, values)

    def loop_crashed(self, ev: LoopCrashed) -> None:
        self.metrics.loop_restarts.labels(ev.loop).inc()

    def loop_failed(self, ev: LoopFailed) -> None:
        self.metrics.loop_failed.labels(ev.loop).set(1)


def record_attempts(
    metrics: MonitorMetrics, suite: str, target: str, scenario: ScenarioResult
) -> None:
    """Every attempt of a scenario (held, violated, weak, error) and every concurrent phase's
    send and arrival spread (``soakmon_phase_start_spread_seconds``)."""
    if scenario.attempts is None:
        return
    for attempt in scenario.attempts.runs:
        result = {"failed": "violated", "error": "error"}.get(attempt.status, "held")
        metrics.record_attempt(
            suite=suite,
            scenario=scenario.name,
            target=target,
            result="weak" if attempt.weak else result,
        )
        for phase in attempt.phases:
            metrics.record_phase_spread(
                suite=suite,
                scenario=scenario.name,
                target=target,
                sync=phase.sync,
                send_s=phase.send_spread_s,
                arrival_s=phase.arrival_spread_s,
            )
