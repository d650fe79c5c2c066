"""A graceful GOAWAY (NO_ERROR) is invisible to single-packet delivery: servers end
connections after N requests routinely (hypercorn's ``keep_alive_max_requests``, nginx's
``keepalive_requests``), and a long soak must not report an error every N requests. Every
request is answered exactly once (counted by the server), on as many connections as the
server's limit makes; a GOAWAY with an error code is still an error naming the code."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import pytest
from hyperframe.frame import GoAwayFrame

from monitor.engine import ConcurrentTester, RequestSpec
from monitor.engine.sync.delivery import SyncMode
from monitor.engine.sync.sender import SETTLE_S, SyncSender
from tests.plugins.h2server import Receive, Scope, Send, echo_app, serve_h2
from tests.plugins.nginx_h2 import nginx_binary, nginx_h2_front
from tests.plugins.reference import ReferenceFactory
from tests.plugins.tls import Cert

App = Callable[[Scope, Receive, Send], Awaitable[None]]


def _counting(done: collections.Counter[str], clients: set[object]) -> App:
    """:func:`echo_app`, counting each request whose body the app received whole, by path,
    and the client ports (one per connection)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await echo_app(scope, receive, send)
            return
        clients.add(tuple(scope["client"]))

        async def counted() -> MutableMapping[str, Any]:
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body"):
                done[scope["path"]] += 1
            return message

        await echo_app(scope, counted, send)

    return app


@pytest.mark.parametrize(
    ("tls", "settle_s"),
    [(False, SETTLE_S), (False, 0.0), (True, SETTLE_S)],
    ids=["h2c", "h2c-no-settle", "tls-alpn"],
)
async def test_hypercorn_keep_alive_max_requests_goaway_is_invisible(
    self_signed: Cert, tls: bool, settle_s: float
) -> None:
    """hypercorn sends its GOAWAY on reading the 21st request's HEADERS, and refuses every
    frame after it (its ``h2``): the GOAWAY must be seen before the release. Without a settle
    pause the release would come first every time; the PING sent after the streams makes
    its ACK come after the GOAWAY."""
    done: collections.Counter[str] = collections.Counter()
    clients: set[object] = set()
    app = _counting(done, clients)
    batches, size = 12, 7  # 84 requests; 7 does not divide 20: GOAWAYs fall inside batches
    async with (
        serve_h2(self_signed if tls else None, max_requests=20, app=app) as url,
        ConcurrentTester(
            url,
            mode="per-user",
            sync="single-packet",
            h2c=not tls,
            keep_body=True,
            ca_file=self_signed.cert_file,
        ) as tester,
    ):
        single = SyncMode.SINGLE_PACKET
        tester._senders[single] = SyncSender(tester.client, single, h2c=not tls, settle_s=settle_s)
        for b in range(batches):
            specs = [RequestSpec("POST", f"/r/{b}/{i}", json={"i": i}) for i in range(size)]
            result = await tester.run_batch(specs)
            assert result.errors == [], (b, result.errors)
            assert [r.json()["path"] for r in result.records] == [s.path for s in specs]
            assert result.delivery is not None
            assert (result.delivery.protocol, result.delivery.released) == ("h2", size)
    assert sorted(done) == sorted(f"/r/{b}/{i}" for b in range(batches) for i in range(size))
    assert set(done.values()) == {1}  # each request ran once: none lost, none twice
    # a connection completes at most 20 requests: at least 5 were used, and each was kept
    # until the server ended it
    assert 5 <= len(clients) <= 10, len(clients)


@pytest.mark.parametrize("mode", ["per-user", "shared"])
async def test_http11_connection_close_after_n_requests_is_invisible(mode: str) -> None:
    """Last-byte over HTTP/1.1: hypercorn answers a connection's 3rd request with
    ``Connection: close`` and closes it; the next batch opens a new one."""
    done: collections.Counter[str] = collections.Counter()
    clients: set[object] = set()
    async with (
        serve_h2(max_requests=3, app=_counting(done, clients)) as url,
        ConcurrentTester(url, mode=mode, sync="last-byte", keep_body=True) as tester,
    ):
        for b in range(8):
            specs = [RequestSpec("POST", f"/h1/{b}/{i}", json={"i": i}) for i in range(4)]
            result = await tester.run_batch(specs)
            assert result.errors == [], (b, result.errors)
            assert result.delivery is not None
            assert result.delivery.protocol == "http/1.1"
            assert [r.json()["http_version"] for r in result.records] == ["1.1"] * 4
    assert len(done) == 32
    assert set(done.values()) == {1}
    assert 32 / 3 <= len(clients) < 32, len(clients)  # kept alive, closed after 3 requests


@pytest.mark.skipif(nginx_binary() is None, reason="nginx not installed")
async def test_nginx_keepalive_requests_goaway_is_invisible(
    reference_factory: ReferenceFactory, tmp_path: Path
) -> None:
    """nginx (its own HTTP/2, not ``h2``) ends each connection after 10 requests; the
    reference target counts the points each request added."""
    url = await reference_factory()
    async with ConcurrentTester(url, keep_body=True) as direct:
        reg = await direct.send(RequestSpec("POST", "/auth/register", json={"username": "g"}))
        auth = {"Authorization": f"Bearer {reg.json()['token']}"}
        with nginx_h2_front(url, tmp_path, max_requests=10) as front:
            async with ConcurrentTester(
                front, mode="per-user", keep_body=True, sync="single-packet", h2c=True
            ) as tester:
                add = RequestSpec("POST", "/points/add", json={"amount": 1}, headers=auth)
                deliveries = []
                for _ in range(8):  # 48 requests: GOAWAY after the 10th, 20th ...
                    result = await tester.run_batch([add] * 6)
                    assert result.status_codes == {200: 6}, result.errors
                    deliveries.append(result.delivery)
        balance = await direct.send(RequestSpec("GET", "/points/my-points", headers=auth))
    assert balance.json() == {"balance": 48, "transaction_count": 48}
    assert all(d is not None and d.released == 6 for d in deliveries)
    assert sum(d.connections for d in deliveries if d is not None) >= 48 // 10 + 1


# -- a GOAWAY that comes after the release --------------------------------------------------
# hypercorn and nginx send theirs when a request's HEADERS arrive, before the release. A
# server shutting down gracefully sends it at any moment: this stand-in (``h2`` in server
# mode; no maintained server sends GOAWAY at a chosen point after the request bodies) waits
# for every stream's END_STREAM, then sends GOAWAY with ``code`` and the lowest stream as the
# last one processed, answers that stream (for NO_ERROR), ignores the others and closes.
@contextlib.asynccontextmanager
async def _goaway_after_release(
    code: int, *, idle: bool = False
) -> AsyncIterator[tuple[str, list[str], asyncio.Event]]:
    """``idle``: every stream is answered first, the GOAWAY comes when none is open."""
    answered: list[str] = []
    left = asyncio.Event()  # a connection was closed by the client

    handlers: set[asyncio.Task[object]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handlers.add(asyncio.current_task())  # type: ignore[arg-type]
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        paths: dict[int, str] = {}
        ended: list[int] = []
        try:
            async with asyncio.timeout(10):
                while not ended or len(ended) < len(paths):  # the batch's release
                    data = await reader.read(65536)
                    if not data:
                        return
                    for event in conn.receive_data(data):
                        if isinstance(event, h2.events.RequestReceived):
                            headers = dict(event.headers or [])
                            paths[event.stream_id or 0] = headers[b":path"].decode()
                        elif isinstance(event, h2.events.StreamEnded):
                            ended.append(event.stream_id or 0)
                    writer.write(conn.data_to_send())
                last = max(ended) if idle else min(ended)
                for sid in ended if idle else ():
                    conn.send_headers(sid, [(":status", "200")])
                    conn.send_data(sid, b"done", end_stream=True)
                    writer.write(conn.data_to_send())
                    answered.append(paths[sid])
                if idle:
                    await asyncio.sleep(0.02)  # after the client has taken every answer
                # raw bytes: ``h2`` would refuse to answer after its own GOAWAY
                writer.write(GoAwayFrame(0, last_stream_id=last, error_code=code).serialize())
                if code == 0 and not idle:
                    await asyncio.sleep(0.05)  # the answer comes after the GOAWAY
                    conn.send_headers(last, [(":status", "200")])
                    conn.send_data(last, b"done", end_stream=True)
                    writer.write(conn.data_to_send())
                    answered.append(paths[last])
                while await reader.read(65536):  # until the client closes the connection
                    pass
                answered.append("closed")
                left.set()
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", answered, left
    finally:
        server.close()
        await asyncio.wait_for(asyncio.gather(*handlers, return_exceptions=True), 10)
        await server.wait_closed()


async def test_streams_past_a_graceful_goaway_after_the_release_are_sent_again() -> None:
    async with _goaway_after_release(0) as (url, answered, _), ConcurrentTester(
        url, mode="per-user", sync="single-packet", h2c=True, keep_body=True
    ) as tester:  # fmt: skip
        result = await tester.run_batch([RequestSpec("GET", f"/g/{i}") for i in range(4)])
    assert result.errors == []
    assert result.status_codes == {200: 4}
    # the first stream was answered on the first connection after its GOAWAY; the three past
    # its last stream went again together on a second, then a third and fourth connection
    # (each of which processes only its lowest stream)
    assert sorted(answered) == sorted(["closed"] * 4 + [f"/g/{i}" for i in range(4)])
    delivery = result.delivery
    assert delivery is not None
    assert delivery.connections == 4
    assert delivery.note is not None
    assert "did not process" in delivery.note


async def test_a_goaway_with_an_error_code_after_the_release_is_an_error_naming_it() -> None:
    async with _goaway_after_release(2) as (url, answered, _), ConcurrentTester(
        url, sync="single-packet", h2c=True
    ) as tester:  # fmt: skip
        result = await tester.run_batch([RequestSpec("GET", f"/e/{i}") for i in range(3)])
    assert answered == ["closed"]
    assert result.status_codes == {}
    assert list(result.error_counts) == ["server ended the connection (GOAWAY INTERNAL_ERROR)"]
    assert sum(result.error_counts.values()) == 3


async def test_a_connection_ended_gracefully_between_batches_is_closed_and_replaced() -> None:
    """GOAWAY NO_ERROR once every answer came (a server's idle or request limit): the next
    batch goes on a new connection and the client closes the old one (the server sees it)."""
    async with _goaway_after_release(0, idle=True) as (url, answered, left), ConcurrentTester(
        url, mode="per-user", sync="single-packet", h2c=True
    ) as tester:  # fmt: skip
        for b in range(2):
            result = await tester.run_batch([RequestSpec("GET", f"/i/{b}/{i}") for i in range(3)])
            assert result.errors == [], result.errors
            await asyncio.sleep(0.05)  # the GOAWAY (after the answers) arrives
        await asyncio.wait_for(left.wait(), 5)  # before the tester closes what it keeps
    assert sorted(a for a in answered if a != "closed") == [
        f"/i/{b}/{i}" for b in range(2) for i in range(3)
    ]
