"""Shared fixtures: no test may leave asyncio tasks behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

pytest_plugins = [
    "tests.plugins.prometheus",
    "tests.plugins.alertmanager",
    "tests.plugins.postgres",
    "tests.plugins.reference",
    "tests.plugins.kube",
    "tests.plugins.toxiproxy",
    "tests.plugins.tls",
    "tests.plugins.otlp",
]


@pytest.fixture(autouse=True)
async def _no_leftover_tasks() -> AsyncIterator[None]:
    """Fail a test that leaves asyncio tasks running (kopf-style hygiene)."""
    before = asyncio.all_tasks()
    yield
    await asyncio.sleep(0)
    left = {t for t in asyncio.all_tasks() - before if not t.done()}
    left.discard(asyncio.current_task())  # type: ignore[arg-type]
    if left:
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        names = sorted(t.get_name() for t in left)
        pytest.fail(f"test left {len(left)} asyncio task(s) running: {names}")
