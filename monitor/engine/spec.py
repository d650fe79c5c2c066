"""What to send (``RequestSpec``) and what happened (``RequestRecord``)."""

from __future__ import annotations

import json as _json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

ErrorKind = Literal["refused", "reset", "timeout", "tls", "malformed", "other"]
"""Transport failure classes recorded in :attr:`RequestRecord.error_kind`."""


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """One request to send."""

    method: str
    path: str
    """Relative to the tester's ``base_url``, or an absolute ``http(s)://`` URL."""
    json: Any = None
    headers: Mapping[str, str] | None = None
    name: str | None = None
    """Operation label for metrics; default ``"{method} {path}"``."""
    timeout: float | None = None
    """Per-request timeout override in seconds."""

    @property
    def label(self) -> str:
        """The operation name used in records and metrics."""
        return self.name if self.name is not None else f"{self.method} {self.path}"


@dataclass(slots=True)
class RequestRecord:
    """What happened to one request."""

    name: str
    method: str
    url: str
    started_at: float
    """Wall clock (``time.time()``) when the request actually started."""
    start: float
    """``time.monotonic()`` when the request actually started (asyncio's loop clock; uvloop's
    own clock only has millisecond resolution, so the engine reads the OS clock)."""
    intended_start: float | None
    """``time.monotonic()`` at which it was scheduled to start (open model), else ``None``."""
    duration_ms: float
    """Measured from ``intended_start`` when given, else from ``start``."""
    status: int | None
    bytes_received: int
    error: str | None
    error_kind: ErrorKind | None
    sent: bool
    """True when the request may have reached the server. An error with ``sent=True``
    means the outcome is unknown (the request may have taken effect)."""
    body: bytes | None = None
    headers: Mapping[str, str] | None = None
    """Response headers, kept only with ``keep_body=True``."""
    sent_headers: Mapping[str, str] | None = None
    """Headers injected by ``RequestHooks.before_send`` listeners (e.g. ``traceparent``)."""
    invoked: float | None = None
    """``time.monotonic()`` when its first bytes left, for a request held back until a barrier
    released its final byte (synchronised delivery; ``start`` is then the release): the server
    may have acted on it from then on, so a history's invocation time. ``None``: ``start``."""

    @property
    def ok(self) -> bool:
        """Default success rule: a response below 400 and no transport error."""
        return self.error is None and self.status is not None and self.status < 400

    def json(self) -> Any:
        """The parsed JSON body, or ``None`` (no body kept, empty or not JSON). Never raises."""
        if not self.body:
            return None
        try:
            return _json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None
