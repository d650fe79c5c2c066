"""A read in setup or read-back whose request the server dropped without an answer ("server
disconnected": a keep-alive connection closed by the server just as it was reused) is sent
once more; a write is not (it may have been processed)."""

from __future__ import annotations

import asyncio
import itertools
from types import SimpleNamespace
from typing import Any

from monitor.engine import ConcurrentTester
from monitor.suites.profile.models import Profile
from monitor.suites.run.client import ProfileClient, Session
from monitor.suites.run.steps import call_step
from tests.engine.servers import read_request_head, serve_raw

PROFILE = Profile.model_validate(
    {
        "name": "stale",
        "operations": {
            "points.balance": {"method": "GET", "path": "/balance", "auth": False},
            "points.add": {"method": "POST", "path": "/add", "auth": False},
        },
    }
)
BODY = b'{"balance": 5}'


async def test_a_read_dropped_by_the_server_is_sent_once_more_a_write_is_not() -> None:
    connections = itertools.count(1)
    seen: list[int] = []

    async def odd_ones_vanish(reader: asyncio.StreamReader, writer: Any) -> None:
        number = next(connections)
        seen.append(number)
        await read_request_head(reader)
        if number % 2:
            return  # closed unanswered
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(BODY)}"
        writer.write(head.encode() + b"\r\nConnection: close\r\n\r\n" + BODY)
        await writer.drain()

    async with (
        serve_raw(odd_ones_vanish) as url,
        ConcurrentTester(url, keep_body=True) as tester,
    ):
        run = SimpleNamespace(client=ProfileClient(PROFILE, tester))
        user = Session("alice")
        read = await call_step(run, "points.balance", {}, user)  # type: ignore[arg-type]
        sent = len(seen)
        write = await call_step(run, "points.add", {}, user)  # type: ignore[arg-type]
    assert (read.code, read.value) == ("ok", {"balance": 5})
    assert sent == 2  # the first request was dropped, the second answered
    assert (write.code, write.error) == ("transport", "server disconnected")
    assert len(seen) == 3  # the write was not sent twice
