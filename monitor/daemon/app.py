"""The daemon: builds every loop from the config and runs them under one supervisor."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.sdk.trace import TracerProvider

from monitor.alerts.service import AlertService
from monitor.analysis.window import RollingWindow
from monitor.daemon.analyzing import AnalysisLoop, TargetWatch
from monitor.daemon.bursting import BurstLoop
from monitor.daemon.config import DaemonConfig
from monitor.daemon.http import HttpServer, build_app
from monitor.daemon.jobs import SuiteLoop, SuiteRunner, run_suite_job
from monitor.daemon.probing import ProbeLoop, TargetSeries, build_probe
from monitor.daemon.rolling import RollingRequests
from monitor.daemon.soak import SoakLoop, metrics_listener
from monitor.daemon.soak_profile import ProfileSoakLoop
from monitor.daemon.state import DaemonState
from monitor.daemon.supervisor import Supervisor
from monitor.engine import RequestHooks
from monitor.events import EventBus, RunFinished, VerdictEvaluated
from monitor.observe.metrics import MonitorMetrics
from monitor.observe.tracing import RequestTracer, setup_tracing

log = logging.getLogger(__name__)

SLO_VERDICTS = ("error_rate", "p95")


def _slots(cfg: DaemonConfig) -> int:
    """History slots: one per probe interval over the horizon, between 120 and 7,200."""
    every = min((p.every for p in cfg.probes), default=10.0)
    return int(min(7200, max(120, cfg.analysis.horizon / every + 1)))


@dataclass
class Daemon:
    """A configured monitor; :meth:`run` blocks until SIGTERM/SIGINT or :meth:`stop`."""

    config: DaemonConfig
    suite_runner: SuiteRunner = run_suite_job
    metrics: MonitorMetrics = field(default_factory=MonitorMetrics)
    tracer_provider: TracerProvider = field(default_factory=setup_tracing)
    bus: EventBus = field(default_factory=EventBus)
    server: HttpServer | None = None

    def __post_init__(self) -> None:
        cfg = self.config
        self.state = DaemonState(
            runs_per_suite=cfg.history.runs, max_violations=cfg.history.violations
        )
        self.state.subscribe(self.bus)
        self.alerts = AlertService(cfg.alerting, metrics=self.metrics)
        self.alerts.subscribe(self.bus)
        self.bus.on(RunFinished, self._export_run)
        self.bus.on(VerdictEvaluated, self._export_verdict)
        self.supervisor = Supervisor(grace_s=cfg.grace_period)
        self._tracer = RequestTracer(self.tracer_provider)
        self._rng = random.Random(cfg.seed)
        self.watches = {
            name: TargetWatch(
                name,
                RollingRequests(cfg.slo.window),
                TargetSeries(
                    RollingWindow(cfg.analysis.horizon, max_samples=_slots(cfg)),
                    memory_from=time.monotonic() + cfg.analysis.memory_warmup,
                ),
            )
            for name in cfg.targets
        }
        self._build()

    def _hooks(self, suite: str, scenario: str, target: str) -> RequestHooks:
        hooks = RequestHooks()
        self._tracer.attach(hooks)
        hooks.add_request_done(metrics_listener(self.metrics, suite, scenario, target))
        return hooks

    def _build(self) -> None:
        cfg, sup = self.config, self.supervisor
        for i, job in enumerate(cfg.suites):
            # a suite file of your own is labelled by its file name, as built-ins are
            name = Path(job.suite).stem if job.suite.endswith((".yaml", ".yml")) else job.suite
            key = f"{name}@{job.target}" if cfg.suites.count(job) == 1 else f"{name}#{i}"
            sched = job.schedule
            text = f"every {sched.every:g}s" if sched.every is not None else f"cron {sched.cron}"
            suite_state = self.state.add_suite(key, job.target, text)
            loop = SuiteLoop(
                key,
                job,
                cfg.targets[job.target],
                state=suite_state,
                bus=self.bus,
                hooks=self._hooks(key, "suite", job.target),
                rng=random.Random(self._rng.random()),
                runner=self.suite_runner,
                tracer=self.tracer_provider.get_tracer("soakmon.daemon"),
            )
            sup.add(f"suite:{key}", loop.run)
        for soak in cfg.soak:
            watch = self.watches[soak.target]
            throughput = RollingWindow(cfg.analysis.horizon, max_samples=720)
            watch.throughput[soak.name] = throughput
            soak_status: dict[str, object] = {"target": soak.target}
            self.state.soaks[soak.name] = soak_status
            soak_loop: SoakLoop | ProfileSoakLoop
            if soak.operations:
                soak_loop = ProfileSoakLoop(
                    soak,
                    cfg.targets[soak.target],
                    window=watch.requests,
                    throughput=throughput,
                    status=soak_status,
                    hooks=self._hooks("soak", soak.name, soak.target),
                )
            else:
                soak_loop = SoakLoop(
                    soak,
                    cfg.targets[soak.target],
                    metrics=self.metrics,
                    window=watch.requests,
                    throughput=throughput,
                    status=soak_status,
                    hooks=self._hooks_traced(),
                )
            sup.add(f"soak:{soak.name}", soak_loop.run)
        for burst in cfg.bursts:
            burst_status: dict[str, object] = {"target": burst.target}
            self.state.soaks[f"burst:{burst.name}"] = burst_status
            burst_loop = BurstLoop(
                burst,
                cfg.targets[burst.target],
                target_requests=self.watches[burst.target].requests,
                bus=self.bus,
                hooks=self._hooks("burst", burst.name, burst.target),
                status=burst_status,
                rng=random.Random(self._rng.random()),
            )
            sup.add(f"burst:{burst.name}", burst_loop.run)
        for probe_cfg in cfg.probes:
            probe_status: dict[str, object] = {}
            self.state.probes[probe_cfg.name] = probe_status
            series = self.watches[probe_cfg.target].series if probe_cfg.target else None
            probe_loop = ProbeLoop(
                probe_cfg,
                build_probe(probe_cfg),
                metrics=self.metrics,
                status=probe_status,
                series=series,
            )
            sup.add(f"probe:{probe_cfg.name}", probe_loop.run)
        analysis = AnalysisLoop(
            list(self.watches.values()),
            slo=cfg.slo,
            analysis=cfg.analysis,
            metrics=self.metrics,
            bus=self.bus,
        )
        sup.add("analysis", analysis.run)
        sup.add("alerts", self.alerts.run)
        sup.add("task-status", self._task_status)

    def _hooks_traced(self) -> RequestHooks:
        hooks = RequestHooks()
        self._tracer.attach(hooks)
        return hooks

    def _export_run(self, ev: RunFinished) -> None:
        self.metrics.record_run(
            suite=ev.suite,
            passed=ev.passed,
            seconds=ev.finished_at - ev.started_at,
            finished_at=ev.finished_at,
        )
        if ev.result is None:
            return
        for scenario in ev.result.scenarios:
            for check in scenario.checks:
                self.metrics.record_check(
                    suite=ev.suite,
                    scenario=scenario.name,
                    check=check.name,
                    passed=check.passed,
                    status=check.status,
                    target=ev.target,
                )

    def _export_verdict(self, ev: VerdictEvaluated) -> None:
        v = ev.verdict
        if not v.conclusive:
            return
        slo = v.name in SLO_VERDICTS
        gauge = self.metrics.slo_ok if slo else self.metrics.analysis_passing
        gauge.labels(ev.target, v.name).set(1 if v.passed else 0)

    async def _task_status(self, stop: asyncio.Event) -> None:
        """Mirror root-task restarts and missed schedule slots into the status and metrics."""
        exported: dict[str, int] = {}
        while not stop.is_set():
            for name, task in self.supervisor.tasks.items():
                self.state.tasks[name] = {"restarts": task.restarts, "last_error": task.last_error}
            for name, suite in self.state.suites.items():
                delta = suite.missed_runs - exported.get(name, 0)
                self.metrics.missed_runs.labels(name).inc(delta)
                exported[name] = suite.missed_runs
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=2.0)

    def stop(self) -> None:
        """Ask the daemon to stop (the same as SIGTERM)."""
        self.supervisor.stop.set()

    async def run(self, *, install_signals: bool = True) -> None:
        """Serve HTTP, run every loop, and wind down cleanly on stop."""
        cfg = self.config
        app = build_app(self.state, self.metrics.registry, self.supervisor.stop)
        self.server = HttpServer(app, cfg.server.host, cfg.server.port)
        await self.server.start()
        log.info("soakmon daemon listening on %s", self.server.url)
        self.alerts.set_external_url(self.server.url)
        if install_signals:
            self.supervisor.install_signal_handlers()
        self.state.ready = True
        started = time.monotonic()
        try:
            await self.supervisor.run()
        finally:
            self.state.ready = False
            if install_signals:
                self.supervisor.remove_signal_handlers()
            await self.bus.aclose(deadline_s=min(5.0, cfg.grace_period))
            await asyncio.to_thread(self.tracer_provider.shutdown)
            await self.server.stop()
            log.info("soakmon daemon stopped after %.0f s", time.monotonic() - started)
