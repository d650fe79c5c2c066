"""``kind: promql`` — named PromQL expressions evaluated by a Prometheus server."""

from __future__ import annotations

from pydantic import Field

from monitor.observe.probes.base import Probe
from monitor.observe.probes.promql import PromQLProbe
from monitor.observe.probes.registry import ProbeSettings, probe_kind


class PromQLSettings(ProbeSettings):
    url: str = Field(pattern=r"^https?://")
    """Prometheus base URL."""
    queries: dict[str, str] = Field(min_length=1)
    """Probe value -> PromQL expression."""


@probe_kind("promql", settings=PromQLSettings)
def build(name: str, settings: PromQLSettings) -> Probe:
    """PromQL queries against Prometheus."""
    return PromQLProbe(name, settings.url, settings.queries)
