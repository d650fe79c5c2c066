"""One virtual user of the fast loop: its connection, and where it is in its iteration.

:class:`LoopUser` sends a request, is called back with its answer
(:meth:`LoopUser.complete`, or :meth:`LoopUser.answered` for a failure), records it and writes
the next one from that same call (see :mod:`monitor.engine.fastloop`). The common answer of
``soakmon load`` (nobody keeps records, a status below 300 on a keep-alive connection) takes a
short path through :meth:`LoopUser.complete` that does in one call what recording, going on
and re-arming the connection do for every other answer, with the same counts and latencies.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from time import monotonic
from typing import TYPE_CHECKING

from monitor.engine.backoff import VuBackoff
from monitor.engine.client import PreparedRequest
from monitor.engine.fastconn import LoopConnection
from monitor.engine.fastconnect import connect
from monitor.engine.fastpath import FastError, resend_on_new_connection
from monitor.engine.fastrecord import record_answer, redirected

if TYPE_CHECKING:
    from monitor.engine.fastloop import FastLoop, LoopHost


class LoopUser:
    """One virtual user: its connection, and where it is in the current iteration."""

    __slots__ = (
        "backoff", "before_send", "conn", "connecting", "counting", "failed", "finished",
        "free", "host", "index", "intended", "loop", "owner", "payload", "payloads", "requests",
        "retired", "retried", "reused", "sent_headers", "start", "started_at", "vu", "waiting",
    )  # fmt: skip

    def __init__(self, owner: FastLoop, vu: int) -> None:
        self.owner = owner
        self.host: LoopHost = owner.host
        self.requests = owner.requests
        self.counting = owner.count_only
        self.payloads = owner.payloads
        self.before_send = owner.hooks.before_send_listeners  # the live list
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
            host = self.host
            if host._stopping or self.vu in retired:
                finished.set_result(None)
                return finished
            host._iterations += 1
        self._begin(due)
        return finished

    def _begin(self, due: float | None) -> None:
        host = self.host
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
                self.host._busy -= 1
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
        req = self.requests[index]
        self.start = monotonic()
        if not self.counting:
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
        self._write(conn, req, payload, req.timeout_s)

    def _write(
        self, conn: LoopConnection, req: PreparedRequest, payload: bytes, remaining: float
    ) -> None:
        owner = self.owner
        try:
            conn.prepare(req.timeout_s, remaining, owner.keep_body, False, self.counting)
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
            if exc is None:
                if redirected(self):
                    return  # aiohttp follows the chain; go_on once it ends
            elif self._retry(exc, conn):
                return
            record_answer(self, exc)
            self.go_on(finished)
        except Exception as bug:  # not a transport error: stop the run and re-raise it there
            self.broken(finished, bug)

    def complete(self, conn: LoopConnection) -> None:
        """``conn`` has the whole answer to the current request (nobody keeps records).

        The hot path: a success nobody keeps a record of (a status below 300 on a connection
        kept alive) goes into the bucket as a status and a latency, and the next request goes
        out on the same connection at once: what :meth:`answered`,
        :func:`~monitor.engine.fastrecord.record_answer`, :meth:`go_on` and :meth:`_send` do,
        inlined for the usual case; any other answer goes through them."""
        now = monotonic()
        finished = self.finished
        if conn._abort_later or finished is None or finished.done() or conn is not self.conn:
            self.answered(None, conn)
            return
        status = conn._parser.get_status_code()
        if status >= 300:  # maybe a redirect, or an error: a record
            self.answered(None, conn)
            return
        try:
            intended = self.intended
            host = self.host
            bucket = host._current
            codes = bucket.status_codes
            codes[status] = codes.get(status, 0) + 1
            bucket.success_count += 1
            bucket.histogram.seconds.append(now - (self.start if intended is None else intended))
            index = self.index + 1
            requests = self.requests
            if index == len(requests):  # the iteration is over
                host._completed += 1
                retired = self.retired
                if (
                    retired is None  # open model: the VU is free again
                    or self.failed
                    or host._stopping
                    or self.vu in retired
                    or self.backoff.failures
                ):
                    self._ended(finished)
                    return
                host._iterations += 1  # closed model, no backoff: the next one (still busy)
                index = 0
            self.index = index
            self.intended = None
            payload = self.payloads[index]
            transport = conn.transport
            if (
                payload is None
                or self.before_send
                or conn.closed
                or transport is None
                or transport.is_closing()
            ):
                self._send()
                return
            self.start = now
            self.sent_headers = None
            self.payload = payload
            self.retried = False
            self.reused = True
            timeout_s = requests[index].timeout_s
            conn._head = None
            conn._head_bytes = 0
            conn._headers_done = False
            conn._timeout = timeout_s
            conn._deadline = now + timeout_s
            conn._armed = True
            if conn._timer is None:
                conn._timer = self.loop.call_later(timeout_s, conn._check_timeout)
            transport.write(payload)
        except Exception as bug:  # not a transport error: stop the run and re-raise it there
            self.broken(finished, bug)

    def _retry(self, exc: FastError, conn: LoopConnection | None) -> bool:
        """Send an idempotent request again, once, on a new connection when the reused one it
        went on was closed before any byte of the answer came back: the server had closed
        it (an idle or after-error close) while the request was on its way. Go's net/http
        (vegeta) and browsers do the same (RFC 9112, 9.3.1); the latency still counts from
        the first attempt, and a second failure is the request's error."""
        req = self.requests[self.index]
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

    def broken(self, finished: asyncio.Future[None], bug: Exception) -> None:
        self.finished = None
        self.close()
        if not finished.done():
            finished.set_exception(bug)

    def go_on(self, finished: asyncio.Future[None]) -> None:
        """The current request is recorded: the next one, the next iteration, or the end."""
        self.index += 1
        if self.index < len(self.requests):
            self.intended = None
            self._send()
            return
        self.owner.host._completed += 1
        self._ended(finished)

    def _ended(self, finished: asyncio.Future[None]) -> None:
        """The iteration is over (and counted): the next one, or the end."""
        host = self.host
        retired = self.retired
        host._busy -= 1
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
        finished, host = self.finished, self.host
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
