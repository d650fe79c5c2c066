"""Probe kinds: one module per kind in ``monitor.observe.probes.kinds`` registers itself.

A kind is a settings model (the fields a daemon config entry of that kind takes, besides
``name``, ``kind``, ``target`` and ``every``) and a function building the probe from them::

    class PortSettings(ProbeSettings):
        port: int

    @probe_kind("port", settings=PortSettings)
    def build(name: str, settings: PortSettings) -> Probe:
        return PortProbe(name, settings.port)

The daemon config validates each probe's fields against its kind's settings at load time, so a
new kind is one new file and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from monitor.observe.probes.base import Probe
from monitor.registry import Registry

S = TypeVar("S", bound=BaseModel)


class ProbeSettings(BaseModel):
    """Base of every kind's settings: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


@dataclass(frozen=True, slots=True)
class ProbeKind:
    """A registered probe kind."""

    name: str
    settings: type[BaseModel]
    build: Callable[[str, Any], Probe]
    description: str
    daemon_itself: bool = False
    """Reads the daemon's own process (exported as the daemon's memory, not a target's)."""

    def create(self, name: str, options: Mapping[str, Any]) -> Probe:
        """Validate ``options`` (raises ``pydantic.ValidationError``) and build the probe."""
        return self.build(name, self.settings.model_validate(dict(options)))


PROBE_KINDS: Registry[ProbeKind] = Registry("probe kind", builtins="monitor.observe.probes.kinds")
"""Every probe kind by name; the built-ins load on first use."""


def probe_kind(
    name: str, *, settings: type[S], daemon_itself: bool = False, description: str | None = None
) -> Callable[[Callable[[str, S], Probe]], Callable[[str, S], Probe]]:
    """Register a probe kind: ``build(name, settings) -> Probe`` with its settings model."""

    def register(build: Callable[[str, S], Probe]) -> Callable[[str, S], Probe]:
        doc = description or (build.__doc__ or name).strip().splitlines()[0]
        PROBE_KINDS.add(name, ProbeKind(name, settings, build, doc, daemon_itself))
        return build

    return register


__all__ = ["PROBE_KINDS", "ProbeKind", "ProbeSettings", "probe_kind"]
