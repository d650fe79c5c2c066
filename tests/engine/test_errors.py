"""Transport failures are recorded with the right kind and ``sent`` flag, never raised."""

from __future__ import annotations

import asyncio
import select
import socket
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from monitor.engine import ConcurrentTester, ConnectionMode, RequestSpec
from tests.engine.servers import closed_port_url, read_request_head, serve_app, serve_raw


async def test_refused_connection_is_recorded_as_not_sent() -> None:
    async with ConcurrentTester(closed_port_url(), timeout=2.0) as tester:
        result = await tester.run_concurrent_requests("POST", "/x", json={"a": 1}, repeat=3)
    assert result.error_count == 3
    assert result.success_count == 0
    assert result.connect_failures == 3
    assert result.status_codes == {}
    assert result.errors == ["connection refused (x3)"]
    for record in result.records:
        assert record.error_kind == "refused"
        assert record.sent is False
        assert record.status is None


async def test_server_closing_the_socket_is_a_reset_with_unknown_outcome() -> None:
    async def close_after_request(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request_head(reader)
        writer.close()

    async with serve_raw(close_after_request) as url, ConcurrentTester(url, timeout=2.0) as tester:
        record = await tester.send(RequestSpec("POST", "/pay", json={"amount": 300}))
    assert record.error_kind == "reset"
    assert record.error == "server disconnected"
    assert record.sent is True
    assert record.status is None


async def test_tcp_rst_is_a_reset() -> None:
    async def rst_after_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async with serve_raw(rst_after_request) as url, ConcurrentTester(url, timeout=2.0) as tester:
        result = await tester.run_concurrent_requests("GET", "/", repeat=4)
    assert result.error_count == 4
    assert {r.error_kind for r in result.records} == {"reset"}
    assert all(r.sent for r in result.records)


async def test_slow_server_gives_timeout_with_unknown_outcome() -> None:
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="late")

    app = web.Application()
    app.router.add_get("/slow", slow)
    async with serve_app(app) as url:
        async with ConcurrentTester(url, timeout=0.3, mode=ConnectionMode.SHARED) as tester:
            result = await tester.run_concurrent_requests("GET", "/slow", repeat=5)
            override = await tester.send(RequestSpec("GET", "/slow", timeout=0.1))
        release.set()
    assert result.error_count == 5
    assert result.errors == ["timeout after 0.3 s (x5)"]
    assert {r.error_kind for r in result.records} == {"timeout"}
    assert all(r.sent for r in result.records)
    assert all(290 <= r.duration_ms < 2000 for r in result.records)
    assert result.max >= 290
    assert override.error == "timeout after 0.1 s"


async def test_garbage_instead_of_http_is_malformed() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        writer.write(b"\x00\x01 this is not HTTP at all\r\n\r\n")
        await writer.drain()

    async with serve_raw(garbage) as url, ConcurrentTester(url, timeout=2.0) as tester:
        result = await tester.run_concurrent_requests("GET", "/", repeat=2)
    assert result.error_count == 2
    for record in result.records:
        assert record.error_kind == "malformed"
        assert record.error is not None
        assert record.error.startswith("malformed response: ")
        assert record.sent is True


async def test_tls_to_a_plain_http_server_is_a_tls_error() -> None:
    app = web.Application()
    async with serve_app(app) as url:
        tls_url = url.replace("http://", "https://")
        async with ConcurrentTester(tls_url, timeout=2.0) as tester:
            record = await tester.send(RequestSpec("GET", "/"))
    assert record.error_kind == "tls"
    assert record.error is not None


async def test_mixed_outcomes_in_one_batch_are_all_recorded() -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]))

    app = web.Application()
    app.router.add_get("/status/{code}", ok)
    refused = closed_port_url()
    async with serve_app(app) as url, ConcurrentTester(url, timeout=2.0) as tester:
        result = await tester.run_batch(
            [
                RequestSpec("GET", "/status/200"),
                RequestSpec("GET", "/status/422"),
                RequestSpec("GET", refused + "/nowhere"),
                RequestSpec("GET", "/status/503"),
            ]
        )
    assert [r.status for r in result.records] == [200, 422, None, 503]
    assert result.success_count == 1
    assert result.error_count == 3
    assert result.status_codes == {200: 1, 422: 1, 503: 1}
    assert sorted(result.errors) == ["HTTP 422", "HTTP 503", "connection refused"]
    assert result.to_dict()["status_codes"] == {"200": 1, "422": 1, "503": 1}


@contextmanager
def full_listener() -> Iterator[str]:
    """A loopback listener that never accepts, its accept queue already full: the kernel drops
    every further SYN, so a connect there never completes. Yields its URL."""
    with socket.socket() as listener, socket.socket() as queued:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)  # room for one connection, taken by ``queued``
        queued.connect(listener.getsockname())
        ready, _, _ = select.select([listener], [], [], 5.0)  # ``queued`` is in the queue
        assert ready, "the queued connection never reached the accept queue"
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_request_head(reader)
    await asyncio.Event().wait()


async def test_connect_timeout_is_told_apart_from_a_response_timeout() -> None:
    """A connect that never completes is a connect timeout (certainly not sent); a request
    sent to a server that never answers is a response timeout (outcome unknown)."""
    with full_listener() as unreachable:
        async with (
            serve_raw(never_answer) as silent,
            ConcurrentTester(silent, timeout=0.5) as tester,
        ):
            result = await tester.run_batch(
                [RequestSpec("GET", unreachable + "/")] * 3 + [RequestSpec("GET", "/")] * 3
            )
    unsent, sent = result.records[:3], result.records[3:]
    assert {(r.error_kind, r.error, r.sent) for r in unsent} == {
        ("timeout", "connect timeout after 0.5 s", False)
    }
    assert {(r.error_kind, r.error, r.sent) for r in sent} == {
        ("timeout", "timeout after 0.5 s", True)
    }
    assert result.connect_failures == 3


async def test_a_starved_loop_still_tells_a_connect_timeout_from_a_response_timeout() -> None:
    """The event loop blocked past every deadline (a CPU-starved machine): aiohttp's total and
    connect timers expire in the same loop pass, and the total one, armed first, may win. The
    phase the request was in decides, not which timer fired."""
    loop = asyncio.get_running_loop()
    with full_listener() as unreachable:
        async with (
            serve_raw(never_answer) as silent,
            ConcurrentTester(silent, timeout=0.5) as tester,
        ):
            loop.call_later(0.1, time.sleep, 0.6)  # starve the loop past both timers
            result = await tester.run_batch(
                [RequestSpec("GET", unreachable + "/"), RequestSpec("GET", "/")]
            )
    connecting, answering = result.records
    assert (connecting.error, connecting.sent) == ("connect timeout after 0.5 s", False)
    assert (answering.error, answering.sent) == ("timeout after 0.5 s", True)
