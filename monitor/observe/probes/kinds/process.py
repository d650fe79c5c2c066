"""``kind: process`` — a local process's memory, by pid or by command-line substring."""

from __future__ import annotations

from pydantic import model_validator

from monitor.observe.probes.base import Probe
from monitor.observe.probes.process import ProcessMemoryProbe
from monitor.observe.probes.registry import ProbeSettings, probe_kind


class ProcessSettings(ProbeSettings):
    pid: int | None = None
    """Process id. Default: none."""
    match: str | None = None
    """Substring of the command line (found again after a restart). Default: none."""

    @model_validator(mode="after")
    def _one(self) -> ProcessSettings:
        if (self.pid is None) == (self.match is None):
            raise ValueError("a process probe needs exactly one of `pid` and `match`")
        return self


@probe_kind("process", settings=ProcessSettings)
def build(name: str, settings: ProcessSettings) -> Probe:
    """A local process (resident memory)."""
    return ProcessMemoryProbe(name, pid=settings.pid, match=settings.match)
