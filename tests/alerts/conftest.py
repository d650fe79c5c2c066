"""Alerting tests reuse the daemon tests' helpers (reference targets as processes)."""

from tests.daemon.conftest import targets

__all__ = ["targets"]
