"""``RequestHooks``: a small typed event bus around each request (Locust ``event.py`` style).

- ``before_send(spec) -> extra headers``: e.g. inject a W3C ``traceparent``.
- ``request_done(record)``: e.g. Prometheus counters and histograms.

A listener that raises is logged (first time with traceback) and skipped; it never breaks a run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from monitor.engine.spec import RequestRecord, RequestSpec

if TYPE_CHECKING:
    from monitor.engine.tracing import RequestTracer

logger = logging.getLogger(__name__)

BeforeSend = Callable[[RequestSpec], Mapping[str, str] | None]
RequestDone = Callable[[RequestRecord], None]


class RequestHooks:
    """Listeners called by the engine around every request."""

    __slots__ = ("_before_send", "_failed", "_request_done", "tracer")

    def __init__(self) -> None:
        self._before_send: list[BeforeSend] = []
        self._request_done: list[RequestDone] = []
        self._failed: dict[int, int] = {}
        self.tracer: RequestTracer | None = None
        """The request tracer attached (:meth:`RequestTracer.attach`): a load run in worker
        processes has them trace their requests as it does."""

    def add_before_send(self, listener: BeforeSend) -> BeforeSend:
        """Register ``listener(spec) -> extra headers | None``; usable as a decorator."""
        self._before_send.append(listener)
        return listener

    def add_request_done(self, listener: RequestDone) -> RequestDone:
        """Register ``listener(record)``; usable as a decorator."""
        self._request_done.append(listener)
        return listener

    def remove(self, listener: Callable[..., object]) -> None:
        """Unregister a listener from whichever hook holds it."""
        for listeners in (self._before_send, self._request_done):
            if listener in listeners:
                listeners.remove(listener)  # type: ignore[arg-type]

    @property
    def has_before_send(self) -> bool:
        """True when some listener may add headers."""
        return bool(self._before_send)

    @property
    def before_send_listeners(self) -> list[BeforeSend]:
        """The ``before_send`` listeners: the live list, for a hot path that checks whether it
        is empty per request without a call (read it, never change it)."""
        return self._before_send

    @property
    def has_request_done(self) -> bool:
        """True when some listener wants finished records."""
        return bool(self._request_done)

    def before_send(self, spec: RequestSpec) -> dict[str, str]:
        """Extra headers from every ``before_send`` listener (later listeners win)."""
        extra: dict[str, str] = {}
        for listener in self._before_send:
            try:
                headers = listener(spec)
            except Exception:
                self._log_failure(listener, "before_send")
                continue
            if headers:
                extra.update(headers)
        return extra

    def request_done(self, record: RequestRecord) -> None:
        """Hand ``record`` to every ``request_done`` listener."""
        for listener in self._request_done:
            try:
                listener(record)
            except Exception:
                self._log_failure(listener, "request_done")

    def _log_failure(self, listener: Callable[..., object], hook: str) -> None:
        key = id(listener)
        seen = self._failed.get(key, 0)
        self._failed[key] = seen + 1
        name = getattr(listener, "__qualname__", repr(listener))
        if seen == 0:
            logger.exception("%s listener %s failed (ignored)", hook, name)
        elif (seen + 1) % 1000 == 0:
            logger.error("%s listener %s has failed %d times (ignored)", hook, name, seen + 1)

    def failures(self) -> int:
        """How many listener calls have failed so far."""
        return sum(self._failed.values())
