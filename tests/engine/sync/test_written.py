"""``sync: none`` (aiohttp) measures when each request was written, not when its task started:
requests that queue for a connection leave apart, and the send spread says so."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from monitor.engine import ConcurrentTester, RequestSpec
from tests.engine.servers import closed_port_url, serve_app


def _slow_app(delay_s: float) -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        arrived = time.monotonic_ns()
        await request.read()
        await asyncio.sleep(delay_s)
        return web.json_response({}, headers={"X-Arrival-Ns": str(arrived)})

    app = web.Application()
    app.router.add_post("/slow", handle)
    app.router.add_get("/slow", handle)
    return app


async def test_requests_queued_for_one_connection_are_sent_apart() -> None:
    """One pooled connection: the four requests start together at the barrier but are written
    one after another, 30 ms apart (each waits for the previous answer). A start spread would
    say they left within a millisecond."""
    specs = (
        RequestSpec("POST", "/slow", json={"n": 1}),  # written by the body-chunk signal
        RequestSpec("GET", "/slow"),  # no body: written by the headers signal
    )
    async with serve_app(_slow_app(0.03)) as url:
        tester = ConcurrentTester(url, mode="shared", pool_limit=1, keep_body=True)
        async with tester:
            for spec in specs:
                result = await tester.run_batch([spec] * 4)
                assert result.status_codes == {200: 4}, result.errors
                delivery = result.delivery
                assert delivery is not None
                assert (delivery.sync, delivery.released) == ("none", 4)
                assert delivery.send_spread_s is not None
                assert delivery.send_spread_s >= 0.085
                # the target saw them come apart too
                assert delivery.arrival_spread_s is not None
                assert delivery.arrival_spread_s >= 0.085


async def test_a_request_never_written_is_not_counted_as_sent() -> None:
    async with ConcurrentTester(closed_port_url(), mode="per-user") as tester:
        result = await tester.run_batch([RequestSpec("GET", "/")] * 3)
    assert result.delivery is not None
    assert (result.delivery.released, result.delivery.send_spread_s) == (0, None)


async def test_tracing_is_on_for_the_batch_only() -> None:
    async with serve_app(_slow_app(0)) as url, ConcurrentTester(url, mode="per-user") as tester:
        await tester.run_batch([RequestSpec("GET", "/slow")] * 2)
        sessions = [await tester.client.sessions.acquire(i) for i in range(2)]
        assert [s.trace_configs for s in sessions] == [[], []]
