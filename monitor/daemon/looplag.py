"""The daemon's event-loop lag: how late a timer fires, as the daemon's own health signal.

Everything in the daemon (its API and health probes, the scheduler, in-process soaks) shares
one event loop. The loop is fair (each ready callback in turn), but a soak with many VUs and no
think time makes every loop iteration longer, and the API's answers with it (see the README on
``processes:``). The lag of a 250 ms timer is exported as ``soakmon_event_loop_lag_seconds``
and ``/api/status`` ``event_loop_lag_ms`` (the worst of the last 10 s), and a lag over 0.5 s is
logged (at most once a minute) naming the in-process soaks, so an operator sees it before a
liveness probe's timeout does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Gauge

log = logging.getLogger(__name__)

EVERY_S = 0.25
WINDOW = 40  # readings: the worst of the last 10 s
WARN_S = 0.5
WARN_EVERY_S = 60.0


class LoopLag:
    """Measures the loop's lag while the daemon runs (a supervisor task)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        on_lag: Callable[[float], None],
        in_process_soaks: Callable[[], list[str]],
    ) -> None:
        self.gauge = Gauge(
            "soakmon_event_loop_lag_seconds",
            "How late a 250 ms timer of the daemon's event loop fired, worst of the last 10 s "
            "(the API and health probes wait as long for their turn).",
            registry=registry,
        )
        self._on_lag = on_lag
        self._soaks = in_process_soaks
        self._recent: deque[float] = deque(maxlen=WINDOW)
        self._warned = float("-inf")

    def observe(self, lag: float, now: float) -> None:
        """One reading (seconds late) at ``now`` (the loop's clock)."""
        self._recent.append(lag)
        worst = max(self._recent)
        self.gauge.set(worst)
        self._on_lag(worst)
        if lag > WARN_S and now - self._warned >= WARN_EVERY_S:
            self._warned = now
            soaks = ", ".join(self._soaks()) or "none"
            log.warning(
                "event loop lag %.2f s: the API and health probes wait that long; soaks in the "
                "daemon's process: %s (move heavy ones to worker processes with `processes:`)",
                lag, soaks,
            )  # fmt: skip

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            due = loop.time() + EVERY_S
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=EVERY_S)
            if stop.is_set():
                return
            now = loop.time()
            self.observe(max(0.0, now - due), now)
