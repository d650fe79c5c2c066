"""Delivery to one receiver: a bounded queue, one worker, capped exponential backoff.

The queue holds the newest state of each alert (by label set), so a receiver that is down for
a while gets each alert once, in its latest state, when it comes back; beyond ``size`` alerts
the oldest are dropped and counted. Nothing here is ever awaited by the daemon's loops: they
only call :meth:`Delivery.put`, which never blocks.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from monitor.alerts.model import Alert
from monitor.errors import SoakmonError
from monitor.observe.metrics import MonitorMetrics

log = logging.getLogger(__name__)

MAX_BATCH = 64
"""Alerts posted in one request."""


class Transport(Protocol):
    """Posts a batch to one receiver; raises :class:`DeliveryError` (or any error) on failure."""

    name: str

    async def post(self, alerts: Sequence[Alert]) -> None: ...

    async def aclose(self) -> None: ...


class DeliveryError(SoakmonError, RuntimeError):
    """A receiver refused or could not be reached (the message names receiver and cause)."""


def backoff_delay(attempt: int, initial: float, cap: float, rng: random.Random) -> float:
    """Delay before retry ``attempt`` (1-based): ``initial * 2**(attempt-1)`` capped at ``cap``,
    with "equal jitter" (between half and all of it) so HA peers do not retry in step."""
    base = min(cap, initial * float(2 ** min(attempt - 1, 30)))
    jitter: float = rng.random()
    return base / 2 + jitter * base / 2


class Delivery:
    """One receiver's queue and worker."""

    def __init__(
        self,
        transport: Transport,
        *,
        metrics: MonitorMetrics,
        size: int = 500,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transport = transport
        self.name = transport.name
        self.metrics = metrics
        self.size = size
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.rng = rng or random.Random()
        self.clock = clock
        self._pending: collections.OrderedDict[tuple[tuple[str, str], ...], Alert] = (
            collections.OrderedDict()
        )
        self._wake = asyncio.Event()
        self.failures = 0
        self.last_error: str | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._gauge()

    def __len__(self) -> int:
        return len(self._pending)

    def _gauge(self) -> None:
        self.metrics.alert_queue_length.labels(self.name).set(len(self._pending))

    def put(self, alerts: Sequence[Alert]) -> None:
        """Queue alerts (a newer state replaces a queued one); never blocks."""
        for alert in alerts:
            key = alert.key
            self._pending.pop(key, None)
            self._pending[key] = alert
            while len(self._pending) > self.size:
                _, dropped = self._pending.popitem(last=False)
                self.metrics.alerts_dropped.labels(self.name).inc()
                log.warning(
                    "alert receiver %s: queue full (%d), dropped the oldest alert %s",
                    self.name, self.size, dropped.labels.get("alertname"),
                )  # fmt: skip
        if self._pending:
            self._idle.clear()
            self._wake.set()
        self._gauge()

    async def idle(self) -> None:
        """Wait until the queue is empty (everything delivered or dropped)."""
        await self._idle.wait()

    async def _send_once(self) -> bool:
        batch = list(self._pending.values())[:MAX_BATCH]
        try:
            await self.transport.post(batch)
        except Exception as exc:
            self.failures += 1
            text = str(exc) or type(exc).__name__
            if self.failures == 1 or text != self.last_error:
                log.warning("alert receiver %s: delivery failed: %s (will retry)", self.name, text)
            self.last_error = text
            self.metrics.alerts_sent.labels(self.name, "error").inc()
            return False
        if self.failures:
            log.info("alert receiver %s: delivered again after %d failure(s)", self.name,
                     self.failures)  # fmt: skip
        self.failures = 0
        self.last_error = None
        self.metrics.alerts_sent.labels(self.name, "success").inc()
        for alert in batch:
            key = alert.key
            if self._pending.get(key) is alert:  # not replaced meanwhile
                del self._pending[key]
        self._gauge()
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set (what is still queued then is left to :meth:`flush`)."""
        while not stop.is_set():
            if not self._pending:
                self._idle.set()
                self._wake.clear()
                await _first(self._wake.wait(), stop.wait())
                continue
            if await self._send_once():
                continue
            delay = backoff_delay(self.failures, self.backoff_initial, self.backoff_max, self.rng)
            await _first(stop.wait(), asyncio.sleep(delay))

    async def flush(self, deadline: float) -> None:
        """On shutdown: one attempt per batch while the deadline (monotonic) allows."""
        while self._pending and self.clock() < deadline:
            remaining = deadline - self.clock()
            try:
                ok = await asyncio.wait_for(self._send_once(), timeout=max(0.1, remaining))
            except TimeoutError:
                return
            if not ok:
                return
        if not self._pending:
            self._idle.set()


async def _first(*aws: collections.abc.Coroutine[object, object, object]) -> None:
    """Wait for the first of ``aws`` to finish; cancel the rest."""
    tasks = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
