"""Periodic soak analysis per target: SLOs, memory growth, pool saturation, throughput trend.

The verdicts are pure functions of the rolling history (``monitor.analysis``); this loop only
feeds them and publishes ``WindowEvaluated`` per target and ``VerdictEvaluated`` per verdict
(``flipped`` tells a change), which the metrics exporter, alerts and the status page listen to.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from monitor.analysis.memory import memory_growth
from monitor.analysis.pool import pool_saturation
from monitor.analysis.slo import error_rate_slo, latency_slo
from monitor.analysis.throughput import throughput_stability
from monitor.analysis.verdict import Verdict
from monitor.analysis.window import RollingWindow
from monitor.daemon.config.verdicts import Analysis, SloConfig
from monitor.daemon.probing import TargetSeries
from monitor.daemon.rolling import RollingRequests
from monitor.events import (
    EventBus,
    ProbeReading,
    SoakInterval,
    VerdictEvaluated,
    WindowEvaluated,
)


@dataclass
class TargetWatch:
    """Everything the analyses read for one target."""

    name: str
    requests: RollingRequests
    series: TargetSeries
    throughput: dict[str, RollingWindow] = field(default_factory=dict)


def evaluate(watch: TargetWatch, slo: SloConfig, analysis: Analysis, now: float) -> list[Verdict]:
    """Every verdict of one target at ``now`` (pure over the watch's history)."""
    stats = watch.requests.stats(now)
    verdicts = [
        error_rate_slo(stats, max_ratio=slo.error_rate, min_requests=slo.min_requests),
        latency_slo(stats, max_p95_ms=slo.p95_ms, min_requests=slo.min_requests),
    ]
    memory = watch.series.memory
    if len(memory):
        verdicts.append(
            memory_growth(
                memory.times(),
                memory.values(),
                max_mib_per_hour=analysis.memory_growth_mib_per_hour,
                min_span_s=analysis.memory_min_span,
            )
        )
    if watch.series.pool:
        verdicts.append(
            pool_saturation(
                watch.series.pool[-30:], max_saturated_ratio=analysis.pool_max_saturated_ratio
            )
        )
    for soak, series in sorted(watch.throughput.items()):
        verdicts.append(
            throughput_stability(
                series.values(),
                max_drop_ratio=analysis.throughput_max_drop,
                name=f"throughput_stable:{soak}",
            )
        )
    return verdicts


class AnalysisLoop:
    """Evaluates every target every ``every`` seconds until stopped."""

    def __init__(
        self,
        watches: list[TargetWatch],
        *,
        slo: SloConfig,
        analysis: Analysis,
        bus: EventBus,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.watches = watches
        self.slo = slo
        self.analysis = analysis
        self.bus = bus
        self.every = every
        self.clock = clock
        self._last: dict[tuple[str, str], bool] = {}

    async def tick(self) -> list[Verdict]:
        now = self.clock()
        out: list[Verdict] = []
        for watch in self.watches:
            stats = watch.requests.stats(now)
            await self.bus.emit(
                WindowEvaluated(
                    watch.name, stats.total, stats.error_ratio, stats.p95_ms, time.time()
                )
            )
            for verdict in evaluate(watch, self.slo, self.analysis, now):
                out.append(verdict)
                await self._publish(watch.name, verdict)
        return out

    async def _publish(self, target: str, verdict: Verdict) -> None:
        key = (target, verdict.name)
        previous = self._last.get(key)
        await self.bus.emit(VerdictEvaluated(target, verdict, previous, time.time()))
        if verdict.conclusive:
            self._last[key] = verdict.passed

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.tick()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.every)


def feed_watches(bus: EventBus, watches: dict[str, TargetWatch]) -> None:
    """Subscribe the analyses' history to the loops' events: soak intervals fill the target's
    request window and the soak's throughput series, probe readings its memory and pool."""

    def soak_interval(ev: SoakInterval) -> None:
        watch = watches.get(ev.target)
        if watch is None:
            return
        watch.requests.add_histogram(ev.monotonic, ev.requests, ev.errors, ev.histogram)
        series = watch.throughput.get(ev.soak)
        if series is not None and ev.seconds > 0:
            series.add(ev.monotonic, ev.rate)

    def probe_reading(ev: ProbeReading) -> None:
        watch = watches.get(ev.target) if ev.target is not None else None
        if watch is not None:
            watch.series.add_reading(ev)

    bus.on(SoakInterval, soak_interval)
    bus.on(ProbeReading, probe_reading)
