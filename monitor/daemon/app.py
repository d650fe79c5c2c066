"""The daemon: builds every loop from the config and runs them under one supervisor.

Loop kinds come from :data:`monitor.daemon.loopkinds.LOOP_KINDS` (one module per kind in
``monitor.daemon.loops``). Loops publish on one event bus; the status API
(:class:`DaemonState`), the metrics exporter and the analyses' history subscribe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import threading
import time
from dataclasses import dataclass, field

from opentelemetry.sdk.trace import TracerProvider

from monitor.alerts.service import AlertService
from monitor.analysis.window import RollingWindow
from monitor.daemon.analyzing import TargetWatch, feed_watches
from monitor.daemon.chaosing import ChaosControl
from monitor.daemon.config import DaemonConfig
from monitor.daemon.exporter import MetricsExporter
from monitor.daemon.http import HttpServer, build_app
from monitor.daemon.jobs import SuiteRunner, run_suite_job
from monitor.daemon.loopkinds import LOOP_KINDS, LoopContext
from monitor.daemon.looplag import LoopLag
from monitor.daemon.probing import TargetSeries
from monitor.daemon.rolling import RollingRequests
from monitor.daemon.soak import metrics_listener
from monitor.daemon.state import DaemonState
from monitor.daemon.supervisor import Supervisor
from monitor.engine import RequestHooks
from monitor.engine.tracing import RequestTracer, setup_tracing
from monitor.errors import ExitCode
from monitor.events import EventBus
from monitor.observe.metrics import MonitorMetrics
from monitor.observe.tracing_metrics import register_span_export

log = logging.getLogger(__name__)


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
        self.supervisor = Supervisor(grace_s=cfg.grace_period, bus=self.bus)
        self.alerts = AlertService(cfg.alerting, metrics=self.metrics)
        self._tracer = RequestTracer(self.tracer_provider)
        register_span_export(self.metrics.registry, self.tracer_provider)
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
        self.state.subscribe(self.bus)
        MetricsExporter(self.metrics).subscribe(self.bus)
        feed_watches(self.bus, self.watches)
        self.alerts.subscribe(self.bus)
        self.chaos = ChaosControl(
            cfg.chaos, self.bus, tracer=self.tracer_provider.get_tracer("soakmon.chaos")
        )
        self._build()

    def _hooks(self, suite: str, scenario: str, target: str) -> RequestHooks:
        hooks = RequestHooks()
        self._tracer.attach(hooks)
        hooks.add_request_done(metrics_listener(self.metrics, suite, scenario, target))
        return hooks

    def _build(self) -> None:
        ctx = LoopContext(
            config=self.config,
            bus=self.bus,
            state=self.state,
            metrics=self.metrics,
            watches=self.watches,
            rng=self._rng,
            suite_runner=self.suite_runner,
            tracer_provider=self.tracer_provider,
            hooks=self._hooks,
            chaos=self.chaos,
        )
        for kind in LOOP_KINDS:
            for name, factory in LOOP_KINDS[kind](ctx):
                self.supervisor.add(name, factory)
        self.supervisor.add("alerts", self.alerts.run)
        self.supervisor.add("task-status", self._task_status)
        lag = LoopLag(self.metrics.registry, self._set_lag, self._in_process_soaks)
        self.supervisor.add("loop-lag", lag.run)

    def _set_lag(self, lag: float) -> None:
        self.state.loop_lag_s = lag

    def _in_process_soaks(self) -> list[str]:
        return [s.name for s in self.config.soak if s.processes == 1]

    async def _task_status(self, stop: asyncio.Event) -> None:
        """Mirror root-task states and the alert receivers into the status."""
        while not stop.is_set():
            for name, task in self.supervisor.tasks.items():
                self.state.tasks[name] = {
                    "state": task.state,
                    "restarts": task.restarts,
                    "last_error": task.last_error,
                }
            self.state.alerts = self.alerts.status()
            self.state.chaos = self.chaos.status()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=2.0)

    def stop(self) -> None:
        """Ask the daemon to stop (the same as SIGTERM)."""
        self.supervisor.stop.set()

    @property
    def hard_deadline_s(self) -> float:
        """Longest a stop may take: the grace period, cancellation, then closing down."""
        return self.config.grace_period + self.supervisor.cancel_timeout_s + 10.0

    async def _watchdog(self) -> None:
        """From the stop on, exit the process if shutdown overruns :attr:`hard_deadline_s`."""
        await self.supervisor.stop.wait()

        def overrun() -> None:
            log.error("shutdown exceeded %.0f s; exiting now", self.hard_deadline_s)
            logging.shutdown()
            os._exit(ExitCode.ERROR)

        timer = threading.Timer(self.hard_deadline_s, overrun)
        timer.daemon = True
        timer.start()

    async def run(self, *, install_signals: bool = True, hard_exit: bool = False) -> None:
        """Serve HTTP, run every loop, and wind down cleanly on stop. With ``hard_exit`` (the
        CLI), a shutdown that overruns :attr:`hard_deadline_s` ends the process."""
        cfg = self.config
        app = build_app(self.state, self.metrics.registry, self.supervisor.stop, chaos=self.chaos)
        self.server = HttpServer(app, cfg.server.host, cfg.server.port)
        await self.server.start()
        log.info("soakmon daemon listening on %s", self.server.url)
        self.alerts.set_external_url(self.server.url)
        if install_signals:
            self.supervisor.install_signal_handlers()
        self.state.ready = True
        started = time.monotonic()
        watchdog = asyncio.create_task(self._watchdog(), name="soakmon:watchdog")
        if not hard_exit:
            watchdog.cancel()
        try:
            await self.supervisor.run()
        finally:
            self.supervisor.stop.set()  # arms the watchdog if the loops ended by themselves
            await asyncio.sleep(0)
            if not watchdog.done():
                watchdog.cancel()
            await asyncio.gather(watchdog, return_exceptions=True)
            self.state.ready = False
            if install_signals:
                self.supervisor.remove_signal_handlers()
            await self.bus.aclose(deadline_s=min(5.0, cfg.grace_period))
            await asyncio.to_thread(self.tracer_provider.shutdown)
            await self.server.stop()
            log.info("soakmon daemon stopped after %.0f s", time.monotonic() - started)
