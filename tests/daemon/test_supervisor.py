"""The supervisor keeps the process up through crashes and stops within its grace period."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import pytest

from monitor.daemon.supervisor import Supervisor


async def test_a_crashing_task_is_restarted_and_the_others_keep_running(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sup = Supervisor(backoff_initial_s=0.01, backoff_max_s=0.02)
    attempts = 0
    ticks = 0

    async def flaky(stop: asyncio.Event) -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 4:
            raise RuntimeError(f"boom {attempts}")
        await stop.wait()

    async def steady(stop: asyncio.Event) -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.005)

    sup.add("flaky", flaky)
    sup.add("steady", steady)
    with caplog.at_level(logging.ERROR):
        runner = asyncio.create_task(sup.run())
        await asyncio.sleep(0.3)
        sup.stop.set()
        await asyncio.wait_for(runner, 2)
    assert attempts == 4
    assert sup.tasks["flaky"].restarts == 3
    assert sup.tasks["flaky"].last_error == "RuntimeError: boom 3"
    assert ticks > 10
    assert "root task 'flaky' crashed" in caplog.text


async def test_stop_waits_for_in_flight_work_within_the_grace_period() -> None:
    sup = Supervisor(grace_s=2.0)
    finished = asyncio.Event()

    async def run_in_progress(stop: asyncio.Event) -> None:
        await stop.wait()
        await asyncio.sleep(0.1)  # the run in flight finishes after the stop request
        finished.set()

    sup.add("suite", run_in_progress)
    runner = asyncio.create_task(sup.run())
    await asyncio.sleep(0.01)
    sup.stop.set()
    await asyncio.wait_for(runner, 3)
    assert finished.is_set()


async def test_stragglers_are_cancelled_after_the_grace_period() -> None:
    sup = Supervisor(grace_s=0.1, cancel_timeout_s=1.0)
    cancelled = asyncio.Event()

    async def stubborn(stop: asyncio.Event) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    sup.add("stubborn", stubborn)
    loop = asyncio.get_running_loop()
    started = loop.time()
    runner = asyncio.create_task(sup.run())
    await asyncio.sleep(0.01)
    sup.stop.set()
    await asyncio.wait_for(runner, 3)
    assert cancelled.is_set()
    assert loop.time() - started < 1.0


async def test_sigterm_only_sets_the_stop_flag() -> None:
    sup = Supervisor(grace_s=1.0)

    async def idle(stop: asyncio.Event) -> None:
        await stop.wait()

    sup.add("idle", idle)
    sup.install_signal_handlers()
    try:
        runner = asyncio.create_task(sup.run())
        await asyncio.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(runner, 2)
    finally:
        sup.remove_signal_handlers()
    assert sup.stop.is_set()
