"""The alert sinks as one daemon component: a bus subscriber plus one delivery worker per
receiver.

The bus listeners are plain functions that only update the :class:`AlertBook` (no I/O), so a
suite run, a soak or the bus never waits for Alertmanager. :meth:`AlertService.run` (a root
task of the daemon's supervisor) hands what is due to every receiver's queue when something
changed and once a second for resends; each receiver's worker posts and retries on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.alerts.book import AlertBook
from monitor.alerts.config import AlertingConfig
from monitor.alerts.delivery import Delivery, Transport
from monitor.alerts.model import Alert
from monitor.alerts.registry import SINKS, SinkContext
from monitor.events import (
    ChaosActionEnded,
    ChaosActionStarted,
    CheckFailed,
    CheckRecovered,
    EventBus,
    RunFinished,
    VerdictEvaluated,
)
from monitor.observe.metrics import MonitorMetrics

log = logging.getLogger(__name__)

TICK_S = 1.0
SHUTDOWN_FLUSH_S = 5.0


def build_transports(config: AlertingConfig, external_url: str) -> list[Transport]:
    """Every receiver of every configured sink, built through the sink registry."""
    ctx = SinkContext(external_url=external_url)
    out: list[Transport] = []
    for sink in config.sinks:
        out += SINKS.get_entry(sink.kind)(sink, config, ctx)
    return out


@dataclass(frozen=True, slots=True)
class SendResult:
    receiver: str
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


async def send_direct(transports: Sequence[Transport], alerts: Sequence[Alert]) -> list[SendResult]:
    """Post ``alerts`` once to each receiver, concurrently (``soakmon alerts test``)."""

    async def one(t: Transport) -> SendResult:
        try:
            await t.post(alerts)
        except Exception as exc:
            return SendResult(t.name, str(exc) or type(exc).__name__)
        return SendResult(t.name, None)

    return list(await asyncio.gather(*(one(t) for t in transports)))


class AlertService:
    """Holds the alerts of one daemon and delivers them to every configured receiver."""

    def __init__(
        self,
        config: AlertingConfig,
        *,
        metrics: MonitorMetrics,
        external_url: str = "",
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics
        self.book = AlertBook(
            resend_interval=config.resend_interval,
            extra_labels=dict(config.labels),
            external_url=config.external_url or external_url,
            severity=config.severity.model_dump(),
            evidence_lines=config.evidence_lines,
            description_max_chars=config.description_max_chars,
            runbook_base=config.runbook_base_url,
        )
        self._rng = rng or random.Random()
        self.deliveries: list[Delivery] = []
        self._changed = asyncio.Event()

    @property
    def enabled(self) -> bool:
        return bool(self.config.sinks)

    def set_external_url(self, url: str) -> None:
        """The daemon's own URL, once it listens (unless the config names one)."""
        if not self.config.external_url:
            self.book.external_url = url

    def subscribe(self, bus: EventBus) -> None:
        """Plain (inline, I/O-free) listeners: they only update the book."""
        if not self.enabled:
            return
        bus.on(CheckFailed, self._check_failed)
        bus.on(CheckRecovered, self._check_recovered)
        bus.on(VerdictEvaluated, self._verdict)
        bus.on(RunFinished, self._run_finished)
        bus.on(ChaosActionStarted, self._chaos_started)
        bus.on(ChaosActionEnded, self._chaos_ended)

    def _chaos_started(self, ev: ChaosActionStarted) -> None:
        what = str(ev.params.get("description") or ev.kind)
        self.book.chaos[ev.action] = f"{ev.kind} ({what}) on {ev.target}"

    def _chaos_ended(self, ev: ChaosActionEnded) -> None:
        self.book.chaos.pop(ev.action, None)

    def _check_failed(self, ev: CheckFailed) -> None:
        c = ev.check
        self.book.check_failed(
            suite=ev.suite, scenario=ev.scenario, target=ev.target, check=c.name,
            message=c.message, expected=c.expected, observed=c.observed,
            evidence=list(c.evidence), now=ev.at,
        )  # fmt: skip
        self._changed.set()

    def _check_recovered(self, ev: CheckRecovered) -> None:
        self.book.check_recovered(
            suite=ev.suite, scenario=ev.scenario, target=ev.target, check=ev.check, now=ev.at
        )
        self._changed.set()

    def _verdict(self, ev: VerdictEvaluated) -> None:
        v = ev.verdict
        self.book.verdict(
            target=ev.target, name=v.name, passed=v.passed, conclusive=v.conclusive,
            message=v.message, expected=v.expected, observed=v.observed, now=ev.at,
        )  # fmt: skip
        if ev.flipped:
            self._changed.set()

    def _run_finished(self, ev: RunFinished) -> None:
        self.book.run_finished(suite=ev.suite, target=ev.target, error=ev.error, now=ev.finished_at)
        if ev.error is not None:
            self._changed.set()

    def status(self) -> dict[str, object]:
        """The ``alerts`` part of ``/api/status``: what is held and how each receiver fares."""
        return {
            "active": self.book.active,
            "receivers": [
                {
                    "name": d.name,
                    "queued": len(d),
                    "failures": d.failures,
                    "last_error": d.last_error,
                }
                for d in self.deliveries
            ],
        }

    def _hand_out(self, now: float) -> None:
        due = self.book.due(now)
        if due:
            for delivery in self.deliveries:
                delivery.put(due)
        self.metrics.alerts_active.set(self.book.active)

    async def run(self, stop: asyncio.Event) -> None:
        """Hand out due alerts until ``stop``; then (optionally) resolve, and flush briefly."""
        if not self.enabled:
            await stop.wait()
            return
        transports = build_transports(self.config, self.book.external_url)
        self.deliveries = [
            Delivery(
                t,
                metrics=self.metrics,
                size=self.config.queue_size,
                backoff_initial=self.config.backoff.initial,
                backoff_max=self.config.backoff.max,
                rng=random.Random(self._rng.random()),
            )
            for t in transports
        ]
        names = ", ".join(d.name for d in self.deliveries)
        log.info("alerts: sending to %s", names)
        workers = [
            asyncio.create_task(d.run(stop), name=f"soakmon-alerts:{d.name}")
            for d in self.deliveries
        ]
        try:
            while not stop.is_set():
                self._changed.clear()
                self._hand_out(time.time())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed_or(stop), timeout=TICK_S)
        finally:
            for worker in workers:  # they end on `stop`; cancelled only if we were
                if not stop.is_set():
                    worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            await self._shutdown()

    async def _changed_or(self, stop: asyncio.Event) -> None:
        a = asyncio.ensure_future(self._changed.wait())
        b = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({a, b}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            a.cancel()
            b.cancel()
            await asyncio.gather(a, b, return_exceptions=True)

    async def _shutdown(self) -> None:
        now = time.time()
        if self.config.resolve_on_shutdown:
            resolved = self.book.resolve_all(now)
            for delivery in self.deliveries:
                delivery.put(resolved)
            log.info("alerts: resolving %d alert(s) on shutdown", len(resolved))
        else:
            self._hand_out(now)
        deadline = time.monotonic() + SHUTDOWN_FLUSH_S
        await asyncio.gather(*(d.flush(deadline) for d in self.deliveries), return_exceptions=True)
        for delivery in self.deliveries:
            with contextlib.suppress(Exception):
                await delivery.transport.aclose()
        self.metrics.alerts_active.set(self.book.active)
