"""Loop kinds: what the daemon runs, one module per kind in ``monitor.daemon.loops``.

A loop kind is a builder ``build(ctx) -> [(name, factory), ...]`` registered with
``@LOOP_KINDS.register("soak")``; ``Daemon._build`` calls every registered builder with the
same :class:`LoopContext` and hands each factory to the supervisor. Loops only publish on
``ctx.bus``; the status API, the metrics exporter and the analyses' history subscribe.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from opentelemetry.sdk.trace import TracerProvider

from monitor.daemon.analyzing import TargetWatch
from monitor.daemon.chaosing import ChaosControl
from monitor.daemon.config import DaemonConfig
from monitor.daemon.jobs import SuiteRunner
from monitor.daemon.state import DaemonState
from monitor.daemon.supervisor import TaskFactory
from monitor.engine import RequestHooks
from monitor.events import EventBus
from monitor.observe.metrics import MonitorMetrics
from monitor.registry import Registry


@dataclass(frozen=True)
class LoopContext:
    """Everything a loop builder may use."""

    config: DaemonConfig
    bus: EventBus
    state: DaemonState
    metrics: MonitorMetrics
    watches: dict[str, TargetWatch]
    rng: random.Random
    suite_runner: SuiteRunner
    tracer_provider: TracerProvider
    hooks: Callable[[str, str, str], RequestHooks]
    """``hooks(suite, scenario, target)``: request hooks exporting metrics under these labels,
    traced."""
    chaos: ChaosControl | None = None
    """The kill switch and journal of the chaos experiments."""


Loops = Iterable[tuple[str, TaskFactory]]
LoopBuilder = Callable[[LoopContext], Loops]

LOOP_KINDS: Registry[LoopBuilder] = Registry("loop kind", builtins="monitor.daemon.loops")
"""Every loop kind by name; the built-ins (suite, soak, burst, probe, analysis) load on first
use."""

__all__ = ["LOOP_KINDS", "LoopBuilder", "LoopContext", "Loops"]
