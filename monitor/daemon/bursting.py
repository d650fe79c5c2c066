"""Scheduled bursts: after an idle period, fire N requests at once, then watch latency recover.

Two verdicts per burst, like any other analysis: ``burst_no_rejections:<name>`` (every request
of the spike was processed) and ``burst_recovered:<name>`` (p99 of small follow-up probes back
near the baseline within ``recover_within``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time

from monitor.analysis.burst import burst_recovery
from monitor.analysis.verdict import Verdict
from monitor.daemon.config.targets import Target
from monitor.daemon.config.traffic import BurstConfig
from monitor.daemon.rolling import RollingRequests
from monitor.daemon.schedule import decide, first_due
from monitor.daemon.soak import auth_headers, request_spec
from monitor.engine import ConcurrentTester, ConnectionMode, LatencyHistogram, RequestHooks
from monitor.events import BurstFinished, BurstStarted, EventBus, VerdictEvaluated

log = logging.getLogger(__name__)

PROBES_PER_STEP = 5
"""Sequential requests per second of the recovery watch."""
BASELINE_WINDOW_S = 30.0


class BurstLoop:
    """Fires one configured burst on its schedule until stopped."""

    def __init__(
        self,
        burst: BurstConfig,
        target: Target,
        *,
        target_requests: RollingRequests,
        bus: EventBus,
        hooks: RequestHooks,
        rng: random.Random,
    ) -> None:
        self.burst = burst
        self.target = target
        self.target_requests = target_requests
        self.bus = bus
        self.rng = rng
        headers = auth_headers(target)
        self.tester = ConcurrentTester(
            target.url,
            timeout=target.timeout,
            mode=ConnectionMode.PER_REQUEST,
            hooks=hooks,
            headers=headers,
        )
        self.spec = request_spec(burst.request)
        self._last: dict[str, bool] = {}

    async def _probe_p99(self, n: int = PROBES_PER_STEP) -> float | None:
        hist = LatencyHistogram()
        for _ in range(n):
            record = await self.tester.send(self.spec)
            hist.record(record.duration_ms)
        return hist.percentile(99.0) if hist.count else None

    async def _baseline(self) -> float | None:
        now = time.monotonic()
        stats = self.target_requests.stats(now, since=now - BASELINE_WINDOW_S)
        if stats.total >= 20:
            return self.target_requests.percentile(now, 99.0, now - BASELINE_WINDOW_S)
        return await self._probe_p99(10)

    async def fire_once(self, stop: asyncio.Event) -> list[Verdict]:
        """One burst and its recovery watch; returns the two verdicts (also emitted)."""
        name = self.burst.name
        baseline = await self._baseline()
        await self.bus.emit(BurstStarted(name, self.burst.target, self.burst.size, time.time()))
        result = await self.tester.run_batch([self.spec] * self.burst.size)
        processed = result.success_count
        rejected = Verdict(
            f"burst_no_rejections:{name}",
            result.error_count == 0,
            f"all {self.burst.size} requests of the burst processed",
            f"{processed}/{result.total} ok; errors: {', '.join(result.errors[:3]) or 'none'}",
            "burst requests were rejected or failed" if result.error_count else "burst absorbed",
        )
        ended = time.monotonic()
        after: list[tuple[float, float]] = []
        horizon = self.burst.recover_within * 1.5
        while not stop.is_set():
            elapsed = time.monotonic() - ended
            if elapsed > horizon:
                break
            p99 = await self._probe_p99()
            if p99 is not None:
                after.append((time.monotonic() - ended, p99))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
        recovered = burst_recovery(
            baseline, after, within_s=self.burst.recover_within, name=f"burst_recovered:{name}"
        )
        await self.bus.emit(
            BurstFinished(
                name,
                self.burst.target,
                self.burst.size,
                processed,
                result.p99,
                baseline,
                recovered.passed,
                time.time(),
            )
        )
        verdicts = [rejected, recovered]
        for verdict in verdicts:
            previous = self._last.get(verdict.name)
            await self.bus.emit(VerdictEvaluated(self.burst.target, verdict, previous, time.time()))
            if verdict.conclusive:
                self._last[verdict.name] = verdict.passed
        return verdicts

    async def run(self, stop: asyncio.Event) -> None:
        schedule = self.burst.schedule.schedule()
        due = first_due(schedule, now=time.time(), rng=self.rng)
        try:
            while not stop.is_set():
                decision = decide(
                    schedule, now=time.time(), due_at=due, running=False, rng=self.rng
                )
                if decision.run_now:
                    await self.fire_once(stop)
                due = decision.next_at
                delay = max(0.0, due - time.time())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
        finally:
            await self.tester.aclose()
