"""The same traffic recorded through aiohttp and through the fast path gives the same records.

What the daemon's plain soak (PER_USER: each VU its own keep-alive connection and cookies) and
a sustained load (SHARED, bodies kept) record must not depend on the transport: the same
counts, status codes, error kinds and messages, and the same record fields; only latency
values differ (never their presence or unit). Against real loopback servers: the reference
target (``soakmon target serve`` as a process), and small aiohttp apps for what the reference
target does not do (cookies, redirects, a second origin, failures).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from monitor.engine import (
    Burst,
    ConcurrentResult,
    ConcurrentTester,
    ConnectionMode,
    RequestRecord,
    RequestSpec,
    Runner,
)
from tests.engine.servers import (
    closed_port_url,
    each_request,
    read_request_head,
    serve_app,
    serve_raw,
)
from tests.plugins.target_process import TargetProcess

#: Record fields that must be equal on both paths (latencies and clocks only in kind).
SAME = ("name", "method", "url", "status", "bytes_received", "error", "error_kind", "sent")


async def record(
    url: str,
    specs: Sequence[RequestSpec],
    *,
    fast: bool,
    mode: ConnectionMode,
    users: int = 3,
    keep_body: bool = False,
    timeout_s: float = 5.0,
) -> tuple[ConcurrentResult, list[RequestRecord]]:
    """``users`` iterations of ``specs`` (one VU each), every record kept, in (VU, order)."""
    async with ConcurrentTester(
        url, mode=mode, fast_path=fast, keep_body=keep_body, timeout=timeout_s
    ) as tester:
        runner = Runner(tester.client, Burst(users), list(specs), sample_limit=10_000)
        assert runner.uses_fast_path is fast, runner.fast_path_refusal
        out = await runner.run()
    records = sorted(out.result.records, key=lambda r: r.start)
    return out.result, records


def same_records(slow: list[RequestRecord], fast: list[RequestRecord]) -> None:
    key = lambda r: (r.name, r.start)  # noqa: E731 - each VU sends its specs in order
    slow_by, fast_by = sorted(slow, key=key), sorted(fast, key=key)
    assert [r.name for r in slow_by] == [r.name for r in fast_by]
    for a, b in zip(slow_by, fast_by, strict=True):
        assert {f: getattr(a, f) for f in SAME} == {f: getattr(b, f) for f in SAME}, a.name
        for r in (a, b):  # latency: present, in milliseconds (from the intended start)
            assert isinstance(r.duration_ms, float)
            assert 0 < r.duration_ms < 10_000
            if r.intended_start is not None:
                assert r.intended_start <= r.start
        assert (a.intended_start is None) == (b.intended_start is None)
        assert (a.body is None) == (b.body is None)
        assert (a.headers is None) == (b.headers is None)


def same_result(slow: ConcurrentResult, fast: ConcurrentResult) -> None:
    a, b = slow.to_dict(), fast.to_dict()
    for key in ("total", "success_count", "error_count", "status_codes", "errors"):
        assert a[key] == b[key], key
    assert slow.histogram.count == fast.histogram.count == slow.total


@pytest.fixture
async def reference(tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """The reference target as a process, and a registered user's token."""
    target = TargetProcess(tmp_path, "records")
    url = await target.start()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{url}/auth/register", json={"username": "records-user"}) as resp,
        ):
            token = (await resp.json())["token"]
        yield url, token
    finally:
        target.kill()


def reference_specs(token: str) -> list[RequestSpec]:
    auth = {"Authorization": f"Bearer {token}"}
    return [
        RequestSpec("GET", "/healthz"),
        RequestSpec("GET", "/points/my-points", headers=auth, name="balance"),
        RequestSpec("GET", "/points/my-points", name="no-token"),  # 401
        RequestSpec("POST", "/points/deduct", json={"amount": 10**9}, headers=auth),  # 409
        RequestSpec("POST", "/points/add", json={"amount": -1}, headers=auth),  # 422
        RequestSpec("GET", "/tasks/00000000-0000-0000-0000-000000000000", headers=auth),  # 404
        RequestSpec("GET", "/openapi.json"),  # a body of many TCP segments
    ]


async def test_reference_target_records_are_the_same_on_both_paths(
    reference: tuple[str, str],
) -> None:
    url, token = reference
    specs = reference_specs(token)
    # the daemon's plain soak (per-user, bodies counted); a sustained load (shared, kept)
    for mode, keep_body in ((ConnectionMode.PER_USER, False), (ConnectionMode.SHARED, True)):
        await _compare(url, specs, mode, keep_body=keep_body)


async def _compare(
    url: str, specs: list[RequestSpec], mode: ConnectionMode, *, keep_body: bool
) -> None:
    slow, slow_records = await record(url, specs, fast=False, mode=mode, keep_body=keep_body)
    fast, fast_records = await record(url, specs, fast=True, mode=mode, keep_body=keep_body)
    same_result(slow, fast)
    same_records(slow_records, fast_records)
    assert slow.status_codes == {200: 9, 401: 3, 409: 3, 422: 3, 404: 3}
    if keep_body:
        key = lambda r: (r.name, r.start)  # noqa: E731
        for a, b in zip(sorted(slow_records, key=key), sorted(fast_records, key=key), strict=True):
            assert a.json() == b.json()
            assert a.headers is not None
            assert b.headers is not None
            assert a.headers.get("content-type") == b.headers.get("content-type")


@pytest.fixture
async def other_origin() -> AsyncIterator[str]:
    """A second origin (another port) that echoes what reached it."""

    async def echo(request: web.Request) -> web.Response:
        seen = {k: request.headers.get(k) for k in ("Authorization", "Cookie")}
        return web.json_response({"method": request.method, **seen})

    app = web.Application()
    app.router.add_route("*", "/echo", echo)
    async with serve_app(app) as url:
        yield url


@pytest.fixture
async def cookie_app(other_origin: str) -> AsyncIterator[str]:
    """Session cookies, redirects of every kind, a redirect loop and a cross-origin redirect."""
    counter = itertools.count(1)

    async def login(request: web.Request) -> web.Response:
        sid = f"s{next(counter):03d}"  # same length on both paths: equal byte counts
        resp = web.json_response({"sid": sid})
        resp.set_cookie("sid", sid, path="/")
        resp.set_cookie("theme", "dark", path="/prefs")  # only sent below /prefs
        return resp

    async def whoami(request: web.Request) -> web.Response:
        return web.json_response(
            {"sid": request.cookies.get("sid"), "theme": request.cookies.get("theme")}
        )

    async def echo(request: web.Request) -> web.Response:
        body = await request.text()
        return web.json_response(
            {"method": request.method, "body": body, "sid": request.cookies.get("sid")}
        )

    def redirect(status: int, to: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            return web.Response(status=status, headers={"Location": to})

        return handler

    app = web.Application()
    app.router.add_get("/login", login)
    app.router.add_get("/whoami", whoami)
    app.router.add_route("*", "/echo", echo)
    app.router.add_route("*", "/r301", redirect(301, "/echo"))
    app.router.add_route("*", "/r303", redirect(303, "echo"))  # relative to the path
    app.router.add_route("*", "/r307", redirect(307, "/echo"))
    app.router.add_route("*", "/loop", redirect(302, "/loop"))
    app.router.add_route("*", "/away", redirect(302, f"{other_origin}/echo"))
    app.router.add_route("*", "/nowhere", redirect(302, "ftp://example.invalid/x"))
    async with serve_app(app) as url:
        yield url


async def test_cookies_and_redirects_are_recorded_alike(cookie_app: str) -> None:
    auth = {"Authorization": "Bearer secret"}
    specs = [
        RequestSpec("GET", "/whoami", name="before-login"),
        RequestSpec("GET", "/login"),
        RequestSpec("GET", "/whoami"),
        RequestSpec("POST", "/r301", json={"a": 1}, name="post-301"),  # becomes a GET
        RequestSpec("POST", "/r303", json={"a": 1}, name="post-303"),  # becomes a GET
        RequestSpec("PUT", "/r307", json={"a": 1}, name="put-307"),  # keeps method and body
        RequestSpec("GET", "/loop"),  # too many redirects
        RequestSpec("GET", "/away", headers=auth),  # Authorization dropped across origins
        RequestSpec("GET", "/nowhere"),  # a scheme aiohttp refuses
    ]
    mode = ConnectionMode.PER_USER
    slow, slow_records = await record(cookie_app, specs, fast=False, mode=mode, keep_body=True)
    fast, fast_records = await record(cookie_app, specs, fast=True, mode=mode, keep_body=True)
    same_result(slow, fast)
    same_records(slow_records, fast_records)
    for records in (slow_records, fast_records):
        got: dict[str, list[Any]] = {}
        for r in records:
            got.setdefault(r.name, []).append(r.json() if r.error is None else r.error_kind)
        assert got["before-login"] == [{"sid": None, "theme": None}] * 3
        sids = sorted(body["sid"] for body in got["GET /login"])
        assert len(set(sids)) == 3  # every VU its own session ...
        # ... and every later request of a VU carries its own cookie (a shared jar would
        # repeat the last login's), /prefs's cookie never reaches /whoami
        assert sorted(b["sid"] for b in got["GET /whoami"]) == sids
        assert {b["theme"] for b in got["GET /whoami"]} == {None}
        for name, method, body in (("post-301", "GET", ""), ("post-303", "GET", ""),
                                   ("put-307", "PUT", '{"a": 1}')):  # fmt: skip
            assert {(b["method"], b["body"]) for b in got[name]} == {(method, body)}
            assert sorted(b["sid"] for b in got[name]) == sids
        assert got["GET /loop"] == ["malformed"] * 3  # too many redirects
        # the other origin gets no credentials, but the host's cookies (they ignore ports)
        assert {(b["method"], b["Authorization"]) for b in got["GET /away"]} == {("GET", None)}
        assert sorted(b["Cookie"] for b in got["GET /away"]) == [f"sid={s}" for s in sids]
        assert got["GET /nowhere"] == ["other"] * 3
    # a shared client keeps no cookies on either path, and follows the same redirects
    mode = ConnectionMode.SHARED
    slow, slow_records = await record(cookie_app, specs, fast=False, mode=mode, keep_body=True)
    fast, fast_records = await record(cookie_app, specs, fast=True, mode=mode, keep_body=True)
    same_result(slow, fast)
    same_records(slow_records, fast_records)
    assert {r.json()["sid"] for r in fast_records if r.name == "post-303"} == {None}


async def test_failures_are_recorded_alike() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        await asyncio.sleep(30)

    spec = [RequestSpec("POST", "/pay", json={"amount": 1})]
    for mode in (ConnectionMode.PER_USER, ConnectionMode.SHARED):
        url = closed_port_url()
        slow, a = await record(url, spec, fast=False, mode=mode)
        fast, b = await record(url, spec, fast=True, mode=mode)
        same_result(slow, fast)
        same_records(a, b)
        assert {r.error_kind for r in a} == {"refused"}
        async with serve_raw(silent) as url:
            slow, a = await record(url, spec, fast=False, mode=mode, timeout_s=0.3)
            fast, b = await record(url, spec, fast=True, mode=mode, timeout_s=0.3)
        same_result(slow, fast)
        same_records(a, b)
        assert {(r.error_kind, r.error, r.sent) for r in a} == {
            ("timeout", "timeout after 0.3 s", True)
        }


async def test_what_does_not_qualify_says_why() -> None:
    cases = [
        ("http://127.0.0.1:9", ConnectionMode.PER_REQUEST, RequestSpec("GET", "/"),
         "per-request connections"),
        ("https://127.0.0.1:9", ConnectionMode.PER_USER, RequestSpec("GET", "/"),
         "https:// needs aiohttp's TLS"),
        ("http://127.0.0.1:9", ConnectionMode.PER_USER, RequestSpec("HEAD", "/"),
         "HEAD answers have no body"),
        ("http://127.0.0.1:9", ConnectionMode.PER_USER,
         RequestSpec("GET", "/", headers={"Cookie": "a=1"}), "Cookie header merged"),
    ]  # fmt: skip
    for url, mode, spec, why in cases:
        async with ConcurrentTester(url, mode=mode, fast_path=True) as tester:
            runner = Runner(tester.client, Burst(1), spec)
            assert not runner.uses_fast_path
            assert runner.fast_path_refusal is not None
            assert why in runner.fast_path_refusal
    async with ConcurrentTester("http://127.0.0.1:9", mode="per-user", fast_path=True) as tester:
        runner = Runner(tester.client, Burst(1), RequestSpec("POST", "/", json={}))
        assert runner.uses_fast_path
        assert runner.fast_path_refusal is None


async def test_an_interim_answer_is_not_the_requests_answer() -> None:
    """A server that sends ``103 Early Hints`` (in its own packet or with the final head)
    before each answer: the request's answer is the final one on both paths (aiohttp skips
    interim answers), with the final head's headers and body, in every connection mode and
    when only counts are kept; the fast path took the 103 as the answer before."""
    sent = 0

    async def early_hints(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        async for _ in each_request(reader):
            sent += 1
            hints = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
            final = f"HTTP/1.1 201 Created\r\nX-N: {sent}\r\nContent-Length: 2\r\n\r\nok"
            if sent % 2:  # apart, so that the 103 is a read of its own
                writer.write(hints)
                await writer.drain()
                await asyncio.sleep(0.005)
                writer.write(final.encode())
            else:
                writer.write(hints + final.encode())
            await writer.drain()

    spec = [RequestSpec("GET", "/a"), RequestSpec("GET", "/b")]
    async with serve_raw(early_hints) as url:
        for mode in (ConnectionMode.PER_USER, ConnectionMode.SHARED):
            slow, a = await record(url, spec, fast=False, mode=mode, keep_body=True)
            fast, b = await record(url, spec, fast=True, mode=mode, keep_body=True)
            same_result(slow, fast)
            same_records(a, b)
            assert {(r.status, r.bytes_received) for r in b} == {(201, 2)}
            assert all(r.headers is not None and "X-N" in r.headers for r in b)
        async with ConcurrentTester(url, mode="shared", fast_path=True) as tester:
            runner = Runner(tester.client, Burst(4), spec, sample_limit=0)
            out = await runner.run()
    assert out.result.status_codes == {201: 8}
