"""Periodic probe reads, published as ``ProbeReading`` events.

The loop only reads and publishes; the metrics exporter, the status API and the analyses'
history (:class:`TargetSeries`) subscribe. Probe kinds come from
:data:`monitor.observe.probes.registry.PROBE_KINDS` (one module per kind).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from monitor.analysis.pool import PoolSample
from monitor.analysis.window import RollingWindow
from monitor.daemon.config.probes import ProbeConfig
from monitor.events import EventBus, ProbeReading
from monitor.observe.probes import Probe, ProbeError
from monitor.observe.probes.registry import PROBE_KINDS

log = logging.getLogger(__name__)

MEMORY_KEYS = ("memory_bytes", "rss_bytes")


def build_probe(cfg: ProbeConfig) -> Probe:
    """The probe a config entry describes (its kind from the registry, its fields validated)."""
    return PROBE_KINDS.get_entry(cfg.kind).create(cfg.name, cfg.options)


def memory_of(values: Mapping[str, float]) -> float | None:
    """The memory value of a reading (``memory_bytes`` or ``rss_bytes``), if any."""
    return next((float(values[k]) for k in MEMORY_KEYS if k in values), None)


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

    def add_reading(self, ev: ProbeReading) -> None:
        """Record a reading of a probe of this target (memory after the warm-up, pool)."""
        if not ev.ok or PROBE_KINDS.get_entry(ev.kind).daemon_itself:
            return
        values = dict(ev.values)
        memory = memory_of(values)
        if memory is not None and ev.monotonic >= self.memory_from:
            self.memory.add(ev.monotonic, memory)
        if "pool_size" in values or "pool_in_use" in values:
            self.add_pool(
                PoolSample(
                    values.get("pool_size", 0.0),
                    values.get("pool_in_use", 0.0),
                    values.get("pool_waiting", 0.0),
                )
            )


class ProbeLoop:
    """Reads one probe every ``cfg.every`` seconds until stopped; read errors never stop it."""

    def __init__(self, cfg: ProbeConfig, probe: Probe, *, bus: EventBus) -> None:
        self.cfg = cfg
        self.probe = probe
        self.bus = bus
        self._consecutive = 0
        self._last_error: str | None = None

    async def read_once(self) -> ProbeReading:
        cfg = self.cfg
        try:
            values = await self.probe.read()
        except ProbeError as exc:
            self._consecutive += 1
            if self._last_error != str(exc):  # log changes, not every failed read
                log.warning("probe %s: %s", cfg.name, exc)
            self._last_error = str(exc)
            reading = ProbeReading(
                cfg.name, cfg.kind, cfg.target, {}, time.time(), time.monotonic(), str(exc)
            )
        else:
            if self._consecutive:
                log.info(
                    "probe %s: reading again after %d failed read(s)", cfg.name, self._consecutive
                )
            self._consecutive, self._last_error = 0, None
            reading = ProbeReading(
                cfg.name, cfg.kind, cfg.target, dict(values), time.time(), time.monotonic()
            )
        await self.bus.emit(reading)
        return reading

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.read_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.cfg.every)
