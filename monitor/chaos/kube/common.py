"""What the Kubernetes action kinds share: their settings' field types, the API client each
action makes on first use, and waiting for a condition with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from pydantic import Field

from monitor.chaos.kube.api import KubeChaosApi
from monitor.engine.duration_fields import PositiveDuration

T = TypeVar("T")

Seconds = PositiveDuration
"""A duration: ``30s``, ``2m``, ``1m30s`` or a number of seconds."""
Namespace = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]
ObjectName = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", max_length=253)]

POLL_S = 0.2
"""How often a wait asks the API server again (loopback tests see recoveries to ~0.2 s)."""


class KubeActionMixin:
    """An action's API client, made on first use (credentials load then: a missing kubeconfig
    fails the action with the cause, not the config load), and a background watch that
    measures how long the cluster takes to recover while the step is held."""

    _api: KubeChaosApi | None = None
    _watch: asyncio.Task[float | None] | None = None

    @property
    def api(self) -> KubeChaosApi:
        if self._api is None:
            self._api = KubeChaosApi()
        return self._api

    def use_api(self, api: KubeChaosApi) -> None:
        """Point the action at another client (tests: a ServiceAccount's token)."""
        self._api = api

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run one blocking API call in a thread."""
        return await asyncio.to_thread(fn, *args)

    def start_watch(
        self, check: Callable[[], Awaitable[object]], since: float, timeout_s: float
    ) -> None:
        """Ask ``check`` in the background (from inject on, while the fault is held) until it
        is truthy; :meth:`watched` then gives the seconds from ``since`` (wall clock)."""

        async def watch() -> float | None:
            try:
                got, _ = await wait_until(check, timeout_s)
            except Exception:  # the revert asks again and reports the error
                return None
            return time.time() - since if got else None

        self._watch = asyncio.create_task(watch(), name="soakmon-chaos-recovery-watch")

    async def watched(self, timeout_s: float) -> tuple[float | None, float]:
        """What the background watch measured (None: not recovered in time, or no watch as in
        a revert after a crash), waiting for a watch still running; and how long the revert
        should still wait itself (``timeout_s`` without a watch, else none)."""
        task, self._watch = self._watch, None
        if task is None:
            return None, timeout_s
        return await task, 0.0


async def wait_until(
    check: Callable[[], Awaitable[T | None]], timeout_s: float
) -> tuple[T | None, float]:
    """Ask ``check`` until it returns something truthy or ``timeout_s`` passes; returns the last
    answer and the seconds waited."""
    t0 = time.monotonic()
    deadline = t0 + timeout_s
    while True:
        got = await check()
        if got or time.monotonic() >= deadline:
            return got, time.monotonic() - t0
        await asyncio.sleep(POLL_S)
