"""Periodic probe reads: metrics gauges, the status page, and the soak analyses' history."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from monitor.analysis.pool import PoolSample
from monitor.analysis.window import RollingWindow
from monitor.daemon.config import ProbeConfig
from monitor.observe.metrics import MonitorMetrics
from monitor.observe.probes import (
    KubernetesPodMemoryProbe,
    MetricsApiSource,
    Probe,
    ProbeError,
    ProcessMemoryProbe,
    PromQLProbe,
    SelfMemoryProbe,
    TargetMetricsProbe,
)
from monitor.observe.probes.scrape import DEFAULT_SERIES

log = logging.getLogger(__name__)


def build_probe(cfg: ProbeConfig) -> Probe:
    """The probe a config entry describes (a registry keyed by ``kind``)."""
    builders: dict[str, Callable[[], Probe]] = {
        "self": lambda: SelfMemoryProbe(cfg.name),
        "process": lambda: ProcessMemoryProbe(cfg.name, pid=cfg.pid, match=cfg.match),
        "scrape": lambda: TargetMetricsProbe(
            cfg.name, cfg.url or "", series=cfg.series or DEFAULT_SERIES
        ),
        "promql": lambda: PromQLProbe(cfg.name, cfg.url or "", cfg.queries),
        "kubernetes": lambda: KubernetesPodMemoryProbe(
            cfg.name, cfg.namespace or "", cfg.selector or "", MetricsApiSource()
        ),
    }
    return builders[cfg.kind]()


@dataclass
class TargetSeries:
    """History of one target's resources, for the soak analyses."""

    memory: RollingWindow
    pool: list[PoolSample] = field(default_factory=list)
    memory_from: float = 0.0
    """Monotonic time before which memory samples are ignored (warm-up)."""
    max_pool_samples: int = 360

    def add_pool(self, sample: PoolSample) -> None:
        self.pool.append(sample)
        if len(self.pool) > self.max_pool_samples:
            del self.pool[: len(self.pool) - self.max_pool_samples]


MEMORY_KEYS = ("memory_bytes", "rss_bytes")


class ProbeLoop:
    """Reads one probe every ``cfg.every`` seconds until stopped; errors never stop it."""

    def __init__(
        self,
        cfg: ProbeConfig,
        probe: Probe,
        *,
        metrics: MonitorMetrics,
        status: dict[str, object],
        series: TargetSeries | None,
    ) -> None:
        self.cfg = cfg
        self.probe = probe
        self.metrics = metrics
        self.status = status
        self.series = series
        self.errors = 0
        self._consecutive = 0

    def _apply(self, values: dict[str, float]) -> None:
        cfg, m = self.cfg, self.metrics
        now = time.monotonic()
        if cfg.kind == "self" and "rss_bytes" in values:
            m.resident_memory.set(values["rss_bytes"])
        if cfg.target is None:
            return
        memory = next((values[k] for k in MEMORY_KEYS if k in values), None)
        if memory is not None and cfg.kind != "self":
            m.target_memory.labels(cfg.target, cfg.name).set(memory)
            if self.series is not None and now >= self.series.memory_from:
                self.series.memory.add(now, memory)
        if "pool_size" in values or "pool_in_use" in values:
            m.set_pool(cfg.target, values)
            if self.series is not None:
                self.series.add_pool(
                    PoolSample(
                        values.get("pool_size", 0.0),
                        values.get("pool_in_use", 0.0),
                        values.get("pool_waiting", 0.0),
                    )
                )

    async def read_once(self) -> None:
        try:
            values = await self.probe.read()
        except ProbeError as exc:
            self.errors += 1
            self._consecutive += 1
            self.metrics.probe_errors.labels(self.cfg.name).inc()
            if self.status.get("error") != str(exc):  # log changes, not every failed read
                log.warning("probe %s: %s", self.cfg.name, exc)
            self.status.update({"error": str(exc), "errors": self.errors})
            return
        if self._consecutive:
            log.info(
                "probe %s: reading again after %d failed read(s)", self.cfg.name, self._consecutive
            )
            self._consecutive = 0
        self._apply(values)
        self.status.update(
            {
                "kind": self.cfg.kind,
                "target": self.cfg.target,
                "values": values,
                "error": None,
                "errors": self.errors,
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
        )

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.read_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.cfg.every)
