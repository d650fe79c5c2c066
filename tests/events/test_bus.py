"""The event bus: inline listeners see an event when ``emit`` returns, a slow async listener
never stalls the publisher, errors stay inside the listener."""

from __future__ import annotations

import asyncio
import logging

import pytest

from monitor.analysis.verdict import Verdict
from monitor.events import (
    EVENT_TYPES,
    BurstStarted,
    ChaosActionEnded,
    ChaosActionStarted,
    EventBus,
    RunStarted,
    VerdictEvaluated,
)


async def test_inline_listeners_run_in_order_before_emit_returns() -> None:
    bus, seen = EventBus(), []
    bus.on(RunStarted, lambda ev: seen.append(("a", ev.suite)))
    bus.on(RunStarted, lambda ev: seen.append(("b", ev.suite)))
    bus.on(BurstStarted, lambda ev: seen.append(("burst", ev.burst)))
    await bus.emit(RunStarted("points", "staging", 1.0))
    assert seen == [("a", "points"), ("b", "points")]


async def test_a_failing_listener_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus, seen = EventBus(), []

    def boom(ev: RunStarted) -> None:
        raise RuntimeError("sink down")

    async def aboom(ev: RunStarted) -> None:
        raise RuntimeError("async sink down")

    bus.on(RunStarted, boom)
    bus.on(RunStarted, aboom)
    bus.on(RunStarted, lambda ev: seen.append(ev.suite))
    with caplog.at_level(logging.ERROR):
        await bus.emit(RunStarted("points", "staging", 1.0))
        await bus.drain()
    assert seen == ["points"]
    assert "sink down" in caplog.text
    assert "async sink down" in caplog.text
    await bus.aclose()


async def test_a_stuck_async_listener_never_stalls_the_publisher() -> None:
    bus, release = EventBus(queue_size=5), asyncio.Event()
    fast: list[int] = []
    slow: list[int] = []

    async def stuck(ev: ChaosActionStarted) -> None:
        await release.wait()
        slow.append(int(ev.at))

    bus.on(ChaosActionStarted, stuck)
    bus.on(ChaosActionStarted, lambda ev: fast.append(int(ev.at)))
    await bus.emit(ChaosActionStarted("a0", "latency", "staging", 0.0))
    await asyncio.sleep(0)  # the worker takes event 0 and blocks on it
    for i in range(1, 20):  # would hang here if emit awaited the stuck listener
        await bus.emit(ChaosActionStarted(f"a{i}", "latency", "staging", float(i)))
    assert fast == list(range(20))
    assert slow == []
    release.set()
    await bus.drain()
    # the first event was taken by the worker before it blocked; the queue kept the newest 5
    assert slow == [0, 15, 16, 17, 18, 19]
    assert sum(bus.dropped.values()) == 14
    await bus.aclose()


async def test_one_async_listener_on_several_kinds_sees_publishing_order() -> None:
    bus, seen = EventBus(), []

    async def sink(ev: object) -> None:
        await asyncio.sleep(0)
        seen.append(type(ev).__name__)

    bus.on_any(sink)
    await bus.emit(ChaosActionStarted("a", "pod-kill", "staging", 1.0))
    await bus.emit(VerdictEvaluated("staging", Verdict("p95", True, "", "", ""), None, 2.0))
    await bus.emit(ChaosActionEnded("a", "pod-kill", "staging", 1.0, 3.0))
    await bus.drain()
    assert seen == ["ChaosActionStarted", "VerdictEvaluated", "ChaosActionEnded"]
    await bus.aclose()


def test_only_event_types_can_be_subscribed() -> None:
    with pytest.raises(TypeError, match="not an event type"):
        EventBus().on(dict, lambda ev: None)  # type: ignore[arg-type]
    assert len(set(EVENT_TYPES)) == len(EVENT_TYPES)
