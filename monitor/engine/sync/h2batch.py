"""Single-packet delivery of one batch over HTTP/2 connections, through graceful GOAWAYs.

Every request is primed (its HEADERS and body but the last byte sent, END_STREAM held), then
the final frames of all of them leave in one pass. Servers end connections gracefully and
routinely (GOAWAY NO_ERROR after nginx's ``keepalive_requests``, hypercorn's
``keep_alive_max_requests``); as Go's ``net/http``, curl and browsers do, that is invisible:

- before the release, a connection that got one is given up: its held streams are cancelled
  and their requests primed again on a new connection, so the batch is still released whole,
  in one pass (never a partial release counted as a race attempt);
- after it, streams up to the GOAWAY's last stream id are answered on the old connection (or
  fail when it closes first: those requests may have run), streams above it were not
  processed (RFC 9113 §8.7) and are sent again, together, on a new connection.

A GOAWAY with an error code stays an error naming the code (:mod:`.h2conn`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from time import monotonic, perf_counter_ns

import h2.exceptions

from monitor.engine.sync.h2conn import H2Error, H2Protocol
from monitor.engine.sync.priority import cpus_awake, pass_priority
from monitor.engine.sync.wire import Outgoing

Plan = Sequence[tuple[H2Protocol, Sequence[Outgoing]]]
Reopen = Callable[[Sequence[Outgoing]], Awaitable[Plan]]
"""Plans requests on connections that may open streams (new ones as needed)."""

PONG_S = 1.0
"""How long the release waits at most for the server's answer to the PING sent after the
streams were primed (a server must answer every PING; this bounds one that does not)."""
MAX_DRAINED = 3
"""Connections in a row a server may end gracefully under one batch before its requests fail:
a server that sends GOAWAY on every connection before any request completes is broken."""


@dataclass(slots=True)
class H2Delivery:
    """What :func:`deliver` did."""

    window: tuple[int, int, bool] | None
    """The release pass ``(first_ns, last_ns, realtime)``; ``None`` when nothing was released."""
    connections: int
    """Connections the batch used."""
    resent: int = 0
    """Requests the server did not process (past a graceful GOAWAY's last stream, after the
    release), sent again on a new connection."""


class _Primed:
    __slots__ = ("conn", "pong", "streams", "waiters")

    def __init__(self, conn: H2Protocol) -> None:
        self.conn = conn
        self.pong: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.streams: list[tuple[int, Outgoing]] = []
        self.waiters: list[asyncio.Future[None]] = []

    def drop(self, outs: Sequence[Outgoing]) -> None:
        gone = {id(out) for out in outs}
        pairs = zip(self.streams, self.waiters, strict=True)
        kept = [(s, w) for s, w in pairs if id(s[1]) not in gone]
        self.streams, self.waiters = [s for s, _ in kept], [w for _, w in kept]


def _prime(plan: Plan, keep_body: bool) -> tuple[list[_Primed], list[Outgoing]]:
    """Open a stream per request; requests planned on a connection that can no longer take
    them (it ended meanwhile: nothing of theirs was sent) are returned to plan again."""
    primed: list[_Primed] = []
    again: list[Outgoing] = []
    for conn, outs in plan:
        if not conn.usable:
            again.extend(outs)
            continue
        entry = _Primed(conn)
        for out in outs:
            out.released = False
            try:
                stream_id, done = conn.prime(out, keep_body)
            except (H2Error, h2.exceptions.H2Error, TypeError, ValueError) as exc:
                out.fail("other", f"cannot open an HTTP/2 stream: {exc}", False)
                continue
            entry.streams.append((stream_id, out))
            entry.waiters.append(done)
        entry.pong = conn.ping()
        primed.append(entry)
    return primed, again


def _withdraw(primed: Sequence[_Primed]) -> list[Outgoing]:
    """Every request handed back by a connection that got a graceful GOAWAY."""
    back = []
    for entry in primed:
        outs = entry.conn.withdraw()
        entry.drop(outs)
        back.extend(outs)
    return back


async def deliver(
    plan: Plan, *, settle_s: float, keep_body: bool, reopen: Reopen, drained: int = 0
) -> H2Delivery:
    """Single-packet delivery: ``plan`` gives each connection its requests (one connection
    unless the server's stream limit is lower than the batch); ``reopen`` plans requests a
    graceful GOAWAY handed back."""
    primed, again = _prime(plan, keep_body)
    connections = len(primed)
    while True:
        with cpus_awake():  # from the settle to the pass's end: no CPU halts meanwhile
            await asyncio.sleep(settle_s)  # the server reads every stream's headers and waits
            # ... and has read them: a GOAWAY it sent on reading them came before its PING ACK
            # (a graceful GOAWAY noticed after the release would make its streams fail on
            # servers that refuse frames after their own GOAWAY, hypercorn among them)
            pongs = [entry.pong for entry in primed if not entry.pong.done()]
            if pongs:
                await asyncio.wait(pongs, timeout=PONG_S)
            again += _withdraw(primed)
            if not again or drained >= MAX_DRAINED:
                _give_up(again, "before the release")
                window = _release(primed)
                break
        drained += 1
        more, again = _prime(await reopen(again), keep_body)
        primed += more
        connections += len(more)
    later = await _wait(primed)
    resent = 0
    if later and drained < MAX_DRAINED:
        retry = await deliver(
            await reopen(later), settle_s=settle_s, keep_body=keep_body, reopen=reopen,
            drained=drained + 1,
        )  # fmt: skip
        connections += retry.connections
        resent = len(later) + retry.resent
    else:
        _give_up(later, "after the release")
    for entry in primed:
        if entry.conn.draining is not None and not entry.conn.closed:
            entry.conn.close()  # every answer it owed came: a polite GOAWAY and FIN
    return H2Delivery(window, connections, resent)


def _give_up(outs: Sequence[Outgoing], when: str) -> None:
    for out in outs:
        out.started_at, out.start = out.started_at or time.time(), out.start or monotonic()
        message = (
            f"not processed: the server ended {MAX_DRAINED + 1} connections in a row "
            f"gracefully (GOAWAY NO_ERROR) {when}"
        )
        out.fail("reset", message, False)


def _release(primed: Sequence[_Primed]) -> tuple[int, int, bool] | None:
    payloads = []
    for entry in primed:
        # a stream answered (or reset) before its release is not in the pass: its request
        # was completed when the answer came (``_complete_answered``) or it is closed, and
        # its answer is that request's record, as for a last-byte request answered early
        live = [s for s, done in zip(entry.streams, entry.waiters, strict=True) if not done.done()]
        if live and entry.conn.usable:
            payloads.append((entry.conn, live, entry.conn.finals(live)))
    wall, mono = time.time(), monotonic()
    with pass_priority() as raised:
        first = perf_counter_ns()
        for conn, _, data in payloads:
            conn.transport.write(data)  # type: ignore[union-attr]
        final = perf_counter_ns()
    for _, live, _ in payloads:
        for _, out in live:
            out.started_at, out.start, out.released = wall, mono, True
    for entry in primed:
        for _, out in entry.streams:
            if not out.released:  # it started when its HEADERS left (``hold``), if they did
                out.started_at, out.start = out.started_at or wall, out.start or mono
    return (first, final, raised) if payloads else None


async def _wait(primed: Sequence[_Primed]) -> list[Outgoing]:
    """Wait for every answer; returns the requests a graceful GOAWAY that came after the
    release handed back (past its last stream: not processed)."""
    waiters = [w for entry in primed for w in entry.waiters]
    timeout = max((out.req.timeout_s for e in primed for _, out in e.streams), default=1.0)
    pending = (await asyncio.wait(waiters, timeout=timeout))[1] if waiters else set()
    later = _withdraw(primed)
    outs = [out for entry in primed for _, out in entry.streams]
    if pending:
        for out in outs:
            if out.status is None:
                out.fail("timeout", f"timeout after {out.req.timeout_s:g} s", out.released)
        for entry in primed:
            entry.conn.abort()  # its streams are abandoned; the next batch opens a fresh one
    for out in outs:
        if not out.released:
            out.sent = out.status is not None  # answered before its release: it was run
        if out.error is None:
            out.absorb_cookies()
    return later
