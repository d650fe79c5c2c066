"""The probe protocol and its reading."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from monitor.errors import SoakmonError


class ProbeError(SoakmonError):
    """A probe could not read its source; the message names the source and the cause."""


@dataclass(frozen=True, slots=True)
class Reading:
    """Named values read at wall-clock time ``t`` (seconds since the epoch)."""

    probe: str
    t: float
    values: dict[str, float] = field(default_factory=dict)


class Probe(Protocol):
    """Something the daemon reads periodically."""

    name: str

    async def read(self) -> dict[str, float]:
        """Current values by name (e.g. ``rss_bytes``); raises :class:`ProbeError`."""
        ...
