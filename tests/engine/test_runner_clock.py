"""The runner on fake time: rates, drops, intervals and durations are exact, whatever the
machine is doing meanwhile. Requests still go to a real loopback server; the fake clock only
decides when iterations start, when intervals close and when the run ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from monitor.engine import (
    ConcurrentTester,
    ConnectionMode,
    ConstantArrivalRate,
    ConstantVUs,
    Executor,
    FakeClock,
    IntervalReport,
    RampingArrivalRate,
    RequestSpec,
    Runner,
    RunOutcome,
)
from tests.engine.servers import serve_app

PING = RequestSpec("GET", "/ping")


def gated_app(gate: asyncio.Event) -> web.Application:
    """Answers once ``gate`` is set (set it from the start for a fast target)."""

    async def ping(_: web.Request) -> web.Response:
        await gate.wait()
        return web.Response(text="pong")

    app = web.Application()
    app.router.add_get("/ping", ping)
    return app


@asynccontextmanager
async def answering_at_once(
    mode: ConnectionMode = ConnectionMode.SHARED,
) -> AsyncIterator[ConcurrentTester]:
    """A tester of a loopback target that answers at once."""
    gate = asyncio.Event()
    gate.set()
    async with (
        serve_app(gated_app(gate)) as url,
        ConcurrentTester(url, mode=mode) as tester,
    ):
        yield tester


_RUNS: dict[int, asyncio.Task[RunOutcome]] = {}


async def drive_until(
    clock: FakeClock, runner: Runner, until: float, settled: Callable[[], bool]
) -> None:
    """Start ``runner`` and move fake time in 10 ms steps up to ``until``."""
    task = _RUNS[id(runner)] = asyncio.create_task(runner.run())
    while clock.now() < until and not task.done():
        await clock.advance(0.01)
        while not settled():  # noqa: ASYNC110 - real time for the loopback requests
            await asyncio.sleep(0.001)


async def drive(
    clock: FakeClock,
    runner: Runner,
    *,
    step: float,
    settled: Callable[[], bool] | None = None,
    started: bool = False,
) -> RunOutcome:
    """Run ``runner`` (or carry on with it when ``started``), moving fake time by ``step`` once
    the requests in flight are answered (or, with ``settled``, once it says so), until the run
    ends."""
    task = _RUNS.pop(id(runner)) if started else asyncio.create_task(runner.run())
    idle = settled or (lambda: runner.progress().active_vus == 0)
    while not task.done():
        await clock.advance(step)
        # real time for the loopback requests, however long a busy machine takes for them
        while not (task.done() or idle()):  # noqa: ASYNC110
            await asyncio.sleep(0.001)
    return await task


async def run_in_intervals(
    executor: Executor,
    *,
    interval: float,
    step: float,
    mode: ConnectionMode = ConnectionMode.SHARED,
    settled: Callable[[], bool] | None = None,
    **runner_options: Any,
) -> tuple[RunOutcome, list[IntervalReport]]:
    """Run ``executor`` on a fake clock against a target answering at once: the outcome and
    the intervals streamed."""
    clock = FakeClock()
    intervals: list[IntervalReport] = []
    async with answering_at_once(mode) as tester:
        runner = Runner(
            tester.client, executor, PING, interval=interval, on_interval=intervals.append,
            clock=clock, **runner_options,
        )  # fmt: skip
        out = await drive(clock, runner, step=step, settled=settled)
    return out, intervals


async def test_an_arrival_rate_starts_exactly_its_iterations_in_every_interval() -> None:
    out, intervals = await run_in_intervals(ConstantArrivalRate(100, 3), interval=1.0, step=0.005)
    stats = out.stats
    assert (stats.iterations, stats.dropped, out.result.success_count) == (300, 0, 300)
    assert stats.achieved_rate == 100.0
    assert [i.result.total for i in intervals] == [100, 100, 100]
    assert [(i.start_s, i.end_s) for i in intervals][:2] == [(0.0, 1.0), (1.0, 2.0)]


async def test_busy_vus_drop_exactly_the_iterations_they_cannot_start() -> None:
    gate = asyncio.Event()  # the target answers nothing until the schedule is over
    clock = FakeClock()
    async with (
        serve_app(gated_app(gate)) as url,
        ConcurrentTester(url, mode=ConnectionMode.SHARED, timeout=30.0) as tester,
    ):
        runner = Runner(tester.client, ConstantArrivalRate(100, 1, max_vus=5), PING, clock=clock)

        def settled() -> bool:  # every started iteration is waiting on the target
            progress = runner.progress()
            return progress.active_vus == min(5, progress.iterations)

        # the schedule's second passes on the fake clock while the target answers nothing
        await drive_until(clock, runner, 1000.0 + 1.0, settled)  # FakeClock starts at 1000 s
        gate.set()
        out = await drive(clock, runner, step=0.01, started=True)
    stats = out.stats
    assert (stats.iterations, stats.dropped, stats.vus_max) == (5, 95, 5)
    assert out.result.success_count == 5


async def test_a_ramping_rate_starts_the_integrated_number_of_iterations_per_second() -> None:
    out, intervals = await run_in_intervals(
        RampingArrivalRate(((1.0, 60), (1.0, 0))),  # 0 -> 60/s over 1 s, then 60 -> 0/s
        interval=0.5,
        step=0.002,
    )
    assert out.stats.iterations == 60  # the area under the rate: 30 + 30
    # the rate's integral over each half second: 7.5, 22.5, 22.5, 7.5
    assert [i.result.total for i in intervals] == [8, 22, 23, 7]


async def test_constant_vus_run_for_exactly_their_duration_in_equal_intervals() -> None:
    out, intervals = await run_in_intervals(
        ConstantVUs(3, 1.0),
        interval=0.25,
        step=0.05,
        mode=ConnectionMode.PER_USER,
        settled=lambda: True,
        graceful_stop=5.0,
    )
    assert out.stats.vus_max <= 3
    assert out.stats.active_s == 1.0
    assert [round(i.end_s - i.start_s, 6) for i in intervals][:4] == [0.25] * 4
    assert sum(i.result.total for i in intervals) == out.result.total > 0


async def test_runners_sharing_an_interval_origin_close_intervals_at_the_same_instants() -> None:
    """Two runners (as two worker processes) started 0.3 s apart with one origin: every
    interval edge is on the origin's grid, so their k-th intervals cover the same second."""
    clock = FakeClock()
    origin = clock.now()
    seen: dict[str, list[IntervalReport]] = {"early": [], "late": []}
    async with answering_at_once() as tester:
        for name, started_after in (("early", 0.1), ("late", 0.4)):
            await clock.advance(started_after - (clock.now() - origin))
            runner = Runner(
                tester.client, ConstantArrivalRate(50, 2.5), PING, interval=1.0,
                on_interval=seen[name].append, interval_origin=origin, clock=clock,
            )  # fmt: skip
            await drive(clock, runner, step=0.01)
    for name, started_after in (("early", 0.1), ("late", 0.4)):
        spans = [(round(i.start_s, 6), round(i.end_s, 6)) for i in seen[name]]
        # seconds since the origin; the first interval is what is left of its second
        assert started_after <= spans[0][0] <= started_after + 0.02, spans
        assert [edge for _, edge in spans[:2]] == [1.0, 2.0], spans
        assert [start for start, _ in spans[1:3]] == [1.0, 2.0], spans
        assert 2.45 + started_after <= spans[-1][1] < 3.0, spans  # its last iteration
        assert sum(i.result.total for i in seen[name]) == 125


async def test_records_stay_bounded_on_long_runs_and_sample_the_whole_run() -> None:
    """Exactly 200 requests on the fake clock (not as many as the machine manages in 0.5 s):
    50 records kept, drawn from the whole run across its intervals; the counts stay exact."""
    clock = FakeClock()
    starts: list[float] = []
    async with answering_at_once() as tester:
        tester.hooks.add_request_done(lambda record: starts.append(record.start))
        runner = Runner(
            tester.client,
            ConstantArrivalRate(400, 0.5),
            PING,
            sample_limit=50,
            interval=0.1,
            clock=clock,
        )
        out = await drive(clock, runner, step=0.005)
    assert (out.result.total, out.stats.dropped) == (200, 0)
    assert len(out.result.records) == 50
    assert out.result.histogram.count == 200
    first_fifty = sorted(starts)[49]
    assert any(r.start > first_fifty for r in out.result.records)  # not just the first ones
