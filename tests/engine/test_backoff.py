"""A closed-model VU backs off after connection-level failures (``monitor.engine.backoff``):
against a target that refuses or resets connections it records every attempt but does not
spin, a success resets it, a stop ends it; the open model keeps its rate. Against real
loopback sockets, on each transport (the callback fast path, the per-user fast path, aiohttp).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time

import pytest

from monitor.engine import (
    ConcurrentTester,
    ConstantArrivalRate,
    ConstantVUs,
    RampingVUs,
    RequestSpec,
    Runner,
    Stage,
)
from monitor.engine.backoff import VuBackoff
from tests.engine.servers import closed_port_url, each_request, serve_raw

GET = RequestSpec("GET", "/")
TRANSPORTS = [("shared", True), ("per-user", True), ("shared", False)]
IDS = ["fastloop", "per-user-fast", "aiohttp"]

pytestmark = pytest.mark.timeout(60)


def test_the_backoff_doubles_to_its_cap_and_a_success_resets_it() -> None:
    backoff = VuBackoff()
    waits = [backoff.after(True) for _ in range(12)]
    assert 0.005 <= waits[0] <= 0.01
    assert all(0.5 <= w <= 1.0 for w in waits[8:])  # capped at 1 s (half to all of it)
    assert backoff.after(False) == 0.0
    assert backoff.after(True) <= 0.01


@pytest.mark.parametrize(("mode", "fast"), TRANSPORTS, ids=IDS)
async def test_a_refusing_target_is_counted_not_spun_on(mode: str, fast: bool) -> None:
    url = closed_port_url()
    async with ConcurrentTester(url, mode=mode, fast_path=fast, timeout=2.0) as tester:
        windows: list[int] = []
        runner = Runner(
            tester.client, ConstantVUs(4, 2.0), GET, sample_limit=0, interval=0.5,
            on_interval=lambda r: windows.append(r.result.error_count),
        )  # fmt: skip
        cpu = time.process_time()
        out = await runner.run()
        cpu = time.process_time() - cpu
    res = out.result
    # every attempt is recorded as refused, in the windows as they happen ...
    assert res.total == res.error_count == sum(windows)
    assert set(res.error_counts) == {"connection refused"}, res.error_counts
    assert res.error_counts["connection refused"] == res.total
    # ... but each VU waits 10 ms, 20 ms, ... up to 1 s between attempts: in 2 s at most about
    # 11 attempts a VU (without the backoff: thousands a second)
    assert 4 <= res.total <= 4 * 14, res.total
    assert out.stats.iterations == res.total
    assert cpu < 1.0, cpu  # a spin takes the whole 2 s


class FlakyServer:
    """Resets every connection (RST) until ``healthy``; then answers 200 with keep-alive."""

    def __init__(self) -> None:
        self.healthy = False
        self.answered = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.healthy:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        async for _ in each_request(reader):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            self.answered += 1


@pytest.mark.parametrize(("mode", "fast"), TRANSPORTS, ids=IDS)
async def test_a_resetting_target_backs_off_and_a_success_resets_the_backoff(
    mode: str, fast: bool
) -> None:
    server = FlakyServer()
    async with (
        serve_raw(server.handle) as url,
        ConcurrentTester(url, mode=mode, fast_path=fast, timeout=2.0) as tester,
    ):
        runner = Runner(tester.client, ConstantVUs(2, 3.0), GET, sample_limit=0)
        task = asyncio.create_task(runner.run())
        await asyncio.sleep(1.5)  # resets: each VU is at a wait of several hundred ms by now
        errors = runner.progress().errors
        assert 2 <= errors <= 2 * 12, errors
        server.healthy = True
        out = await task
    res = out.result
    assert set(res.error_counts) <= {"connection reset by peer", "server disconnected"}
    assert res.error_count <= 2 * 16
    # once answered, the VUs go at full speed again: a backoff that did not reset would allow
    # at most a couple of requests a second
    assert res.success_count == server.answered
    assert res.success_count >= 50, res.success_count


@pytest.mark.parametrize(("mode", "fast"), TRANSPORTS, ids=IDS)
async def test_a_stop_ends_a_backoff_at_once(mode: str, fast: bool) -> None:
    url = closed_port_url()
    async with ConcurrentTester(url, mode=mode, fast_path=fast, timeout=2.0) as tester:
        runner = Runner(tester.client, ConstantVUs(3, 30.0), GET, sample_limit=0)
        task = asyncio.create_task(runner.run())
        await asyncio.sleep(1.2)  # every VU is in a wait of 0.5-1 s
        began = time.monotonic()
        runner.stop()
        out = await task
        took = time.monotonic() - began
    assert took < 0.5, took  # not the rest of a wait, nor the graceful stop
    assert out.stats.interrupted == 0
    assert out.result.total == out.result.error_count > 0


@pytest.mark.parametrize(("mode", "fast"), TRANSPORTS, ids=IDS)
async def test_the_open_model_records_refusals_at_its_rate(mode: str, fast: bool) -> None:
    url = closed_port_url()
    async with ConcurrentTester(url, mode=mode, fast_path=fast, timeout=2.0) as tester:
        out = await Runner(tester.client, ConstantArrivalRate(50, 1.0), GET, sample_limit=0).run()
    res = out.result
    assert res.total == res.error_count == res.error_counts["connection refused"]
    assert 45 <= res.total <= 51, res.total  # the rate's iterations, each one attempt


@pytest.mark.parametrize(("mode", "fast"), TRANSPORTS, ids=IDS)
async def test_a_vu_retired_while_backing_off_goes_at_once(mode: str, fast: bool) -> None:
    url = closed_port_url()
    async with ConcurrentTester(url, mode=mode, fast_path=fast, timeout=2.0) as tester:
        # 3 VUs for 1.2 s (each backing off 0.3-0.6 s by then), then 1 VU for 1 s
        schedule = RampingVUs((Stage(0.0, 3), Stage(1.2, 3), Stage(0.0, 1), Stage(1.0, 1)))
        runner = Runner(tester.client, schedule, GET, sample_limit=0)
        task = asyncio.create_task(runner.run())
        await asyncio.sleep(1.35)  # retired at the runner's first tick after 1.2 s
        alive = len(runner._tasks)  # the VUs' tasks (futures on the callback path)
        await task
    assert alive == 1, alive  # the two retired VUs did not wait out their backoff
