"""Last-byte synchronisation over HTTP/1.1, proven on raw loopback sockets: every request is
incomplete at the server until the release, and the release completes them all together."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from monitor.engine import ConcurrentResult, ConcurrentTester, RequestSpec
from tests.engine.servers import closed_port_url, serve_app, serve_raw


@dataclass
class Seen:
    """What one connection of the raw server saw of one request."""

    prefix_at: int = 0  # monotonic_ns when all but the last byte were in
    complete_at: int = 0  # monotonic_ns when the last byte came
    data: bytes = b""


@dataclass
class Recorder:
    requests: list[Seen] = field(default_factory=list)
    connections: int = 0


def _expected_length(data: bytes) -> int | None:
    """Bytes of the whole request once its head is in (Content-Length bodies only)."""
    head, sep, _ = data.partition(b"\r\n\r\n")
    if not sep:
        return None
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return len(head) + 4 + length


def _almost_complete(data: bytes) -> bool:
    """All but the final byte of a request are in."""
    if data.endswith(b"\r\n\r") and b"\r\n\r\n" not in data:
        return True  # a request without a body, its last newline held back
    total = _expected_length(data)
    return total is not None and len(data) == total - 1


def recording(
    rec: Recorder,
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    """A raw keep-alive HTTP handler that time-stamps when each request's bytes arrive."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        rec.connections += 1
        while True:
            seen = Seen()
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                now = time.monotonic_ns()
                seen.data += chunk
                if not seen.prefix_at and _almost_complete(seen.data):
                    seen.prefix_at = now
                total = _expected_length(seen.data)
                if total is not None and len(seen.data) >= total:
                    seen.complete_at = now
                    break
            rec.requests.append(seen)
            body = b'{"n": %d}' % len(rec.requests)
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"X-Arrival-Ns: %d\r\nContent-Length: %d\r\n\r\n%s"
                % (seen.complete_at, len(body), body)
            )

    return handle


@pytest.fixture
async def recorder_url() -> AsyncIterator[tuple[str, Recorder]]:
    """A raw keep-alive HTTP server that time-stamps when each request's bytes arrive."""
    rec = Recorder()
    async with serve_raw(recording(rec)) as url:
        yield url, rec


_SPECS = [RequestSpec("POST", "/deduct", json={"amount": 1}), RequestSpec("GET", "/balance")]


def _check_delivery(result: ConcurrentResult, rec: Recorder) -> None:
    assert result.status_codes == {200: 8}, result.errors
    assert len(rec.requests) == 8
    delivery = result.delivery
    assert delivery is not None
    assert (delivery.sync, delivery.released, delivery.requests) == ("last-byte", 8, 8)
    assert delivery.connections_warm
    assert delivery.connections == 8
    assert delivery.send_spread_s is not None
    assert 0 < delivery.send_spread_s < 0.05
    assert delivery.arrivals == 8
    # the server's own clock agrees on how tightly the final bytes came
    complete = [s.complete_at for s in rec.requests]
    assert delivery.arrival_spread_s == pytest.approx((max(complete) - min(complete)) / 1e9)
    assert [r.json() for r in result.records] != [None] * 8


@pytest.mark.parametrize("spec", _SPECS, ids=["with-body", "without-body"])
@pytest.mark.parametrize("mode", ["per-user", "shared"])
async def test_final_bytes_are_held_until_every_prefix_is_in(
    recorder_url: tuple[str, Recorder], spec: RequestSpec, mode: str
) -> None:
    url, rec = recorder_url
    async with ConcurrentTester(url, mode=mode, sync="last-byte", keep_body=True) as tester:
        await tester.run_batch([spec] * 8)  # opens the connections (the server accepts them)
        rec.requests.clear()
        result = await tester.run_batch([spec] * 8)  # on the same, warm connections
    _check_delivery(result, rec)
    # The server reads every connection as soon as bytes come (same event loop: its reads
    # run before the sender wakes from its settle pause), so a request sent whole would
    # arrive whole: each one instead was all-but-its-last-byte until all were in that state.
    assert all(s.prefix_at for s in rec.requests), "a request arrived whole"
    assert max(s.prefix_at for s in rec.requests) < min(s.complete_at for s in rec.requests)
    assert rec.connections == 8


@pytest.mark.parametrize("spec", _SPECS, ids=["with-body", "without-body"])
async def test_per_request_mode_opens_fresh_connections_before_the_barrier(
    recorder_url: tuple[str, Recorder], spec: RequestSpec
) -> None:
    url, rec = recorder_url
    async with ConcurrentTester(url, mode="per-request", sync="last-byte", keep_body=True) as t:
        for batch in (1, 2):
            rec.requests.clear()
            _check_delivery(await t.run_batch([spec] * 8), rec)
            assert rec.connections == 8 * batch


async def test_unreachable_target_is_recorded_never_raised() -> None:
    async with ConcurrentTester(closed_port_url(), sync="last-byte", timeout=2) as tester:
        result = await tester.run_batch([RequestSpec("POST", "/x", json={})] * 3)
    assert result.error_count == 3
    assert result.connect_failures == 3
    assert {r.error_kind for r in result.records} == {"refused"}
    assert not any(r.sent for r in result.records)
    assert result.delivery is not None
    assert result.delivery.released == 0
    assert result.delivery.send_spread_s is None


async def test_server_closing_before_the_release_means_not_sent() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)  # the prefix arrives: hang up before the last byte

    async with (
        serve_raw(hang_up) as url,
        ConcurrentTester(url, sync="last-byte", timeout=2) as tester,
    ):
        result = await tester.run_batch([RequestSpec("POST", "/x", json={"a": 1})] * 2)
    assert result.error_count == 2
    assert {r.error_kind for r in result.records} == {"reset"}
    # without its final byte the request was incomplete: it cannot have taken effect
    assert not any(r.sent for r in result.records)


async def test_silent_server_times_out_as_sent_and_garbage_is_malformed() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await asyncio.sleep(5)

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.read(65536)).endswith(b"\r\n\r") is False:
            pass
        await reader.read(1)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(1)

    async with (
        serve_raw(silent) as url,
        ConcurrentTester(url, sync="last-byte", timeout=0.3) as tester,
    ):
        result = await tester.run_batch([RequestSpec("GET", "/")] * 2)
    assert {r.error_kind for r in result.records} == {"timeout"}
    assert all(r.sent for r in result.records)  # released: it may have taken effect
    async with (
        serve_raw(garbage) as url,
        ConcurrentTester(url, sync="last-byte", timeout=2) as tester,
    ):
        result = await tester.run_batch([RequestSpec("GET", "/")] * 2)
    assert {r.error_kind for r in result.records} == {"malformed"}


async def test_a_body_that_is_not_json_is_that_requests_error(
    recorder_url: tuple[str, Recorder],
) -> None:
    url, _ = recorder_url
    async with ConcurrentTester(url, sync="last-byte", keep_body=True) as tester:
        result = await tester.run_batch(
            [RequestSpec("POST", "/a", json={"ok": 1}), RequestSpec("POST", "/b", json={1j})]
        )
    good, bad = result.records
    assert good.status == 200
    assert bad.status is None
    assert bad.error is not None
    assert "not JSON" in bad.error
    assert bad.sent is False


async def test_a_batch_of_one_request_is_sent_as_is(recorder_url: tuple[str, Recorder]) -> None:
    url, rec = recorder_url
    async with ConcurrentTester(url, sync="last-byte", keep_body=True) as tester:
        result = await tester.run_batch([RequestSpec("POST", "/a", json={"n": 1})])
    assert result.status_codes == {200: 1}
    assert result.delivery is not None
    assert result.delivery.sync == "none"
    assert result.delivery.note == "one request: nothing to synchronise"
    assert rec.requests[0].prefix_at == 0  # it arrived whole: no final byte held back


@pytest.mark.parametrize("mode", ["per-user", "shared"])
async def test_an_answer_before_the_release_does_not_poison_the_next_batch(mode: str) -> None:
    """aiohttp answers 404 for an unknown route as soon as the head is in, before the held
    final byte: that byte never leaves, so the connection is closed rather than kept (else the
    next request's first byte would complete the old body: 400 "Invalid method")."""

    async def echo(request: web.Request) -> web.Response:
        return web.json_response(await request.json())

    app = web.Application()
    app.router.add_post("/known", echo)
    async with (
        # a closed connection ends aiohttp's lingering read of the unread body at once
        serve_app(app, handler_cancellation=True) as url,
        ConcurrentTester(url, mode=mode, sync="last-byte", keep_body=True, timeout=5) as tester,
    ):
        missing = await tester.run_batch([RequestSpec("POST", "/missing", json={"a": 1})] * 4)
        assert missing.status_codes == {404: 4}, missing.errors
        known = await tester.run_batch([RequestSpec("POST", "/known", json={"a": 2})] * 4)
    assert known.status_codes == {200: 4}, known.errors
    assert [r.json() for r in known.records] == [{"a": 2}] * 4
    assert known.delivery is not None
    assert (known.delivery.released, known.delivery.connections_warm) == (4, True)


@pytest.mark.parametrize("mode", ["per-user", "shared"])
async def test_a_server_that_never_reads_the_body_gets_fresh_connections(mode: str) -> None:
    """A raw server that answers on the head alone and never reads a body: each answered
    connection is left for a new one, so every request of the next batch is a clean request."""
    heads: list[bytes] = []

    async def head_only(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            heads.append(head.split(b" ", 1)[0])
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")

    async with (
        serve_raw(head_only) as url,
        ConcurrentTester(url, mode=mode, sync="last-byte", timeout=5) as tester,
    ):
        for _ in range(2):
            result = await tester.run_batch([RequestSpec("POST", "/x", json={"a": 1})] * 3)
            assert result.status_codes == {404: 3}, result.errors
    assert heads == [b"POST"] * 6  # never a head starting inside an old body
