"""The windows of a soak's worker processes are on the daemon's clock: two real workers
(``monitor.daemon.soak_worker``) started apart against a loopback server close their windows
at the same instants, so the daemon adds up requests of the same span."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from monitor.daemon.config.targets import Target
from monitor.daemon.config.traffic import Soak
from monitor.daemon.soak_processes import WORKER_MODULE
from monitor.engine.workers import Worker, drive
from tests.engine.servers import serve_app

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
WINDOW = 0.5


@pytest.fixture
async def target() -> AsyncIterator[str]:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", ok)
    async with serve_app(app) as url:
        yield url


def plan(url: str, origin: float) -> dict[str, Any]:
    soak = Soak.model_validate({"name": "s", "target": "t", "window": WINDOW, "processes": 2,
                                "requests": [{"path": "/"}]})  # fmt: skip
    return {
        "soak": soak.model_dump(mode="json", by_alias=True),
        "target": Target(url=url).model_dump(mode="json"),
        "parent": os.getpid(),
        "interval_origin": origin,
        "tracing": None,
    }


def on_edge(seconds: float) -> bool:
    steps = seconds / WINDOW
    return abs(steps - round(steps)) < 1e-6


async def test_workers_started_apart_close_their_windows_at_the_same_instants(
    target: str,
) -> None:
    origin = time.monotonic()
    base = plan(target, origin)
    windows: dict[int, list[dict[str, Any]]] = {0: [], 1: []}
    received: list[tuple[float, float]] = []  # (window end, when it arrived), since the origin

    def on_message(w: Worker, msg: dict[str, Any]) -> None:
        if "interval" in msg:
            windows[w.index].append(msg["interval"])
            received.append((msg["interval"]["end_s"], time.monotonic() - origin))

    workers = [Worker(i, {"vus": 1}, keep_intervals=False) for i in range(2)]
    first = asyncio.create_task(
        drive(workers[0], WORKER_MODULE, base | {"share": {"vus": 1}, "worker": 0}, on_message)
    )
    await asyncio.sleep(0.7)  # the second worker starts more than a window later
    late_start = time.monotonic() - origin
    second = asyncio.create_task(
        drive(workers[1], WORKER_MODULE, base | {"share": {"vus": 1}, "worker": 1}, on_message)
    )
    try:
        deadline = time.monotonic() + 60
        while len(windows[1]) < 3:
            assert time.monotonic() < deadline, "the late worker sent no windows"
            assert not first.done(), workers[0].describe()
            assert not second.done(), workers[1].describe()
            await asyncio.sleep(0.05)
    finally:
        for w in workers:
            w.signal(signal.SIGTERM)
        await asyncio.wait_for(asyncio.gather(first, second), 30)
    assert all(w.final is not None for w in workers), [w.describe() for w in workers]
    early, late = windows[0], windows[1]
    # the late worker's first window starts when it did (since the daemon's origin), not at 0
    assert late[0]["start_s"] >= late_start > WINDOW
    for mine in (early, late):
        # after each one's first (partial) window and before its last (the stop), the grid's
        for w in mine[1:-1]:
            assert on_edge(w["start_s"]), w
            assert on_edge(w["end_s"]), w
            # (one window long but when the runner woke later than a whole window: it closes
            # the window at the last edge it passed, a busy machine's only wider window)
            assert w["end_s"] > w["start_s"], w
        for w in mine:  # each window is sent under its slot on that grid
            assert w["index"] == math.floor(w["start_s"] / WINDOW + 1e-6), w
        assert [w["index"] for w in mine] == sorted({w["index"] for w in mine})
    # the same slot is the same span in both workers
    spans = {w["index"]: (w["start_s"], w["end_s"]) for w in early[1:-1]}
    shared = [w for w in late[1:-1] if w["index"] in spans]
    assert shared, (early, late)
    assert all(spans[w["index"]] == (w["start_s"], w["end_s"]) for w in shared)
    # no window was reported before it ended, by the clock every process shares
    assert all(end <= arrived + 1e-3 for end, arrived in received), received
    assert sum(sum(1 for _ in w["requests"]) for w in early + late) > 0


async def test_the_grid_holds_across_the_soak_s_back_to_back_runs(
    target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A soak is back-to-back runs (an hour each; 0.7 s here): a run's last, partial window
    and the next run's first are one window of the grid, never two short ones."""
    from monitor.daemon import soak as soak_module
    from monitor.daemon.soak import SoakLoop
    from monitor.engine import IntervalReport, RequestHooks
    from monitor.events import EventBus, SoakInterval

    monkeypatch.setattr(soak_module, "CHUNK_S", 0.7)
    config = Soak.model_validate({"name": "s", "target": "t", "window": WINDOW, "vus": 1,
                                  "requests": [{"path": "/"}]})  # fmt: skip
    reports: list[IntervalReport] = []
    bus = EventBus()
    published: list[SoakInterval] = []
    bus.on(SoakInterval, published.append)
    origin = time.monotonic() - 0.2  # the worker started 0.2 s after its parent
    loop = SoakLoop(config, Target(url=target), bus=bus, hooks=RequestHooks(),
                    on_interval=reports.append, interval_origin=origin)  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    await asyncio.sleep(2.6)  # three runs and more
    stop.set()
    await asyncio.wait_for(task, 30)
    spans = [(r.start_s, r.end_s) for r in reports]
    assert spans[0][0] >= 0.2
    slots = [math.floor(start / WINDOW + 1e-6) for start, _ in spans]
    # no slot has two windows: a run's last window and the next run's first are one (or, the
    # runs apart across an edge, each alone in its slot)
    assert slots == sorted(set(slots)), spans
    on_grid = [s for s in spans if on_edge(s[0]) and on_edge(s[1])]
    assert len(on_grid) >= 3, spans  # runs of 0.7 s made no short windows but at their ends
    assert [p.requests for p in published] == [r.result.total for r in reports]
    assert sum(p.requests for p in published) > 0
