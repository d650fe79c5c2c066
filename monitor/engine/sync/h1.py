"""HTTP/1.1 last-byte synchronisation over warm keep-alive connections.

Every request of the batch is written except its final byte (with TCP_NODELAY those bytes
reach the server at once, which parses them and waits); once every prefix has left the
client, the final bytes are written in one tight loop, one ``send`` per connection. The
connections come from an :class:`H1Pool` that keeps them per virtual user (per-user mode),
shares them (shared mode) or opens them for the batch alone (per-request mode), always before
the barrier. A connection whose answer came before its final byte was released is closed,
never reused: the server still holds part of that request (a server that answers on the head,
like aiohttp's 404, leaves the body to be read later), so the next request's first bytes would
be read as the rest of it; the pool opens a fresh connection before the next barrier.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from time import monotonic, perf_counter_ns
from typing import Any

from yarl import URL

from monitor.engine.fastconnect import connect
from monitor.engine.fastpath import Connection, FastError
from monitor.engine.sessions import ConnectionMode
from monitor.engine.sync.priority import cpus_awake, pass_priority
from monitor.engine.sync.release import release
from monitor.engine.sync.tlslink import TlsTransport, connect_tls
from monitor.engine.sync.wire import Outgoing

Origin = tuple[str, str, int]


def origin(url: URL) -> Origin:
    """``(scheme, host, port)`` of ``url``."""
    return url.scheme, url.raw_host or "", url.port or (443 if url.scheme == "https" else 80)


class H1Pool:
    """HTTP/1.1 connections of the synchronised sender, by connection mode."""

    def __init__(self, mode: ConnectionMode, ssl_context: ssl.SSLContext | None) -> None:
        self.mode = mode
        self._ssl = ssl_context
        self._users: dict[tuple[int, Origin], Connection] = {}
        self._idle: dict[Origin, list[Connection]] = {}
        self._open: set[Connection] = set()

    async def acquire(self, user: int, url: URL, timeout_s: float) -> tuple[Connection, bool]:
        """A connection for ``user`` to ``url``'s origin: ``(connection, reused)``; raises
        :class:`FastError` (never sent) when it cannot connect."""
        key = origin(url)
        if self.mode is ConnectionMode.PER_USER:
            conn = self._users.get((user, key))
            if conn is not None and _usable(conn):
                return conn, True
        elif self.mode is ConnectionMode.SHARED:
            idle = self._idle.get(key, [])
            while idle:
                conn = idle.pop()
                if _usable(conn):
                    return conn, True
        conn = await self._connect(key, timeout_s)
        if self.mode is ConnectionMode.PER_USER:
            self._users[(user, key)] = conn
        return conn, False

    async def _connect(self, key: Origin, timeout_s: float) -> Connection:
        scheme, host, port = key
        if scheme == "https":
            context = self._ssl if self._ssl is not None else ssl.create_default_context()
            conn = await connect_tls(
                host, port, timeout_s, timeout_s * 0.99, context=context, server_hostname=host
            )
        else:
            conn = await connect(host, port, timeout_s, timeout_s * 0.99)
        self._open.add(conn)
        return conn

    def release(self, url: URL, conn: Connection) -> None:
        """Take ``conn`` back after the batch (per-request: closed; shared: idle again)."""
        if self.mode is ConnectionMode.PER_REQUEST:
            self._forget(conn)
            conn.close()
        elif self.mode is ConnectionMode.SHARED:
            if _usable(conn):
                self._idle.setdefault(origin(url), []).append(conn)
            else:
                self._forget(conn)
        elif not _usable(conn):
            self._forget(conn)

    def _forget(self, conn: Connection) -> None:
        self._open.discard(conn)

    def close(self) -> None:
        """Close every connection."""
        conns, self._open = self._open, set()
        self._users.clear()
        self._idle.clear()
        for conn in conns:
            conn.close()


def _usable(conn: Connection) -> bool:
    transport = conn.transport
    return not conn.closed and transport is not None and not transport.is_closing()


async def _drained(conns: list[Connection], limit: float) -> None:
    """Wait (up to ``limit`` s) until every prefix has left the client's buffers."""
    deadline = monotonic() + limit
    while monotonic() < deadline:
        if all(c.transport is None or c.transport.get_write_buffer_size() == 0 for c in conns):
            return
        await asyncio.sleep(0.0005)


async def deliver(
    items: list[tuple[Outgoing, Connection]], *, settle_s: float, keep_body: bool
) -> tuple[int, int, bool] | None:
    """Last-byte delivery of ``items``; responses land in each :class:`Outgoing`. Returns the
    release pass ``(first_ns, last_ns, realtime)`` (``perf_counter_ns`` before the first final
    byte and after the last; whether it ran at real-time priority), or ``None`` when nothing
    was released."""
    armed: list[tuple[Outgoing, Connection, bytes, asyncio.Future[None]]] = []
    for out, conn in items:
        try:
            payload = out.h1_bytes()
        except (TypeError, ValueError) as exc:
            out.fail("other", f"invalid request: {exc}", False)
            continue
        try:
            waiter = conn.arm(out.req.timeout_s, out.req.timeout_s, keep_body, keep_headers=True)
        except FastError as exc:
            out.fail(exc.kind, exc.message, False)
            continue
        transport = conn.transport
        assert transport is not None
        out.hold()
        transport.write(payload[:-1])
        last = payload[-1:]
        if isinstance(transport, TlsTransport):  # its TLS record, ready before the barrier
            last = transport.seal(last)
        armed.append((out, conn, last, waiter))
    if not armed:
        return None
    await _drained([conn for _, conn, _, _ in armed], settle_s + 1.0)
    with cpus_awake():  # from the settle to the pass's end: no CPU halts meanwhile
        await asyncio.sleep(settle_s)  # the server parses the prefixes and waits
        live = [a for a in armed if not a[3].done() and a[1].transport is not None]
        direct, plain, buffered = _split(live)
        wall, mono = time.time(), monotonic()
        with pass_priority() as raised:
            first, final, failed = release(direct, [sock for _, sock in plain])
            if buffered:
                for transport, last in buffered:
                    _send_later(transport, last)
                final = perf_counter_ns()
    for i, written in failed:  # the transport reports the failure (or sends the rest later)
        _send_later(plain[i][0], direct[i][1][written:])
    for _, conn, _, _ in live:
        if isinstance(conn.transport, TlsTransport):
            conn.transport.released()
    for out, _, _, _ in live:
        out.started_at, out.start, out.released = wall, mono, True
    await asyncio.gather(*(_collect(out, conn, waiter) for out, conn, _, waiter in armed))
    for out, conn, _, _ in armed:
        if not out.released:
            # answered (or failed) before its final byte left: the server holds an incomplete
            # request or its unread body, which the next request's bytes would complete
            conn.close()
    return (first, final, raised) if live else None


def _split(
    live: list[tuple[Outgoing, Connection, bytes, asyncio.Future[None]]],
) -> tuple[
    list[tuple[int, bytes]],
    list[tuple[asyncio.Transport, Any]],
    list[tuple[asyncio.Transport, bytes]],
]:
    """How to put each final byte on its connection: ``(fd, bytes)`` for a plain write on the
    socket (plaintext, or the TLS record :class:`TlsTransport` sealed; the transport has
    nothing queued: every prefix has left), with that connection's ``(transport, socket)`` at
    the same index of the second list; else ``(transport, bytes)`` for the transport (bytes
    still queued, or another TLS transport)."""
    direct: list[tuple[int, bytes]] = []
    plain_: list[tuple[asyncio.Transport, Any]] = []
    buffered: list[tuple[asyncio.Transport, bytes]] = []
    for _, conn, last, _ in live:
        transport = conn.transport
        assert transport is not None
        sock = transport.get_extra_info("socket")
        raw = isinstance(transport, TlsTransport) or transport.get_extra_info("sslcontext") is None
        if sock is not None and raw and not transport.get_write_buffer_size():
            direct.append((sock.fileno(), last))
            plain_.append((transport, sock))
        else:
            buffered.append((transport, last))
    return direct, plain_, buffered


def _send_later(transport: asyncio.Transport, data: bytes) -> None:
    """``data`` (a final byte, or its sealed TLS record) through the transport's own buffer."""
    if isinstance(transport, TlsTransport):
        transport.write_raw(data)
    else:
        transport.write(data)


async def _collect(out: Outgoing, conn: Connection, waiter: asyncio.Future[None]) -> None:
    # not released (answered or failed before its final byte left): it started when its first
    # bytes did (``Outgoing.hold``), never after its own answer
    try:
        status, nbytes, body, headers = await conn.collect(waiter)
    except FastError as exc:
        # a request whose final byte never left is incomplete: the server cannot have run it
        out.fail(exc.kind, exc.message, exc.sent and out.released)
        return
    out.done_at = monotonic()
    out.status, out.nbytes, out.response_body, out.response_headers = status, nbytes, body, headers
    out.sent = True
    out.absorb_cookies()
