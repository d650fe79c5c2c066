"""The synchronised sender produces the records the aiohttp path produces for the same
traffic (status, body, headers kept, errors, sent), and shares the users' cookies with it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from monitor.engine import ConcurrentTester, RequestRecord, RequestSpec
from tests.engine.servers import serve_app
from tests.plugins.reference import ReferenceFactory

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT[0-9:.]+(Z|[+-]\d\d:\d\d)?")


def _shape(record: RequestRecord) -> dict[str, Any]:
    """What a profile reads from a record, with ids and times masked."""
    body = (record.body or b"").decode()
    return {
        "name": record.name,
        "method": record.method,
        "url": record.url.split("/", 3)[3],  # the path (each run has its own port)
        "status": record.status,
        "error": record.error,
        "sent": record.sent,
        "body": _TIME.sub("<time>", _UUID.sub("<id>", body)),
        "content_type": (record.headers or {}).get("Content-Type"),
        "ok": record.ok,
    }


async def _traffic(url: str, sync: str) -> list[list[dict[str, Any]]]:
    """Register 5 users, then fire two batches: each user adds, deducts too much, reads."""
    batches = []
    async with ConcurrentTester(url, mode="per-user", keep_body=True, sync=sync) as tester:
        tokens = []
        for i in range(5):
            reg = await tester.send(
                RequestSpec("POST", "/auth/register", json={"username": f"u{i}"})
            )
            tokens.append(reg.json()["token"])
        auth = [{"Authorization": f"Bearer {t}"} for t in tokens]
        first = [RequestSpec("POST", "/points/add", json={"amount": 5}, headers=h) for h in auth]
        first.append(RequestSpec("POST", "/points/add", json={"amount": -1}, headers=auth[0]))
        first.append(RequestSpec("GET", "/points/my-points", name="read"))  # no token: 401
        second = [
            RequestSpec("POST", "/points/deduct", json={"amount": 50}, headers=auth[0]),
            RequestSpec("GET", "/points/my-points?x=1", headers=auth[1]),
            RequestSpec("GET", "/no/such/route", headers=auth[2]),
        ]
        for specs in (first, second):
            result = await tester.run_batch(specs)
            assert result.delivery is not None
            assert result.delivery.sync == sync
            batches.append([_shape(r) for r in result.records])
    return batches


async def test_same_records_as_aiohttp_on_the_reference_target(
    reference_factory: ReferenceFactory,
) -> None:
    today = await _traffic(await reference_factory(), "none")
    synced = await _traffic(await reference_factory(), "last-byte")
    assert synced == today
    statuses = [r["status"] for batch in today for r in batch]
    assert statuses == [200] * 5 + [422, 401, 409, 200, 404]  # the traffic covers failures


@pytest.fixture
async def cookie_url() -> AsyncIterator[str]:
    async def login(request: web.Request) -> web.Response:
        response = web.json_response({"ok": True})
        response.set_cookie("sid", request.query["user"])
        return response

    async def whoami(request: web.Request) -> web.Response:
        response = web.json_response({"sid": request.cookies.get("sid")})
        if "rotate" in request.query:
            response.set_cookie("sid", request.cookies.get("sid", "") + "-rotated")
        return response

    app = web.Application()
    app.router.add_get("/login", login)
    app.router.add_get("/whoami", whoami)
    async with serve_app(app) as url:
        yield url


async def test_per_user_cookies_are_shared_with_the_aiohttp_sessions(cookie_url: str) -> None:
    async with ConcurrentTester(cookie_url, mode="per-user", keep_body=True, sync="last-byte") as t:
        for user in range(3):  # logged in through aiohttp (user i's session)
            await t.client.send(RequestSpec("GET", f"/login?user=u{user}"), user=user)
        result = await t.run_batch([RequestSpec("GET", "/whoami?rotate=1")] * 3)
        assert [r.json() for r in result.records] == [{"sid": f"u{i}"} for i in range(3)]
        # the cookies the synchronised batch received are the users' cookies from now on
        after = [await t.client.send(RequestSpec("GET", "/whoami"), user=i) for i in range(3)]
        assert [r.json() for r in after] == [{"sid": f"u{i}-rotated"} for i in range(3)]
