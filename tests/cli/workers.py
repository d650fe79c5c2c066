"""Waiting for the worker processes a ``soakmon`` command started (``--processes``, a phase's
``load: {processes: N}``)."""

from __future__ import annotations

import asyncio
import contextlib

import psutil


async def started_workers(
    pid: int, module: str, n: int, *, within_s: float
) -> list[psutil.Process]:
    """The ``n`` processes below ``pid`` that run ``module``, once all have started; an
    AssertionError after ``within_s`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        found = []
        for child in psutil.Process(pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if module in " ".join(child.cmdline()):
                    found.append(child)
        if len(found) >= n:
            return found
        if loop.time() > deadline:
            raise AssertionError(f"{n} {module} workers did not start within {within_s:g} s")
        await asyncio.sleep(0.05)
