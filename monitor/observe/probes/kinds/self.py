"""``kind: self`` — the daemon's own memory."""

from __future__ import annotations

from monitor.observe.probes.base import Probe
from monitor.observe.probes.process import SelfMemoryProbe
from monitor.observe.probes.registry import ProbeSettings, probe_kind


class SelfSettings(ProbeSettings):
    """No settings."""


@probe_kind("self", settings=SelfSettings, daemon_itself=True)
def build(name: str, settings: SelfSettings) -> Probe:
    """The daemon itself (resident and virtual memory)."""
    return SelfMemoryProbe(name)
