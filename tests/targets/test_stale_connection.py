"""A read in setup or read-back whose request the server dropped without an answer ("server
disconnected": a keep-alive connection closed by the server just as it was reused) is sent
once more. A write is sent once more only when it provably never left whole (the pooled
connection was found closed while its body was written: never applied); a write that was
written and then lost its connection is not (it may have been applied — shown below with a
server that applies it and then drops the connection)."""

from __future__ import annotations

import asyncio
import itertools
import random
from types import SimpleNamespace
from typing import Any

from monitor.engine import ConcurrentTester
from monitor.suites.profile.models import Profile
from monitor.suites.run.call import Session
from monitor.suites.run.client import ProfileClient
from monitor.suites.run.scenario_run import ScenarioRun
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


async def _whole_request(reader: asyncio.StreamReader) -> bytes:
    """The request line, once the head and the whole body (Content-Length) have arrived."""
    head = await read_request_head(reader)
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n")
         if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
    await reader.readexactly(length)
    return head.split(b"\r\n")[0]


WITH_BODY = Profile.model_validate(
    {
        "name": "stale-body",
        "operations": {
            "points.balance": {"method": "GET", "path": "/balance", "auth": False},
            "points.add": {"method": "POST", "path": "/add", "auth": False,
                           "body": {"amount": 1}},
            "register": {"method": "POST", "path": "/register", "auth": False,
                         "body": {"username": "{username}"}, "session": {"token": "balance"}},
        },
    }
)  # fmt: skip
"""A write with a body: aiohttp writes it after the head, and tells when that write failed (a
request without a body is written whole at once: a closed connection is then "server
disconnected", no proof either way, and it is not sent again)."""


def idle_closer(applied: list[bytes]) -> Any:
    """A keep-alive server whose idle timeout is 0: it answers one request per connection
    (without ``Connection: close``) and closes the connection at once, as gunicorn, uvicorn or
    nginx do when their keep-alive timeout fires just as the client reuses the connection."""

    async def handle(reader: asyncio.StreamReader, writer: Any) -> None:
        applied.append(await _whole_request(reader))
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(BODY)}"
        writer.write(head.encode() + b"\r\n\r\n" + BODY)
        await writer.drain()

    return handle


async def test_a_write_on_a_connection_found_closed_is_never_applied_and_sent_again() -> None:
    """aiohttp reuses the pooled connection before it sees the server's FIN; writing the POST's
    body then fails ("Can not write request body"): the request never left whole, the server
    never applied it (the engine records ``sent=False``), so the setup step sends it again."""
    applied: list[bytes] = []
    stale = 0
    async with serve_raw(idle_closer(applied)) as url:
        for _ in range(5):
            async with ConcurrentTester(url, keep_body=True, mode="shared") as tester:
                client = ProfileClient(WITH_BODY, tester)  # a suite's pooled keep-alive
                run = SimpleNamespace(client=client)
                before = len(applied)
                first = await client.call("points.balance", {}, Session("alice"))
                raw = await client.call("points.add", {}, Session("alice"))  # as sent, no retry
                stale += raw.unsent
                if raw.unsent:
                    assert raw.error == (
                        "connection closed before the request was written (never applied)"
                    )
                    assert raw.outcome.value == "failed"  # not unknown: it cannot have happened
                again = await call_step(run, "points.balance", {}, Session("alice"))  # type: ignore[arg-type]
                step = await call_step(run, "points.add", {}, Session("alice"))  # type: ignore[arg-type]
            assert (first.code, again.code, step.code) == ("ok", "ok", "ok"), step
            posts = [line for line in applied[before:] if line.startswith(b"POST")]
            assert len(posts) == 1 + (not raw.unsent)  # each POST applied once, never twice
    assert stale >= 1  # the stale reuse happened (20 of 20 times in a script, load 12)


async def test_a_write_applied_then_dropped_gives_the_same_reused_connection_no_proof() -> None:
    """Why a POST that lost its connection *after* it was written is not sent again: a server
    that applies it and then drops the connection gives aiohttp's ``ServerDisconnectedError``,
    recorded as possibly sent (``sent=True``) — indistinguishable from an idle close."""
    applied: list[bytes] = []

    async def applies_then_drops(reader: asyncio.StreamReader, writer: Any) -> None:
        applied.append(await _whole_request(reader))
        writer.transport.abort()

    async with (
        serve_raw(applies_then_drops) as url,
        ConcurrentTester(url, keep_body=True) as tester,
    ):
        run = SimpleNamespace(client=ProfileClient(PROFILE, tester))
        write = await call_step(run, "points.add", {}, Session("alice"))  # type: ignore[arg-type]
    assert (write.code, write.error, write.unsent) == ("transport", "server disconnected", False)
    assert write.outcome.value == "unknown"
    assert applied == [b"POST /add HTTP/1.1"]  # applied once, and not sent a second time


async def test_register_on_a_connection_found_closed_is_sent_again() -> None:
    """``register`` (the setup's POST) on a stale keep-alive connection: never applied, sent
    again on a fresh connection, one user made."""
    applied: list[bytes] = []
    async with (
        serve_raw(idle_closer(applied)) as url,
        ConcurrentTester(url, keep_body=True, mode="shared") as tester,
    ):
        client = ProfileClient(WITH_BODY, tester)
        run = ScenarioRun(client, {}, {"run_id": "x"}, random.Random(1), "sm")
        for _ in range(3):
            assert (await client.call("points.balance", {}, None)).code == "ok"
            _, call = await run.register({}, "alice")
            assert call.code == "ok", call
    assert [line.split(b" ")[1] for line in applied].count(b"/register") == 3  # once each
