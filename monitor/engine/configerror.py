"""The engine's configuration error, apart from the HTTP client so pure schedules need no I/O."""

from __future__ import annotations

from monitor.errors import UsageError


class EngineConfigError(UsageError, ValueError):
    """A tester or executor was configured with an invalid value (bad URL, timeout, ...)."""


__all__ = ["EngineConfigError"]
