"""The lean fast path (SHARED mode, ``fast_path=True``) behaves like the aiohttp path."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from monitor.engine import (
    Burst,
    ConcurrentTester,
    ConstantVUs,
    RequestHooks,
    RequestRecord,
    RequestSpec,
    Runner,
)
from tests.engine.servers import closed_port_url, read_request_head, serve_app, serve_raw
from tests.engine.test_concurrency import rendezvous_app


async def fire(
    url: str,
    spec: RequestSpec,
    n: int = 1,
    *,
    fast: bool = True,
    timeout_s: float = 2.0,
    hooks: RequestHooks | None = None,
) -> list[RequestRecord]:
    """``n`` concurrent iterations of ``spec`` through a runner, keeping bodies."""
    async with ConcurrentTester(
        url, mode="shared", fast_path=fast, keep_body=True, timeout=timeout_s, hooks=hooks
    ) as tester:
        runner = Runner(tester.client, Burst(n), spec)
        assert runner.uses_fast_path is fast
        out = await runner.run()
    return sorted(out.result.records, key=lambda r: r.start)


@pytest.fixture
async def app_url() -> AsyncIterator[str]:
    async def echo(request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        return web.json_response(
            {
                "method": request.method,
                "path": request.path_qs,
                "body": body,
                "token": request.headers.get("X-Token"),
                "traceparent": request.headers.get("traceparent"),
                "content_type": request.headers.get("Content-Type"),
            },
            status=201 if request.method == "POST" else 200,
        )

    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for part in (b"abc", b"defg", b"h" * 5000):
            await resp.write(part)
        await resp.write_eof()
        return resp

    async def closing(request: web.Request) -> web.Response:
        return web.Response(text="bye", headers={"Connection": "close"})

    async def empty(request: web.Request) -> web.Response:
        return web.Response(status=204)

    app = web.Application()
    app.router.add_route("*", "/echo", echo)
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/closing", closing)
    app.router.add_get("/empty", empty)
    async with serve_app(app) as url:
        yield url


@pytest.mark.parametrize(
    "spec",
    [
        RequestSpec("GET", "/echo?x=1&y=%20"),
        RequestSpec("POST", "/echo", json={"amount": 300, "u": "ü"}, headers={"X-Token": "t"}),
        RequestSpec("DELETE", "/echo"),
        RequestSpec("GET", "/chunked"),
        RequestSpec("GET", "/closing"),
        RequestSpec("GET", "/empty"),
    ],
    ids=["get-query", "post-json", "delete", "chunked", "connection-close", "204"],
)
async def test_fast_path_answers_like_aiohttp(app_url: str, spec: RequestSpec) -> None:
    fast = await fire(app_url, spec, 3)
    slow = await fire(app_url, spec, 3, fast=False)
    for a, b in zip(fast, slow, strict=True):
        assert (a.status, a.bytes_received, a.error) == (b.status, b.bytes_received, b.error)
        assert a.body == b.body
        assert a.json() == b.json()
    assert fast[0].headers is not None
    assert fast[0].headers.get("content-type") == (slow[0].headers or {}).get("Content-Type")
    if spec.path == "/echo" and spec.method == "POST":
        assert fast[0].json()["body"] == {"amount": 300, "u": "ü"}
        assert fast[0].json()["content_type"] == "application/json"
        assert fast[0].json()["token"] == "t"


async def test_fast_path_keeps_one_connection_per_vu() -> None:
    connections: set[int] = set()

    async def ping(request: web.Request) -> web.Response:
        connections.add(id(request.transport))
        return web.Response(text="pong")

    app = web.Application()
    app.router.add_get("/", ping)
    async with serve_app(app) as url, ConcurrentTester(url, mode="shared", fast_path=True) as t:
        out = await t.run_executor(ConstantVUs(3, 0.3), RequestSpec("GET", "/"))
    assert out.result.success_count == out.result.total > 30
    assert len(connections) == 3


async def test_fast_path_injects_hook_headers(app_url: str) -> None:
    hooks = RequestHooks()
    hooks.add_before_send(lambda spec: {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"})
    (record,) = await fire(app_url, RequestSpec("GET", "/echo"), hooks=hooks)
    assert record.json()["traceparent"].startswith("00-1111")
    assert record.sent_headers is not None


async def test_body_delimited_by_connection_close() -> None:
    async def old_style(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello")
        await writer.drain()

    async with serve_raw(old_style) as url:
        (record,) = await fire(url, RequestSpec("GET", "/"))
    assert (record.status, record.bytes_received, record.body) == (200, 5, b"hello")


async def test_fast_path_failures_match_the_aiohttp_path() -> None:
    async def close_after_request(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await read_request_head(reader)

    async def rst(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        writer.write(b"\x00\x01 this is not HTTP at all\r\n\r\n")
        await writer.drain()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    ping = RequestSpec("POST", "/pay", json={"amount": 1})
    (refused,) = await fire(closed_port_url(), ping)
    assert (refused.error_kind, refused.error, refused.sent) == (
        "refused",
        "connection refused",
        False,
    )
    async with serve_raw(close_after_request) as url:
        (closed,) = await fire(url, ping)
    assert (closed.error_kind, closed.error, closed.sent) == ("reset", "server disconnected", True)
    async with serve_raw(rst) as url:
        (reset,) = await fire(url, ping)
    assert (reset.error_kind, reset.sent) == ("reset", True)
    async with serve_raw(garbage) as url:
        (bad,) = await fire(url, ping)
    assert (bad.error_kind, bad.sent) == ("malformed", True)
    assert bad.error is not None
    assert bad.error.startswith("malformed response: ")
    async with serve_raw(silent) as url:
        (late,) = await fire(url, ping, timeout_s=0.3)
    assert (late.error_kind, late.error, late.sent) == ("timeout", "timeout after 0.3 s", True)
    assert 290 <= late.duration_ms < 2000
    for record in (refused, closed, reset, bad, late):
        assert record.status is None


async def test_fast_path_connect_timeout_is_not_sent() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        records = await fire(f"http://127.0.0.1:{port}", RequestSpec("GET", "/"), 6, timeout_s=0.5)
    unsent = [r for r in records if not r.sent]
    assert len(unsent) >= 3
    assert {r.error for r in unsent} == {"connect timeout after 0.5 s"}
    assert {r.error_kind for r in records} == {"timeout"}


async def test_fast_path_requests_are_all_in_flight_together() -> None:
    async with serve_app(rendezvous_app(20)) as url:
        records = await fire(url, RequestSpec("GET", "/ping"), 20, timeout_s=5.0)
    assert [r.status for r in records] == [200] * 20


async def test_a_hook_adding_a_broken_header_gives_an_error_record(app_url: str) -> None:
    hooks = RequestHooks()
    hooks.add_before_send(lambda spec: {"X-Bad": "a\r\nInjected: yes"})
    (fast,) = await fire(app_url, RequestSpec("GET", "/echo"), hooks=hooks)
    assert (fast.error_kind, fast.sent, fast.status) == ("other", False, None)
    assert fast.error is not None
    assert fast.error.startswith("invalid request: ")


async def _lean(url: str, spec: RequestSpec) -> RequestRecord:
    """One request that keeps no body or headers (the lean parser of ``soakmon load``)."""
    async with ConcurrentTester(url, mode="shared", fast_path=True, timeout=2.0) as tester:
        runner = Runner(tester.client, Burst(1), spec)
        assert runner.uses_fast_path
        (record,) = (await runner.run()).result.records
    return record


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # body delimited by the end of the connection: a success with every byte counted
        (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nhello", (200, 5, None)),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello!", (200, 6, None)),
        # a length that never arrives, also when the server says it will close: an error
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 10\r\n\r\nhello",
         (None, 0, "server disconnected")),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello", (None, 0, "server disconnected")),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello",
         (None, 0, "server disconnected")),
        # the head in two packets (the length header in the second)
        ([b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Le", b"ngth: 10\r\n\r\nhello"],
         (None, 0, "server disconnected")),
    ],
)  # fmt: skip
async def test_lean_parser_tells_eof_bodies_from_truncated_ones(
    answer: bytes | list[bytes], expected: tuple[int | None, int, str | None]
) -> None:
    async def respond(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        for part in [answer] if isinstance(answer, bytes) else answer:
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(0.05)
        writer.close()

    async with serve_raw(respond) as url:
        full = (await fire(url, RequestSpec("GET", "/")))[0]
        lean = await _lean(url, RequestSpec("GET", "/"))
    assert (lean.status, lean.bytes_received, lean.error) == expected
    assert (full.status, full.bytes_received, full.error) == expected  # the same as with headers
