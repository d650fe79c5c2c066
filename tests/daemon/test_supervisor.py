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


async def test_a_configuration_error_fails_the_task_for_good_and_a_crash_is_retried() -> None:
    from monitor.errors import UsageError
    from monitor.events import EventBus, LoopCrashed, LoopFailed

    bus = EventBus()
    seen: list[object] = []
    bus.on(LoopFailed, seen.append)
    bus.on(LoopCrashed, seen.append)
    sup = Supervisor(backoff_initial_s=0.01, backoff_max_s=0.02, bus=bus)
    calls = {"bad": 0, "flaky": 0}
    retried = asyncio.Event()
    bus.on(LoopFailed, lambda ev: retried.set() if calls["flaky"] >= 2 else None)

    async def bad(stop: asyncio.Event) -> None:
        calls["bad"] += 1
        raise UsageError("profile 'reference' does not map operation 'nope'")

    async def flaky(stop: asyncio.Event) -> None:
        calls["flaky"] += 1
        if calls["flaky"] == 1:
            raise ConnectionResetError("peer went away")
        if sup.tasks["bad"].state == "failed":
            retried.set()
        await stop.wait()

    sup.add("bad", bad)
    sup.add("flaky", flaky)
    runner = asyncio.create_task(sup.run())
    await asyncio.wait_for(retried.wait(), 5)
    await asyncio.sleep(0.1)  # several backoff periods: a failed task stays failed
    sup.stop.set()
    await asyncio.wait_for(runner, 2)
    assert calls["bad"] == 1
    assert sup.tasks["bad"].restarts == 0
    assert sup.tasks["flaky"].restarts == 1
    assert sorted(type(e).__name__ for e in seen) == ["LoopCrashed", "LoopFailed"]
    failed = next(e for e in seen if isinstance(e, LoopFailed))
    assert failed.loop == "bad"
    assert "does not map operation 'nope'" in failed.error


async def test_stop_has_a_hard_deadline_even_for_a_task_that_ignores_cancellation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sup = Supervisor(grace_s=0.1, cancel_timeout_s=0.1)
    release = asyncio.Event()

    async def stubborn(stop: asyncio.Event) -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue  # a badly written loop that swallows cancellation

    sup.add("stubborn", stubborn)
    runner = asyncio.create_task(sup.run())
    await asyncio.sleep(0.05)
    sup.stop.set()
    with caplog.at_level(logging.ERROR):
        await asyncio.wait_for(runner, 10)  # would hang forever without the deadline
    assert "ignored cancellation" in caplog.text
    assert "soakmon:stubborn" in caplog.text
    release.set()
    for task in asyncio.all_tasks():
        if task.get_name() == "soakmon:stubborn":
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
