"""All requests of one call are truly in flight together, in every connection mode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from monitor.engine import ConcurrentTester, ConnectionMode, RequestSpec
from tests.engine.servers import serve_app

N = 20


def rendezvous_app(expected: int, deadline: float = 3.0) -> web.Application:
    """Answers 200 only once ``expected`` requests are in flight at the same moment; a
    request still waiting for the others after ``deadline`` seconds gets 500."""
    state = {"in_flight": 0, "peak": 0}
    everyone_here = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        state["in_flight"] += 1
        state["peak"] = max(state["peak"], state["in_flight"])
        if state["in_flight"] >= expected:
            everyone_here.set()
        try:
            await asyncio.wait_for(everyone_here.wait(), deadline)
        except TimeoutError:
            return web.json_response({"in_flight": state["in_flight"]}, status=500)
        finally:
            state["in_flight"] -= 1
        return web.json_response({"path": request.path, "peak": state["peak"]})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


@pytest.fixture(params=list(ConnectionMode), ids=lambda m: m.value)
def mode(request: pytest.FixtureRequest) -> ConnectionMode:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
async def rendezvous_url() -> AsyncIterator[str]:
    async with serve_app(rendezvous_app(N)) as url:
        yield url


async def test_run_concurrent_requests_are_all_in_flight_together(
    rendezvous_url: str, mode: ConnectionMode
) -> None:
    async with ConcurrentTester(rendezvous_url, timeout=5.0, mode=mode) as tester:
        result = await tester.run_concurrent_requests("GET", "/ping", repeat=N)
    assert result.status_codes == {200: N}, result.errors
    assert result.success_count == N
    assert result.error_count == 0
    assert len(result.records) == N
    assert all(r.name == "GET /ping" and r.sent and r.error is None for r in result.records)


async def test_run_batch_mixes_requests_and_keeps_input_order(mode: ConnectionMode) -> None:
    specs = [
        RequestSpec("POST" if i % 2 else "GET", f"/item/{i}", json={"i": i} if i % 2 else None)
        for i in range(N)
    ]
    async with (
        serve_app(rendezvous_app(N)) as url,
        ConcurrentTester(url, timeout=5.0, mode=mode, keep_body=True) as tester,
    ):
        result = await tester.run_batch(specs)
    assert result.success_count == N, result.errors
    assert [r.url.rsplit("/", 1)[-1] for r in result.records] == [str(i) for i in range(N)]
    assert [r.json()["path"] for r in result.records] == [f"/item/{i}" for i in range(N)]
    assert [r.method for r in result.records] == [s.method for s in specs]


async def test_scenarios_run_in_parallel_and_results_keep_scenario_order() -> None:
    scenarios = [
        {"method": "GET", "path": "/a", "repeat": 7},
        {"method": "POST", "path": "/b", "json": {"x": 1}, "repeat": 3, "name": "write b"},
        {"method": "GET", "path": "/c"},
    ]
    async with serve_app(rendezvous_app(11)) as url, ConcurrentTester(url, timeout=5.0) as tester:
        results = await tester.run_concurrent_scenarios(scenarios)
    assert [r.success_count for r in results] == [7, 3, 1]
    assert [r.error_count for r in results] == [0, 0, 0]
    assert {rec.name for rec in results[1].records} == {"write b"}
    assert {rec.name for rec in results[2].records} == {"GET /c"}


async def test_fewer_requests_than_needed_time_out_with_500() -> None:
    """The rendezvous server can fail: this is what sequential requests would look like."""
    async with (
        serve_app(rendezvous_app(N, deadline=0.2)) as url,
        ConcurrentTester(url, timeout=5.0) as tester,
    ):
        result = await tester.run_concurrent_requests("GET", "/", repeat=N - 1)
    assert result.status_codes == {500: N - 1}
    assert result.errors == [f"HTTP 500 (x{N - 1})"]


async def test_send_returns_one_record_for_setup_steps() -> None:
    async with (
        serve_app(rendezvous_app(1)) as url,
        ConcurrentTester(url, keep_body=True, mode="shared") as tester,
    ):
        record = await tester.send(RequestSpec("PUT", "/setup", json={"a": 1}, name="setup"))
    assert record.status == 200
    assert record.name == "setup"
    assert record.json() == {"path": "/setup", "peak": 1}
    assert record.bytes_received > 0
    assert record.headers is not None
    assert record.headers["Content-Type"].startswith("application/json")
