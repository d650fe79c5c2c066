"""Alert sink kinds by name (``kind:`` in the config). A new kind is one module in
:mod:`monitor.alerts.sinks` that registers a builder here, plus its config model in
:mod:`monitor.alerts.config`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from monitor.alerts.delivery import Transport
from monitor.registry import Registry


@dataclass(frozen=True, slots=True)
class SinkContext:
    """What a sink may need from the daemon."""

    external_url: str
    """The daemon's URL as people reach it."""


SinkBuilder = Callable[[Any, Any, SinkContext], list[Transport]]
"""``build(sink_config, alerting_config, context)`` -> one transport per receiver."""

SINKS: Registry[SinkBuilder] = Registry("alert sink kind", builtins="monitor.alerts.sinks")
