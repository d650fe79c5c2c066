"""Last-byte over TLS: the sender owns the TLS layer (``monitor/engine/sync/tlslink.py``), so
each final byte's TLS record is sealed before the barrier and the release pass writes ready
records. Against real TLS servers on loopback (a raw asyncio TLS server and aiohttp)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web

from monitor.engine import ConcurrentTester, RequestSpec
from tests.engine.servers import serve_raw
from tests.engine.sync.test_last_byte import Recorder, recording
from tests.plugins.tls import Cert


@asynccontextmanager
async def tls_recorder(cert: Cert) -> AsyncIterator[tuple[str, Recorder]]:
    rec = Recorder()
    async with serve_raw(recording(rec), cert.server_context(["http/1.1"])) as url:
        yield url, rec


@pytest.mark.parametrize("mode", ["per-user", "shared", "per-request"])
async def test_final_records_are_held_until_every_prefix_is_in(
    self_signed: Cert, mode: str
) -> None:
    spec = RequestSpec("POST", "/deduct", json={"amount": 1})
    async with tls_recorder(self_signed) as (url, rec):
        tester = ConcurrentTester(
            url, mode=mode, sync="last-byte", keep_body=True, ca_file=self_signed.cert_file
        )
        async with tester:
            for _ in range(3):  # keep-alive modes: the same TLS sessions go on
                rec.requests.clear()
                result = await tester.run_batch([spec] * 6)
                assert result.status_codes == {200: 6}, result.errors
                assert sorted(r.json()["n"] for r in result.records) == [1, 2, 3, 4, 5, 6]
                delivery = result.delivery
                assert delivery is not None
                assert (delivery.sync, delivery.released, delivery.arrivals) == ("last-byte", 6, 6)
                assert delivery.send_spread_s is not None
                # every request was all-but-its-last-byte at the server until all were
                assert all(s.prefix_at for s in rec.requests), "a request arrived whole"
                assert max(s.prefix_at for s in rec.requests) < min(
                    s.complete_at for s in rec.requests
                )
        assert rec.connections == (18 if mode == "per-request" else 6)


async def test_an_untrusted_certificate_is_each_requests_tls_error(self_signed: Cert) -> None:
    async with (
        tls_recorder(self_signed) as (url, rec),
        ConcurrentTester(url, sync="last-byte", timeout=5) as tester,
    ):
        result = await tester.run_batch([RequestSpec("GET", "/")] * 3)
    assert {r.error_kind for r in result.records} == {"tls"}
    assert all("certificate" in (r.error or "") for r in result.records)
    assert not any(r.sent for r in result.records)
    assert rec.requests == []


async def test_a_server_hanging_up_after_the_prefix_means_not_sent(self_signed: Cert) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)  # the prefix arrives: hang up before the last byte
        writer.close()

    async with (
        serve_raw(hang_up, self_signed.server_context()) as url,
        ConcurrentTester(url, sync="last-byte", timeout=2, ca_file=self_signed.cert_file) as t,
    ):
        result = await t.run_batch([RequestSpec("POST", "/x", json={"a": 1})] * 2)
    assert result.error_count == 2
    assert {r.error_kind for r in result.records} == {"reset"}
    assert not any(r.sent for r in result.records)


async def test_aiohttp_over_tls_answers_cookies_and_bodies(self_signed: Cert) -> None:
    """A real HTTP server over TLS: bodies both ways, cookies set and sent back."""

    async def echo(request: web.Request) -> web.Response:
        seen = request.cookies.get("n", "")
        response = web.json_response({"body": await request.json(), "cookie": seen})
        response.set_cookie("n", str(int(seen or 0) + 1))
        return response

    app = web.Application()
    app.router.add_post("/echo", echo)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    context = self_signed.server_context()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    url = f"https://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with ConcurrentTester(
            url, mode="per-user", sync="last-byte", keep_body=True, ca_file=self_signed.cert_file
        ) as tester:
            specs = [RequestSpec("POST", "/echo", json={"user": i}) for i in range(4)]
            first = await tester.run_batch(specs)
            second = await tester.run_batch(specs)
    finally:
        await runner.cleanup()
    assert [r.json() for r in first.records] == [
        {"body": {"user": i}, "cookie": ""} for i in range(4)
    ]
    assert [r.json() for r in second.records] == [
        {"body": {"user": i}, "cookie": "1"} for i in range(4)
    ]
    assert second.delivery is not None
    assert (second.delivery.sync, second.delivery.released) == ("last-byte", 4)


async def test_large_bodies_over_tls(self_signed: Cert) -> None:
    """Prefixes of many TLS records (300 kB bodies) still end in one sealed record each."""

    async def size(request: web.Request) -> web.Response:
        return web.json_response({"size": len(await request.read())})

    app = web.Application(client_max_size=2**21)
    app.router.add_post("/size", size)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self_signed.server_context())
    await site.start()
    url = f"https://127.0.0.1:{runner.addresses[0][1]}"
    body = {"blob": "x" * 300_000}
    expected = len(json.dumps(body).encode())
    try:
        async with ConcurrentTester(
            url, mode="shared", sync="last-byte", keep_body=True, ca_file=self_signed.cert_file
        ) as tester:
            for _ in range(2):
                result = await tester.run_batch([RequestSpec("POST", "/size", json=body)] * 4)
                assert result.status_codes == {200: 4}, result.errors
                assert [r.json() for r in result.records] == [{"size": expected}] * 4
                assert result.delivery is not None
                assert result.delivery.released == 4
    finally:
        await runner.cleanup()
