"""Fast-path iterations driven by callbacks: no task, coroutine, future or timer per request.

On the fast path a virtual user's next request is written from the callback that completes
its previous answer (:meth:`_VU.answered`), the way an event-driven C generator (wrk) works,
instead of resuming a coroutine through a future: that saves three coroutines, a future and
a timer per request, most of the Python left on ``soakmon load``'s hot path. What is recorded
is unchanged: the same records (or, when nobody keeps records, the same counts and latencies
straight into the interval bucket), the same error kinds and messages, open-model latency
from the intended start, exact iteration, completion and busy counts.

A closed-model VU is a future that ends when its VU stops looping; an open-model iteration
is a future that ends with the iteration. The runner waits for, drains and cancels them like
tasks. A bug in here fails the VU's future, which stops the run and is re-raised by it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Sequence
from time import monotonic
from typing import Protocol

from monitor.engine.backoff import VuBackoff, connection_failed
from monitor.engine.client import HttpClient, PreparedRequest
from monitor.engine.fastfollow import REDIRECTS, follow, location
from monitor.engine.fastpath import Connection, FastError, connect, resend_on_new_connection
from monitor.engine.fastusers import FastUsers
from monitor.engine.result import ConcurrentResult


class LoopHost(Protocol):
    """The runner's books that the fast loop keeps (the runner reads them for progress and
    stats; plain attributes, because they change on every request)."""

    _current: ConcurrentResult
    _stopping: bool
    _iterations: int
    _completed: int
    _busy: int
    _busy_max: int


class LoopConnection(Connection):
    """A fast-path connection that hands each settled answer to its VU by a call."""

    def __init__(self, vu: _VU) -> None:
        super().__init__()
        self._vu = vu

    def _settle(self, exc: FastError | None) -> None:
        self._vu.answered(exc, self)


class FastLoop:
    """The fast-path VUs of one run (see the module doc)."""

    def __init__(
        self, host: LoopHost, client: HttpClient, requests: Sequence[PreparedRequest], *,
        count_only: bool,
    ) -> None:  # fmt: skip
        self.host = host
        self.client = client
        self.requests = list(requests)
        self.count_only = count_only
        self.keep_body = client.keep_body
        """Nobody keeps records (no sample, no ``request_done`` listener, the default success
        rule, no bodies): a success goes into the bucket as a status and a latency."""
        self.users = FastUsers(client)  # the request bytes (cached unless before_send hooks)
        self.hooks = client.hooks
        self.payloads: list[bytes | None] = []
        """Each request's bytes when no before_send listener adds headers (None: built per
        request, which then also reports what cannot be encoded)."""
        for req in self.requests:
            try:
                self.payloads.append(self.users.payload(req)[0])
            except (ValueError, TypeError):
                self.payloads.append(None)
        self._vus: dict[int, _VU] = {}

    def _vu(self, vu: int) -> _VU:
        user = self._vus.get(vu)
        if user is None:
            user = self._vus[vu] = _VU(self, vu)
        return user

    def closed_vu(self, vu: int, retired: set[int]) -> asyncio.Future[None]:
        """Virtual user ``vu`` loops iterations until the run stops or retires it; the future
        ends when it has stopped (its connection is then closed)."""
        return self._vu(vu).launch(retired=retired, due=None, free=None)

    def open_iteration(self, vu: int, due: float, free: deque[int]) -> asyncio.Future[None]:
        """One iteration on ``vu``, measured from ``due`` (monotonic); ``vu`` goes back to
        ``free`` when it ends."""
        return self._vu(vu).launch(retired=None, due=due, free=free)

    def wake(self, vu: int | None = None) -> None:
        """Closed-model VU ``vu`` (None: every one) backing off goes on now: the run stops or
        retires it, and it ends without waiting out its backoff."""
        users = list(self._vus.values()) if vu is None else [self._vus.get(vu)]
        for user in users:
            if user is not None:
                user.wake()

    def close(self) -> None:
        """Close every connection."""
        vus, self._vus = self._vus, {}
        for user in vus.values():
            user.close()


class _VU:
    """One virtual user: its connection, and where it is in the current iteration."""

    __slots__ = (
        "backoff", "conn", "connecting", "failed", "finished", "free", "index", "intended",
        "loop", "owner", "payload", "retired", "retried", "reused", "sent_headers", "start",
        "started_at", "vu", "waiting",
    )  # fmt: skip

    def __init__(self, owner: FastLoop, vu: int) -> None:
        self.owner = owner
        self.vu = vu
        self.loop = asyncio.get_running_loop()
        self.conn: LoopConnection | None = None
        self.connecting: asyncio.Task[None] | None = None
        self.finished: asyncio.Future[None] | None = None
        self.retired: set[int] | None = None
        self.free: deque[int] | None = None
        self.index = 0
        self.intended: float | None = None
        self.start = self.started_at = 0.0
        self.sent_headers: dict[str, str] | None = None
        self.payload = b""
        self.reused = False  # the current request went on a connection that answered before
        self.retried = False
        self.backoff = VuBackoff()
        self.failed = False  # a request of this iteration failed at the connection level
        self.waiting: asyncio.TimerHandle | None = None
        """A closed-model VU backing off before its next iteration (monitor.engine.backoff)."""

    # -- life ----------------------------------------------------------------------------------

    def launch(
        self, *, retired: set[int] | None, due: float | None, free: deque[int] | None
    ) -> asyncio.Future[None]:
        self.finished = finished = self.loop.create_future()
        finished.add_done_callback(self._on_finished)
        self.retired, self.free = retired, free
        if retired is not None:  # closed model: the runner counts open-model iterations
            host = self.owner.host
            if host._stopping or self.vu in retired:
                finished.set_result(None)
                return finished
            host._iterations += 1
        self._begin(due)
        return finished

    def _begin(self, due: float | None) -> None:
        host = self.owner.host
        host._busy += 1
        host._busy_max = max(host._busy_max, host._busy)
        self.index = 0
        self.intended = due
        self.failed = False
        self._send()

    def _on_finished(self, fut: asyncio.Future[None]) -> None:
        if not fut.cancelled():
            return
        # cancelled by the runner (the graceful stop is over): the iteration is interrupted
        if self.finished is fut:
            self.finished = None
            if self.waiting is not None:  # between iterations: not busy
                self.waiting.cancel()
                self.waiting = None
            else:
                self.owner.host._busy -= 1
            self.close()
            if self.free is not None:
                self.free.append(self.vu)

    def close(self) -> None:
        if self.waiting is not None:
            self.waiting.cancel()
            self.waiting = None
        if self.connecting is not None:
            self.connecting.cancel()
            self.connecting = None
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()

    # -- one request ---------------------------------------------------------------------------

    def _send(self) -> None:
        owner = self.owner
        index = self.index
        req = owner.requests[index]
        self.start = monotonic()
        if not owner.count_only:
            self.started_at = time.time()
        payload = None if owner.hooks.has_before_send else owner.payloads[index]
        if payload is None:
            try:
                payload, self.sent_headers = owner.users.payload(req)
            except (ValueError, TypeError) as exc:  # e.g. a before_send header with a newline
                # settled on the next loop pass: a VU whose every request fails here yields
                error = FastError("other", f"invalid request: {exc}", False)
                self.loop.call_soon(self.answered, error)
                return
        else:
            self.sent_headers = None
        self.payload = payload
        self.retried = False
        conn = self.conn
        transport = None if conn is None else conn.transport
        if conn is None or conn.closed or transport is None or transport.is_closing():
            self.connecting = self.loop.create_task(self._connect(req, payload))
            return
        self.reused = True
        try:
            conn.prepare(req.timeout_s, req.timeout_s, owner.keep_body, False, owner.count_only)
        except FastError as exc:
            self.loop.call_soon(self.answered, exc)
            return
        transport.write(payload)

    def _write(
        self, conn: LoopConnection, req: PreparedRequest, payload: bytes, remaining: float
    ) -> None:
        owner = self.owner
        try:
            conn.prepare(req.timeout_s, remaining, owner.keep_body, False, owner.count_only)
        except FastError as exc:
            self.loop.call_soon(self.answered, exc)
            return
        assert conn.transport is not None
        conn.transport.write(payload)

    async def _connect(self, req: PreparedRequest, payload: bytes) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        url = req.url
        try:
            conn = await connect(
                url.raw_host or "", url.port or 80, req.timeout_s, req.timeout_s * 0.99,
                protocol=lambda: LoopConnection(self),
            )  # fmt: skip
        except FastError as exc:
            self.connecting = None
            self.answered(exc)
            return
        self.connecting = None
        assert isinstance(conn, LoopConnection)
        self.conn = conn
        self.reused = False
        self._write(conn, req, payload, req.timeout_s - (monotonic() - self.start))

    # -- the answer ----------------------------------------------------------------------------

    def answered(self, exc: FastError | None, conn: LoopConnection | None = None) -> None:
        """The current request's answer (``exc`` None) or failure: record it, go on.
        ``conn``: the connection that settled it (a replaced one is not listened to)."""
        finished = self.finished
        if finished is None or finished.done() or (conn is not None and conn is not self.conn):
            return
        try:
            if exc is None and self._redirected():
                return  # aiohttp follows the chain; _go_on once it ends
            if exc is not None and self._retry(exc, conn):
                return
            self._record(exc)
            self._go_on(finished)
        except Exception as bug:  # not a transport error: stop the run and re-raise it there
            self._broken(finished, bug)

    def _retry(self, exc: FastError, conn: LoopConnection | None) -> bool:
        """Send an idempotent request again, once, on a new connection when the reused one it
        went on was closed before any byte of the answer came back: the server had closed
        it (an idle or after-error close) while the request was on its way. Go's net/http
        (vegeta) and browsers do the same (RFC 9112, 9.3.1); the latency still counts from
        the first attempt, and a second failure is the request's error."""
        req = self.owner.requests[self.index]
        if (
            not self.reused
            or self.retried
            or conn is None
            or not resend_on_new_connection(exc, conn, req.method)
        ):
            return False
        self.retried = True
        self.connecting = self.loop.create_task(self._connect(req, self.payload))
        return True

    def _broken(self, finished: asyncio.Future[None], bug: Exception) -> None:
        self.finished = None
        self.close()
        if not finished.done():
            finished.set_exception(bug)

    def _go_on(self, finished: asyncio.Future[None]) -> None:
        """The current request is recorded: the next one, the next iteration, or the end."""
        self.index += 1
        if self.index < len(self.owner.requests):
            self.intended = None
            self._send()
            return
        host = self.owner.host
        host._completed += 1
        host._busy -= 1
        retired = self.retired
        if retired is None:  # open model: the VU is free again
            self.finished = None
            assert self.free is not None
            self.free.append(self.vu)
            finished.set_result(None)
        elif host._stopping or self.vu in retired:
            self.finished = None
            self.close()
            finished.set_result(None)
        elif (delay := self.backoff.after(self.failed)) > 0:
            self.waiting = self.loop.call_later(delay, self._resume)
        else:
            host._iterations += 1
            self._begin(None)

    def _resume(self) -> None:
        """A closed-model VU's backoff is over (or the run stops): the next iteration."""
        self.waiting = None
        finished, host = self.finished, self.owner.host
        if finished is None or finished.done():
            return
        assert self.retired is not None
        if host._stopping or self.vu in self.retired:
            self.finished = None
            self.close()
            finished.set_result(None)
            return
        host._iterations += 1
        self._begin(None)

    def wake(self) -> None:
        """End a backoff now (the run stops)."""
        waiting = self.waiting
        if waiting is not None:
            waiting.cancel()
            self._resume()

    def _redirected(self) -> bool:
        """A redirect answer: the chain's rest goes through aiohttp (like
        :meth:`FastUsers._after`); False when the answer stands."""
        conn = self.conn
        assert conn is not None
        status = conn._parser.get_status_code()
        if status < 300 or status not in REDIRECTS:
            return False
        target = location(conn.head())
        if target is None:
            return False
        if conn._abort_later:
            conn._abort()
        self.owner.users.redirects += 1
        self.connecting = self.loop.create_task(self._follow(status, target))
        return True

    async def _follow(self, status: int, target: str) -> None:
        owner = self.owner
        req = owner.requests[self.index]
        session = await owner.client.sessions.acquire(self.vu)
        headers = {**(req.headers or {}), **(self.sent_headers or {})}  # the first hop's
        hop = await follow(
            owner.client, session, req, status=status, target=target, headers=headers,
            remaining_s=req.timeout_s - (monotonic() - self.start),
        )  # fmt: skip
        self.connecting = None
        finished = self.finished
        if finished is None or finished.done():
            return
        try:
            record = owner.client.make_record(
                req, self.started_at or time.time(), self.start, self.intended, hop.status,
                hop.nbytes, hop.body, hop.headers, hop.error, hop.kind, hop.sent,
                self.sent_headers,
            )  # fmt: skip
            owner.host._current.add(record)
            self._go_on(finished)
        except Exception as bug:
            self._broken(finished, bug)

    def _record(self, exc: FastError | None) -> None:
        end = monotonic()
        owner, conn = self.owner, self.conn
        intended = self.intended
        bucket = owner.host._current
        if exc is None and conn is not None:
            if conn._abort_later:  # the server asked to close after this answer
                conn._abort()
            if owner.count_only:
                status = conn._parser.get_status_code()
                if status < 400:
                    codes = bucket.status_codes
                    codes[status] = codes.get(status, 0) + 1
                    bucket.success_count += 1
                    ref = self.start if intended is None else intended
                    bucket.histogram.record((end - ref) * 1000.0)
                    return
            status, nbytes, body, headers = conn.answer()
            record = owner.client.make_record(
                owner.requests[self.index], self.started_at or time.time(), self.start,
                intended, status, nbytes, body, headers, None, None, True, self.sent_headers,
                end,
            )  # fmt: skip
        else:
            error = exc or FastError("reset", "server disconnected", True)
            if connection_failed(error.kind, error.sent):
                self.failed = True
            record = owner.client.make_record(
                owner.requests[self.index], self.started_at or time.time(), self.start,
                intended, None, 0, None, None, error.message, error.kind, error.sent,
                self.sent_headers, end,
            )  # fmt: skip
        bucket.add(record)
