"""A lean HTTP/1.1 keep-alive transport for the runner's fast path (``soakmon load``).

aiohttp's ``ClientSession`` spends ~70 µs of CPU per request on this machine; a bare
``asyncio.Protocol`` with the llhttp parser (``httptools``, as used by uvicorn) needs a few.
Each virtual user owns one keep-alive connection, reconnected when the server closes it.

Deliberately narrow: plain ``http://`` only, no proxies, cookies, redirects, compression or
``HEAD``/``CONNECT`` (see :func:`~monitor.engine.fastrequest.supports`); everything else goes
through aiohttp. Failures are reported with the same kinds, messages and ``sent`` semantics as
:mod:`monitor.engine.errors`. Opening a connection: :mod:`monitor.engine.fastconnect`; the
request bytes: :mod:`monitor.engine.fastrequest`.
"""

from __future__ import annotations

import asyncio
import re
from time import monotonic
from types import SimpleNamespace
from typing import cast

import httptools
from multidict import CIMultiDict

from monitor.engine.errors import MAX_HEAD, MAX_KEPT_BODY, ResponseTooLarge, one_line
from monitor.engine.spec import ErrorKind
from monitor.errors import SoakmonError

_NO_BODY_STATUS = frozenset({204, 304})
_DELIMITED = re.compile(rb"\r\n(?:content-length|transfer-encoding)[ \t]*:", re.IGNORECASE)


def _delimited(head: bytes) -> bool:
    """Whether a response head names its body's length (Content-Length or chunked)."""
    end = head.find(b"\r\n\r\n")
    return _DELIMITED.search(head, 0, end if end >= 0 else len(head)) is not None


class FastError(SoakmonError):
    """A transport failure: ``kind``, message and whether the request may have been sent."""

    def __init__(self, kind: ErrorKind, message: str, sent: bool) -> None:
        super().__init__(message)
        self.kind, self.message, self.sent = kind, message, sent


IDEMPOTENT = frozenset({"GET", "OPTIONS", "TRACE"})
"""Methods sent once more when the reused connection they went on turns out closed (Go's
net/http's set)."""


def resend_on_new_connection(exc: FastError, conn: Connection, method: str) -> bool:
    """Whether a request that failed with ``exc`` on ``conn``, a keep-alive connection that
    had answered before, goes once more on a new one: the server closed ``conn`` (an idle or
    after-error close) before any byte of the answer came, and ``method`` is idempotent. Go's
    net/http (vegeta) and browsers do the same (RFC 9112, 9.3.1)."""
    return exc.kind == "reset" and conn._head is None and method in IDEMPOTENT


class Connection(asyncio.Protocol):
    """One keep-alive connection; :meth:`request` sends one request and waits for its answer.

    A response is awaited between :meth:`arm` and its settling (complete, failed or timed
    out). How it is settled is :meth:`_settle`'s business: here a future that
    :meth:`collect`/:meth:`request` await; :class:`~monitor.engine.fastloop` overrides it to
    call back without any future or coroutine per request.
    """

    __slots__ = (
        "_abort_later", "_armed", "_chunks", "_count_parser", "_deadline", "_done",
        "_full_parser", "_head", "_head_bytes", "_headers", "_headers_done", "_keep_body",
        "_kept", "_lean_parser", "_parser", "_timeout", "_timer", "_until_eof", "_waiter",
        "closed", "nbytes", "transport",
    )  # fmt: skip
    """Slots: the fast loop reads and re-arms a connection several times per request."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        # Three parsers over the same stream, switched between responses: the leanest has
        # neither ``on_header`` nor ``on_body`` (no Python call per header or body chunk) for
        # responses whose size nobody reads, the lean one counts body bytes; whether a body
        # runs to EOF is read from the raw head when the connection ends without a length.
        self._count_parser = httptools.HttpResponseParser(
            SimpleNamespace(
                on_headers_complete=self._lean_headers_complete,
                on_message_complete=self.on_message_complete,
            )
        )
        self._lean_parser = httptools.HttpResponseParser(
            SimpleNamespace(
                on_headers_complete=self._lean_headers_complete,
                on_body=self.on_body,
                on_message_complete=self.on_message_complete,
            )
        )
        self._full_parser: httptools.HttpResponseParser | None = None
        self._parser = self._lean_parser
        self._head: bytes | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._deadline = 0.0
        self._armed = False  # a response is awaited
        self._done = False  # the parser completed the awaited message in this feed
        self._keep_body = False
        self._chunks: list[bytes] = []
        self._headers: CIMultiDict[str] | None = None
        self.nbytes = 0
        self._headers_done = False
        self._until_eof = True
        self._timeout = 0.0
        self._abort_later = False
        self._head_bytes = 0
        self._kept = 0

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if not self._armed:  # bytes nobody asked for: the connection is unusable
            self._abort()
            return
        if not self._headers_done:  # kept (no copy for a one-chunk head) for _delimited
            self._head = data if self._head is None else self._head + data
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._unparsable(exc)
            return
        if self._done:
            self._finish()
        elif not self._headers_done:
            self._more_head(len(data))

    def _unparsable(self, exc: httptools.HttpParserError) -> None:
        """The parser refused what came: the answer is malformed, unless it was already whole."""
        self._abort()  # first: whoever is told may send its next request at once
        if self._done:  # the answer was whole; what came after it is not
            self._finish()
        else:
            detail = one_line(str(exc)) or type(exc).__name__
            self._fail(FastError("malformed", f"malformed response: {detail}", True))

    def _more_head(self, nbytes: int) -> None:
        """``nbytes`` more of a head that is not complete yet (bounded by MAX_HEAD)."""
        self._head_bytes += nbytes
        if self._head_bytes > MAX_HEAD:
            self._too_large("response headers", MAX_HEAD)

    def _too_large(self, what: str, limit: int) -> None:
        self._abort()
        self._fail(
            FastError("malformed", f"malformed response: {ResponseTooLarge(what, limit)}", True)
        )

    def eof_received(self) -> bool | None:
        return False  # close the transport; connection_lost settles the response

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._armed:
            return
        if exc is None and self._headers_done and self._body_to_eof():
            self._finish()  # a body delimited by the end of the connection
        elif isinstance(exc, ConnectionResetError):
            self._fail(FastError("reset", "connection reset by peer", True))
        elif exc is not None and not isinstance(exc, ConnectionError):
            self._fail(FastError("other", f"socket error: {exc}", True))
        else:
            self._fail(FastError("reset", "server disconnected", True))

    def _body_to_eof(self) -> bool:
        """Whether the answer's body is delimited by the end of the connection."""
        parser = self._parser
        status = parser.get_status_code()
        if status in _NO_BODY_STATUS or status < 200:
            return False
        if self._headers is None:  # a lean parser: no on_header saw the length headers
            # keep-alive means llhttp knows where the body ends; otherwise look at the head
            return not parser.should_keep_alive() and not _delimited(self._head or b"")
        return self._until_eof

    # -- httptools callbacks -------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._headers is not None:
            self._headers.add(name.decode("latin-1"), value.decode("latin-1"))
        if name.lower() in (b"content-length", b"transfer-encoding"):
            self._until_eof = False

    def _lean_headers_complete(self) -> None:
        self._headers_done = True

    def on_headers_complete(self) -> None:
        self._headers_done = True
        encoding = self._headers.get("Content-Encoding", "") if self._headers is not None else ""
        if encoding.strip().lower() not in ("", "identity"):  # never asked for: unreadable
            detail = one_line(encoding, 40)
            self._abort()
            self._fail(FastError("malformed", f"malformed response: {detail}-encoded body "
                                 "(the request did not accept an encoding)", True))  # fmt: skip

    def on_body(self, body: bytes) -> None:
        self.nbytes += len(body)
        if self._keep_body:
            self._kept += len(body)
            if self._kept > MAX_KEPT_BODY:
                self._chunks = []
                self._too_large("response body", MAX_KEPT_BODY)
                return
            self._chunks.append(body)

    def on_message_complete(self) -> None:
        if self._armed:
            status = self._parser.get_status_code()
            if status < 200 and status != 101:  # an interim answer: the final one follows
                self._interim()
                return
            self._done = True  # settled once feed_data returns (see data_received)
            if not self._parser.should_keep_alive():  # (llhttp forgets it after this call)
                self._abort_later = True

    def _interim(self) -> None:
        """An interim 1xx answer (``103 Early Hints``, ``100 Continue``) ended: the request's
        answer is the final one that follows on the connection, as aiohttp and browsers take
        it. Its head is forgotten (llhttp parses what follows as the next message)."""
        self._headers_done = False
        if self._headers is not None:
            self._headers = CIMultiDict()
        head = self._head or b""
        end = head.find(b"\r\n\r\n")
        self._head = head[end + 4 :] if end >= 0 else None

    # -- settling ------------------------------------------------------------------------------

    def _finish(self) -> None:
        """The awaited answer is complete."""
        self._done = False
        if not self._armed:
            return
        self._armed = False
        self._settle(None)

    def _fail(self, exc: FastError) -> None:
        """The awaited answer failed (abort an unusable connection *before*: whoever is told
        may write its next request at once)."""
        self._done = False
        if not self._armed:
            return
        self._armed = False
        self._settle(exc)

    def _settle(self, exc: FastError | None) -> None:
        """Hand the answer (``exc`` None) or the failure to whoever waits for it."""
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if exc is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(exc)

    def _abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _check_timeout(self) -> None:
        """The connection's one timer: fails the awaited answer once its deadline passed.

        Each request only moves ``_deadline``; the timer is re-armed for the new deadline
        when it fires early, so no timer is created or cancelled per request."""
        self._timer = None
        if not self._armed or self.closed:
            return
        left = self._deadline - monotonic()
        if left > 0:
            self._timer = asyncio.get_running_loop().call_later(left, self._check_timeout)
            return
        self._abort()
        self._fail(FastError("timeout", f"timeout after {self._timeout:g} s", True))

    def arm(
        self, timeout_s: float, remaining: float, keep_body: bool, keep_headers: bool = False
    ) -> asyncio.Future[None]:
        """Get ready for one response (the timeout runs from now); the request is written by
        the caller (:meth:`request`, or in parts by the synchronised sender)."""
        self._waiter = waiter = asyncio.get_running_loop().create_future()
        self.prepare(timeout_s, remaining, keep_body, keep_headers)
        return waiter

    def prepare(
        self,
        timeout_s: float,
        remaining: float,
        keep_body: bool,
        keep_headers: bool = False,
        count_only: bool = False,
    ) -> None:
        """Reset for the next response (due within ``remaining`` s); :class:`FastError`
        when the connection can no longer be used. ``count_only``: nobody reads the body's
        size (no parser callback per body chunk)."""
        transport = self.transport
        if transport is None or self.closed or transport.is_closing():
            raise FastError("reset", "server disconnected", True)
        self._keep_body = keep_body
        if keep_body or keep_headers:
            self._chunks = []
            self._headers = CIMultiDict()
            if self._full_parser is None:
                self._full_parser = httptools.HttpResponseParser(self)
            self._parser = self._full_parser
        else:
            self._headers = None
            self._parser = self._count_parser if count_only else self._lean_parser
        self._head = None
        self.nbytes = 0
        self._head_bytes = 0
        self._kept = 0
        self._headers_done = False
        self._until_eof = True
        self._timeout = timeout_s
        self._deadline = monotonic() + remaining
        self._armed = True
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(remaining, self._check_timeout)

    async def collect(
        self, waiter: asyncio.Future[None]
    ) -> tuple[int, int, bytes | None, CIMultiDict[str] | None]:
        """Wait for the armed response: ``(status, body bytes, body, headers)`` or
        :class:`FastError`."""
        try:
            await waiter
        finally:
            self.disarm()
        return self.answer()

    def answer(self) -> tuple[int, int, bytes | None, CIMultiDict[str] | None]:
        """``(status, body bytes, body, headers)`` of the settled response."""
        body = b"".join(self._chunks) if self._keep_body else None
        return self._parser.get_status_code(), self.nbytes, body, self._headers

    def disarm(self) -> None:
        """Forget the armed response (closing the connection when the server asked to)."""
        self._armed = False
        self._waiter = None
        if self._abort_later:
            self._abort()

    async def request(
        self, payload: bytes, timeout_s: float, remaining: float, keep_body: bool
    ) -> tuple[int, int, bytes | None, CIMultiDict[str] | None]:
        """Send ``payload``; ``(status, body bytes, body, headers)`` or :class:`FastError`."""
        waiter = self.arm(timeout_s, remaining, keep_body)
        try:
            assert self.transport is not None
            self.transport.write(payload)
            await waiter  # what collect() does, inlined: one coroutine less per request
        finally:
            self.disarm()
        return self.answer()

    def head(self) -> bytes:
        """The raw head of the last response (status line and headers, each line ending in
        CRLF), for the rare headers the lean parser does not report (``Set-Cookie``,
        ``Location``)."""
        raw = self._head or b""
        end = raw.find(b"\r\n\r\n")
        return raw if end < 0 else raw[: end + 2]

    def close(self) -> None:
        """Close the connection."""
        self.closed = True
        if self.transport is not None:
            self.transport.close()
