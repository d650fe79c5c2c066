"""Tiny HTTP helpers for black-box tests of the reference target (plain aiohttp)."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from multidict import CIMultiDict

JSON = Any


@dataclass(frozen=True)
class Response:
    """What a user of the API sees: status, decoded body (None if not JSON) and headers."""

    status: int
    body: JSON
    headers: Mapping[str, str] = field(repr=False)
    text: str = field(repr=False, default="")

    def error(self) -> str:
        """The ``error`` code of an error body (asserts the body has the contract's shape)."""
        assert isinstance(self.body, dict), f"error body is not a JSON object: {self.text!r}"
        assert set(self.body) == {"error", "message"}, f"bad error body: {self.body}"
        assert isinstance(self.body["message"], str)
        assert self.body["message"], "empty error message"
        code: str = self.body["error"]
        return code


async def request(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    token: str | None = None,
    json_body: JSON = None,
    data: str | bytes | None = None,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> Response:
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"
    if data is not None:
        hdrs.setdefault("Content-Type", "application/json")
    async with session.request(
        method, url, json=json_body, data=data, headers=hdrs, params=params
    ) as resp:
        text = await resp.text()
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None
        return Response(resp.status, body, CIMultiDict(resp.headers), text)  # case-insensitive


@dataclass
class Client:
    """One user's view of the API (token optional), bound to a session and a base URL."""

    session: aiohttp.ClientSession
    base: str
    token: str | None = None
    user_id: str | None = None

    async def call(self, method: str, path: str, json_body: JSON = None, **kw: Any) -> Response:
        return await request(
            self.session, method, self.base + path, token=self.token, json_body=json_body, **kw
        )

    async def get(self, path: str, **kw: Any) -> Response:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, json_body: JSON = None, **kw: Any) -> Response:
        return await self.call("POST", path, json_body, **kw)

    async def patch(self, path: str, json_body: JSON = None, **kw: Any) -> Response:
        return await self.call("PATCH", path, json_body, **kw)

    async def delete(self, path: str, **kw: Any) -> Response:
        return await self.call("DELETE", path, **kw)

    def as_user(self, token: str | None, user_id: str | None = None) -> Client:
        return Client(self.session, self.base, token, user_id)

    async def balance(self) -> int:
        r = await self.get("/points/my-points")
        assert r.status == 200, r
        value: int = r.body["balance"]
        return value

    async def ledger(self) -> list[dict[str, Any]]:
        """Every ledger row of this user, newest first (pages through the whole list)."""
        rows: list[dict[str, Any]] = []
        while True:
            r = await self.get(
                "/points/transactions", params={"limit": "100", "offset": str(len(rows))}
            )
            assert r.status == 200, r
            rows.extend(r.body["items"])
            if not r.body["items"] or len(rows) >= r.body["total"]:
                return rows

    async def fund(self, amount: int) -> None:
        r = await self.post("/points/add", {"amount": amount, "reason": "test funding"})
        assert r.status == 200, r

    async def new_task(self, title: str = "a task") -> dict[str, Any]:
        r = await self.post("/tasks", {"title": title})
        assert r.status == 201, r
        task: dict[str, Any] = r.body
        return task


def unique_name(prefix: str = "user") -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


async def register(
    session: aiohttp.ClientSession, base: str, username: str | None = None
) -> Client:
    """Register a fresh user and return a client authenticated as them."""
    r = await request(
        session, "POST", base + "/auth/register", json_body={"username": username or unique_name()}
    )
    assert r.status == 201, r
    return Client(session, base, r.body["token"], r.body["user_id"])


async def concurrently(
    n: int, base: str, token: str | None, op: Callable[[Client, int], Awaitable[Response]]
) -> list[Response]:
    """Run ``op`` n times at once, each with its OWN session/connection, all released together."""
    gate = asyncio.Event()

    async def one(i: int) -> Response:
        connector = aiohttp.TCPConnector(limit=1, force_close=True)
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=60)
        ) as session:
            await gate.wait()
            return await op(Client(session, base, token), i)

    async with asyncio.TaskGroup() as group:  # a failure cancels the rest: nothing left behind
        tasks = [group.create_task(one(i)) for i in range(n)]
        await asyncio.sleep(0.01)  # let every task create its session and park on the gate
        gate.set()
    return [t.result() for t in tasks]


def statuses(responses: list[Response]) -> list[int]:
    return sorted(r.status for r in responses)
