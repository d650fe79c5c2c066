"""The daemon's lifecycle events and a small typed bus (Locust ``event.py`` style).

Metrics, alerts and the status API subscribe to events instead of being called from the
scheduler. A listener that raises is logged and skipped; it never stops the daemon.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from monitor.analysis.verdict import Verdict
from monitor.suites.results import CheckResult, RunResult

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunStarted:
    """A scheduled suite run begins."""

    suite: str
    target: str
    at: float


@dataclass(frozen=True, slots=True)
class RunFinished:
    """A suite run ended; ``result`` is None when it crashed or timed out (see ``error``)."""

    suite: str
    target: str
    started_at: float
    finished_at: float
    result: RunResult | None
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.result is not None and self.result.passed and self.error is None


@dataclass(frozen=True, slots=True)
class CheckFailed:
    """A check failed in a run (fires each time it fails)."""

    suite: str
    scenario: str
    target: str
    check: CheckResult
    at: float


@dataclass(frozen=True, slots=True)
class CheckRecovered:
    """A check that was failing passed again."""

    suite: str
    scenario: str
    target: str
    check: str
    at: float


@dataclass(frozen=True, slots=True)
class VerdictEvaluated:
    """A soak analysis or SLO verdict (memory growth, pool, throughput, burst, SLO) was
    evaluated; ``previous`` is the last conclusive outcome (None before the first)."""

    target: str
    verdict: Verdict
    previous: bool | None
    at: float

    @property
    def flipped(self) -> bool:
        """A conclusive verdict whose outcome differs from the previous conclusive one."""
        return self.verdict.conclusive and self.previous != self.verdict.passed


Event = RunStarted | RunFinished | CheckFailed | CheckRecovered | VerdictEvaluated
E = TypeVar("E", bound=Event)
Listener = Callable[[Any], Awaitable[None] | None]


@dataclass
class EventBus:
    """Dispatches events to the listeners registered for their type."""

    _listeners: dict[type[Any], list[Listener]] = field(default_factory=dict)

    def on(self, kind: type[E], listener: Callable[[E], Awaitable[None] | None]) -> None:
        """Call ``listener(event)`` for every event of type ``kind`` (sync or async)."""
        self._listeners.setdefault(kind, []).append(listener)

    async def emit(self, event: Event) -> None:
        for listener in self._listeners.get(type(event), []):
            try:
                maybe = listener(event)
                if maybe is not None:
                    await maybe
            except Exception:
                name = getattr(listener, "__qualname__", repr(listener))
                log.exception("listener %s failed on %s (ignored)", name, type(event).__name__)
