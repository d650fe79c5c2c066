"""HTTP/2 single-packet delivery against a real HTTP/2 server (hypercorn) on loopback, over
h2c prior knowledge and over TLS with ALPN; and the fallbacks when the target has no h2."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web
from yarl import URL

from monitor.engine import ConcurrentTester, RequestSpec
from monitor.engine.sync.h2open import open_h2
from monitor.engine.sync.wire import outgoing
from tests.engine.servers import serve_app
from tests.plugins.h2server import serve_h2
from tests.plugins.tls import Cert


def _batch(n: int) -> list[RequestSpec]:
    specs = [
        RequestSpec(
            "POST", f"/deduct/{i}", json={"amount": i}, headers={"Authorization": "Bearer t"}
        )
        for i in range(n - 1)
    ]
    return [*specs, RequestSpec("GET", "/balance?user=1")]


@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "tls-alpn"])
async def test_streams_on_one_connection_released_in_one_write(
    self_signed: Cert, tls: bool
) -> None:
    async with serve_h2(self_signed if tls else None) as url, ConcurrentTester(
        url, mode="per-user", keep_body=True, sync="auto", h2c=not tls,
        ca_file=self_signed.cert_file,
    ) as tester:  # fmt: skip
        for _ in range(2):  # the second batch reuses the warm connection
            result = await tester.run_batch(_batch(12))
            assert result.status_codes == {201: 11, 200: 1}, result.errors
            bodies = [r.json() for r in result.records]
            assert {b["http_version"] for b in bodies} == {"2"}
            assert [b["body"] for b in bodies[:11]] == [{"amount": i} for i in range(11)]
            assert bodies[11]["query"] == "user=1"
            assert bodies[0]["authorization"] == "Bearer t"
            delivery = result.delivery
            assert delivery is not None
            assert (delivery.sync, delivery.protocol, delivery.connections) == (
                "single-packet", "h2", 1,
            )  # fmt: skip
            assert delivery.released == 12
            assert delivery.note is None
            assert delivery.arrivals == 12
            assert delivery.arrival_spread_s is not None
            assert delivery.send_spread_s is not None
        # the cookie the first batch received goes with the second (user 0's jar), quoted
        # as aiohttp's own ClientSession sends it
        assert result.records[0].json()["cookie"] == 'seen="deduct/0"'


async def test_single_packet_on_a_target_without_h2_falls_back_to_last_byte(
    self_signed: Cert,
) -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/", ok)
    async with serve_app(app) as url, ConcurrentTester(url, sync="single-packet") as tester:
        result = await tester.run_batch([RequestSpec("GET", "/")] * 3)
    assert result.status_codes == {200: 3}
    assert result.delivery is not None
    assert result.delivery.sync == "last-byte"
    assert result.delivery.note is not None
    assert "HTTP/2" in result.delivery.note


async def test_auto_over_tls_without_h2_alpn_uses_last_byte(self_signed: Cert) -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"scheme": request.scheme})

    app = web.Application()
    app.router.add_get("/", ok)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self_signed.server_context())
    await site.start()
    url = f"https://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with ConcurrentTester(url, sync="auto", ca_file=self_signed.cert_file) as tester:
            result = await tester.run_batch([RequestSpec("GET", "/")] * 4)
            untrusted = ConcurrentTester(url, sync="auto")
            async with untrusted:
                refused = await untrusted.run_batch([RequestSpec("GET", "/")] * 2)
    finally:
        await runner.cleanup()
    assert result.status_codes == {200: 4}, result.errors
    assert result.delivery is not None
    assert result.delivery.sync == "last-byte"
    assert result.delivery.released == 4
    # an untrusted certificate is each request's error, never an exception
    assert {r.error_kind for r in refused.records} == {"tls"}
    assert not any(r.sent for r in refused.records)


async def test_a_stream_answered_before_its_final_frame_is_that_requests_record() -> None:
    # a server may answer a stream on its headers (an app that never reads the body; HAProxy
    # relaying such an answer, then RST_STREAM NO_ERROR): the batch must not fail on it, the
    # early answer is that request's record, and the connection serves the next batches whole:
    # the early stream is completed, not left half-closed holding one of the server's 5 streams
    async with serve_h2(max_streams=5) as url, ConcurrentTester(
        url, mode="per-user", keep_body=True, sync="single-packet", h2c=True
    ) as tester:  # fmt: skip
        for _ in range(3):
            batch = [RequestSpec("GET", "/early"), *_batch(4)]
            result = await tester.run_batch(batch)
            assert result.errors == [], result.errors
            assert result.status_codes == {200: 2, 201: 3}
            early, *held = result.records
            assert early.body == b"early"
            delivery = result.delivery
            assert delivery is not None
            # every request was invoked when its HEADERS left, before the release
            assert early.duration_ms >= 0
            assert all(r.invoked is not None for r in result.records)
            release = held[0].start
            assert all(r.start == release for r in held)
            assert all(r.invoked is not None and r.invoked < release for r in result.records)
            # the answer comes within the 2 ms settle, or after it on a busy machine (this
            # server runs in the test's event loop): answered first, the early request is not
            # in the pass and its record starts when its HEADERS left (it used to start at
            # the release, after its answer); else it is released with the others
            answered_first = early.start == early.invoked
            assert answered_first or early.start == release
            assert (delivery.sync, delivery.released, delivery.connections) == (
                "single-packet", 4 if answered_first else 5, 1,
            )  # fmt: skip


async def test_a_request_answered_on_its_headers_is_completed_and_its_stream_freed() -> None:
    # the answer awaited before the final frame, not raced against the settle: the client then
    # sends the request's last byte with END_STREAM (RFC 9113 §8.1), so the server's only
    # stream is free again and the connection serves the next requests
    async with serve_h2(max_streams=1) as url, ConcurrentTester(url) as tester:
        conn = await open_h2("127.0.0.1", URL(url).port or 80, 5.0, None)
        try:
            for path in ("/early/1", "/early/2", "/after"):
                req = tester.client.prepare(RequestSpec("POST", path, json={"n": 12}))
                out = outgoing(tester.client, 0, req, None)
                stream_id, done = conn.prime(out, keep_body=True)
                if path == "/after":
                    conn.transport.write(conn.finals([(stream_id, out)]))  # type: ignore[union-attr]
                await asyncio.wait_for(done, 5)
                assert out.error is None, out.error
                assert conn.capacity == 1
            assert out.status == 201
            assert json.loads(out.response_body or b"")["body"] == {"n": 12}
        finally:
            conn.abort()


async def test_a_request_without_body_does_not_announce_it_is_complete() -> None:
    # `content-length: 0` in HEADERS would let a server (or a proxy forwarding to an
    # HTTP/1.1 app) run the request before its END_STREAM is released: only the end of the
    # stream may say the request is complete
    async with serve_h2() as url, ConcurrentTester(
        url, mode="per-user", keep_body=True, sync="single-packet", h2c=True
    ) as tester:  # fmt: skip
        result = await tester.run_batch(
            [RequestSpec("POST", "/tasks/1/complete"), RequestSpec("POST", "/x", json={"a": 1})]
        )
    assert result.status_codes == {201: 2}, result.errors
    bare, with_body = (r.json() for r in result.records)
    assert bare["content_length"] is None
    assert bare["body"] is None
    assert with_body["content_length"] == "8"  # {"a": 1}
