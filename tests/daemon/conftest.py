"""Helpers for daemon tests: the daemon in-process, and reference targets as real processes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from monitor.daemon.app import Daemon
from monitor.daemon.config import DaemonConfig
from monitor.engine.tracing import setup_tracing
from monitor.observe.metrics import MonitorMetrics
from tests.plugins.target_process import TargetProcess


@pytest.fixture
async def targets(tmp_path: Path) -> AsyncIterator[list[TargetProcess]]:
    """Append ``TargetProcess`` objects; all are killed at teardown."""
    started: list[TargetProcess] = []
    yield started
    for target in started:
        target.kill()


@contextlib.asynccontextmanager
async def running_daemon(config: dict[str, Any], **kwargs: Any) -> AsyncIterator[Daemon]:
    """A daemon built from ``config`` (a dict as in the YAML file), served on a free port."""
    config = {"server": {"host": "127.0.0.1", "port": 0}, **config}
    daemon = Daemon(
        DaemonConfig.model_validate(config),
        metrics=MonitorMetrics(CollectorRegistry()),
        tracer_provider=setup_tracing({}),
        **kwargs,
    )
    task = asyncio.create_task(daemon.run(install_signals=False), name="test-daemon")
    deadline = time.monotonic() + 30
    while not daemon.state.ready:
        if task.done():
            await task
        assert time.monotonic() < deadline, "daemon did not become ready"
        await asyncio.sleep(0.02)
    try:
        yield daemon
    finally:
        daemon.stop()
        await asyncio.wait_for(task, 30)


async def wait_for(predicate: Any, within: float, what: str, every: float = 0.5) -> None:
    """Poll ``predicate()`` until true, or fail naming ``what``."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(every)
    raise AssertionError(f"timed out after {within:g} s waiting for {what}")


def verdict(daemon: Daemon, target: str, name: str) -> dict[str, Any] | None:
    for item in daemon.state.status()["analysis"]:
        if item["target"] == target and item["name"] == name:
            return dict(item)
    return None
