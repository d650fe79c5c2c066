"""``kind: scrape`` — a target's own ``/metrics`` (memory and connection pool series)."""

from __future__ import annotations

from pydantic import Field

from monitor.observe.probes.base import Probe
from monitor.observe.probes.registry import ProbeSettings, probe_kind
from monitor.observe.probes.scrape import DEFAULT_SERIES, TargetMetricsProbe


class ScrapeSettings(ProbeSettings):
    url: str = Field(pattern=r"^https?://")
    """The /metrics URL."""
    series: dict[str, str] = Field(default_factory=dict)
    """Probe value -> series name (pool_size, pool_in_use, pool_waiting, memory_bytes).
    Default: the reference target's series."""


@probe_kind("scrape", settings=ScrapeSettings)
def build(name: str, settings: ScrapeSettings) -> Probe:
    """A target's Prometheus /metrics."""
    return TargetMetricsProbe(name, settings.url, series=settings.series or DEFAULT_SERIES)
