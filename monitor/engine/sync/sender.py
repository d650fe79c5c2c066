"""``SyncSender``: delivers one barrier batch of an :class:`HttpClient` synchronised.

The mode for an origin is decided on its first batch and kept: ``single-packet`` when the
target speaks HTTP/2 (TLS ALPN ``h2``, or ``h2c`` prior knowledge when configured or asked
for), else ``last-byte``. Connections are opened before the barrier and kept per the
client's connection mode. Every failure is the request's record, never an exception.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from time import monotonic

from aiohttp.abc import AbstractCookieJar

from monitor.engine.client import HttpClient, PreparedRequest
from monitor.engine.fastpath import Connection, FastError
from monitor.engine.sessions import ConnectionMode
from monitor.engine.spec import RequestRecord
from monitor.engine.sync import h1, h2batch
from monitor.engine.sync.delivery import PhaseDelivery, SyncMode, arrival_ns, spread_s
from monitor.engine.sync.h1 import H1Pool, Origin, origin
from monitor.engine.sync.h2conn import H2Error, H2Protocol
from monitor.engine.sync.h2open import open_h2
from monitor.engine.sync.wire import Outgoing, outgoing

SETTLE_S = 0.002
"""Pause between the last prefix leaving the client and the release: the server reads and
parses every prefix (a loopback aiohttp server needs well under a millisecond for 20)."""


class SyncSender:
    """Synchronised delivery for ``client``'s barrier batches (``mode``: not ``none``)."""

    def __init__(
        self,
        client: HttpClient,
        mode: SyncMode,
        *,
        h2c: bool = False,
        settle_s: float = SETTLE_S,
    ) -> None:
        if mode is SyncMode.NONE:
            raise ValueError("SyncSender delivers last-byte or single-packet; none is aiohttp")
        self.client = client
        self.mode = mode
        self.h2c = h2c
        self.settle_s = settle_s
        self._h1 = H1Pool(client.mode, client.tls_context(["http/1.1"]))
        self._h2: dict[Origin, list[H2Protocol]] = {}
        self._decided: dict[Origin, tuple[SyncMode, str | None]] = {}

    # -- deciding the mode ---------------------------------------------------------------------
    async def _h2_connection(self, key: Origin, timeout_s: float) -> H2Protocol:
        scheme, host, port = key
        context = self.client.tls_context(["h2", "http/1.1"]) if scheme == "https" else None
        proto = await open_h2(host, port, timeout_s, context)
        self._h2.setdefault(key, []).append(proto)
        return proto

    async def _decide(self, key: Origin, timeout_s: float) -> tuple[SyncMode, str | None]:
        decided = self._decided.get(key)
        if decided is not None:
            return decided
        wants_h2 = self.mode is SyncMode.SINGLE_PACKET or (
            self.mode is SyncMode.AUTO and (key[0] == "https" or self.h2c)
        )
        decided = (SyncMode.LAST_BYTE, None)
        if wants_h2:
            try:
                await self._h2_connection(key, timeout_s)
            except H2Error as exc:
                if exc.kind == "timeout":  # the batch's time went on the probe: no fallback now
                    raise
                if exc.kind in ("refused", "tls"):
                    return SyncMode.LAST_BYTE, f"HTTP/2 probe failed: {exc.message}"  # retry later
                how = "h2c prior knowledge" if key[0] == "http" else "TLS ALPN"
                note = f"no HTTP/2 from the target ({how}: {exc.message}); last-byte over HTTP/1.1"
                decided = (SyncMode.LAST_BYTE, note)
            else:
                decided = (SyncMode.SINGLE_PACKET, None)
        self._decided[key] = decided
        return decided

    # -- one batch -----------------------------------------------------------------------------
    async def fire(
        self,
        requests: Sequence[PreparedRequest],
        jars: Sequence[AbstractCookieJar | None],
    ) -> tuple[list[RequestRecord], PhaseDelivery]:
        """Deliver ``requests`` (request ``i`` as virtual user ``i`` with cookie jar
        ``jars[i]``); records in input order and the batch's delivery."""
        outs = [outgoing(self.client, i, r, jars[i]) for i, r in enumerate(requests)]
        origins = {origin(r.url) for r in requests}
        timeout = min(r.timeout_s for r in requests)
        mode, note = SyncMode.LAST_BYTE, None
        began, began_mono = time.time(), monotonic()
        probe: H2Error | None = None
        if len(origins) == 1:
            try:
                mode, note = await self._decide(next(iter(origins)), timeout)
            except H2Error as exc:  # the target took the whole timeout to say nothing
                probe, note = exc, f"HTTP/2 probe failed: {exc.message}"
        elif self.mode is SyncMode.SINGLE_PACKET:
            note = "the batch spans several origins: last-byte over HTTP/1.1"
        if probe is not None:
            for out in outs:
                out.started_at, out.start = began, began_mono
                out.fail("timeout", f"timeout after {timeout:g} s: {probe.message}", False)
            window, connections = None, 0
        elif mode is SyncMode.SINGLE_PACKET:
            window, connections, resent = await self._fire_h2(outs, next(iter(origins)))
            if resent:
                note = (
                    f"{resent} request{'s' if resent > 1 else ''} the server did not process "
                    "(past the last stream of its graceful GOAWAY) sent again on a new connection"
                )
        else:
            window, connections = await self._fire_h1(outs)
        records = [self._record(out) for out in outs]
        arrivals = [ns for out in outs if out.released and (ns := arrival_ns(out.response_headers))]
        released = sum(out.released for out in outs)
        delivery = PhaseDelivery(
            sync=mode.value,
            requests=len(outs),
            send_spread_s=(window[1] - window[0]) / 1e9 if window and released >= 2 else None,
            arrival_spread_s=spread_s(arrivals),
            arrivals=len(arrivals),
            released=released,
            connections=connections,
            connections_warm=True,
            protocol="h2" if mode is SyncMode.SINGLE_PACKET else "http/1.1",
            note=note,
            realtime=bool(window and window[2]),
        )
        return records, delivery

    async def _fire_h1(self, outs: list[Outgoing]) -> tuple[tuple[int, int, bool] | None, int]:
        async def acquire(out: Outgoing) -> Connection | None:
            out.started_at, out.start = time.time(), monotonic()
            try:
                conn, _ = await self._h1.acquire(out.index, out.url, out.req.timeout_s)
            except FastError as exc:
                out.fail(exc.kind, exc.message, False)
                return None
            return conn

        ready = [out for out in outs if out.error is None]  # not: a body that is not JSON
        conns = await asyncio.gather(*(acquire(out) for out in ready))
        items = [(out, conn) for out, conn in zip(ready, conns, strict=True) if conn is not None]
        try:
            window = await h1.deliver(items, settle_s=self.settle_s, keep_body=True)
        finally:
            for out, conn in items:
                self._h1.release(out.url, conn)
        return window, len(items)

    async def _fire_h2(
        self, outs: list[Outgoing], key: Origin
    ) -> tuple[tuple[int, int, bool] | None, int, int]:
        waiting = [out for out in outs if out.error is None]  # not: a body that is not JSON
        timeout = min(o.req.timeout_s for o in outs)
        for out in waiting:
            out.started_at, out.start = time.time(), monotonic()
        fresh: list[H2Protocol] = []

        async def plan(todo: Sequence[Outgoing]) -> list[tuple[H2Protocol, list[Outgoing]]]:
            return await self._plan(list(todo), key, timeout, fresh)

        try:
            done = await h2batch.deliver(
                await plan(waiting), settle_s=self.settle_s, keep_body=True, reopen=plan
            )
        finally:
            if self.client.mode is ConnectionMode.PER_REQUEST:
                for conn in fresh:
                    conn.abort()
        return done.window, done.connections, done.resent

    async def _plan(
        self, waiting: list[Outgoing], key: Origin, connect_s: float, fresh: list[H2Protocol]
    ) -> list[tuple[H2Protocol, list[Outgoing]]]:
        """Each request on a connection that can open its stream: pooled ones first (but per
        request), new ones for the rest (``fresh``); a failed connect fails what is left."""
        pool = []
        for proto in self._h2.get(key, []):
            if proto.usable:
                pool.append(proto)
            elif proto.closed:
                proto.abort()
            elif not proto.busy:  # a graceful GOAWAY between batches (one in use is closed
                proto.close()  # by its batch's delivery once its answers came)
        self._h2[key] = pool
        plan: list[tuple[H2Protocol, list[Outgoing]]] = []
        while waiting:
            conn = next((p for p in pool if p.capacity and p not in [c for c, _ in plan]), None)
            if conn is None or self.client.mode is ConnectionMode.PER_REQUEST:
                try:
                    conn = await self._h2_connection(key, connect_s)
                except H2Error as exc:
                    for out in waiting:
                        out.fail(exc.kind, exc.message, False)  # type: ignore[arg-type]
                    break
                fresh.append(conn)
            take = max(1, conn.capacity)
            plan.append((conn, waiting[:take]))
            waiting = waiting[take:]
        return plan

    def _record(self, out: Outgoing) -> RequestRecord:
        client = self.client
        keep = client.keep_body
        record = client.make_record(
            out.req, out.started_at, out.start, None, out.status, out.nbytes,
            out.response_body if keep else None, out.response_headers if keep else None,
            out.error, out.error_kind, out.sent, out.sent_headers, end=out.done_at,
        )  # fmt: skip
        record.invoked = out.primed
        return record

    async def aclose(self) -> None:
        """Close every connection."""
        self._h1.close()
        protos = [p for ps in self._h2.values() for p in ps]
        self._h2.clear()
        for proto in protos:
            if proto.transport is not None:
                proto.transport.close()
        await asyncio.sleep(0)
