"""TLS for the last-byte sender's connections, owned by the sender: :class:`ssl.SSLObject` over
memory BIOs on a plain TCP transport, so a request's final byte can be encrypted *before* the
barrier and the release pass writes its ready TLS record to the socket like a plaintext byte.

Through asyncio's (or uvloop's) TLS transport each final byte was encrypted inside the pass,
one record at a time through the transport's Python layers: 20 requests took 150-200 µs
instead of ~100. Here :meth:`TlsTransport.seal` encrypts it while the server is still reading
the prefixes; the pass then costs what a plaintext pass costs. While a sealed record waits for
the release, anything else the TLS engine wants to send (a reply to a server's key update)
waits behind it, so records leave in the order they were encrypted.

:class:`TlsTransport` is the transport the connection's protocol (the fast path's
:class:`~monitor.engine.fastpath.Connection`) sees: ``write`` encrypts and sends, reads are
decrypted before they reach the protocol, and ``get_extra_info`` answers ``socket`` (the TCP
socket), ``sslcontext`` and ``ssl_object`` like asyncio's.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any, cast

from monitor.engine.fastconnect import connect_failures, set_nodelay
from monitor.engine.fastpath import Connection

_READ = 65536


class TlsTransport(asyncio.Transport):
    """The TLS side of one connection (see the module's docstring)."""

    def __init__(
        self, context: ssl.SSLContext, server_hostname: str | None, inner: asyncio.Protocol
    ) -> None:
        super().__init__()
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._ssl = context.wrap_bio(
            self._incoming, self._outgoing, server_side=False, server_hostname=server_hostname
        )
        self._context = context
        self._inner = inner
        self._tcp: asyncio.Transport | None = None
        self._handshake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sealed = False
        self._behind: list[bytes] = []
        self._closing = False
        self._made = False  # the inner protocol has its connection_made
        self._error: Exception | None = None

    @property
    def inner(self) -> asyncio.Protocol:
        """The protocol this transport serves."""
        return self._inner

    # -- as the inner protocol's transport -----------------------------------------------------
    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._closing or self._tcp is None:
            return
        if self._encrypt(data):
            self._flush()

    def seal(self, data: bytes) -> bytes:
        """``data`` encrypted into TLS records, not sent: the caller writes them to the socket
        (then calls :meth:`released`), before anything else is sent on this connection. On a
        TLS failure the connection is aborted (its request fails) and nothing is returned."""
        if self._closing or self._tcp is None or not self._encrypt(data):
            return b""
        self._sealed = True
        return self._outgoing.read()

    def _encrypt(self, data: bytes | bytearray | memoryview) -> bool:
        """Encrypt all of ``data`` into the outgoing BIO; ``False`` (connection aborted) when
        the TLS engine refuses (e.g. a renegotiation it cannot finish here)."""
        view = memoryview(data)
        try:
            while view:
                view = view[self._ssl.write(view) :]
        except ssl.SSLError as exc:
            self._fail(exc)
            return False
        return True

    def released(self) -> None:
        """The sealed records have been handed to the socket (or to :meth:`write_raw`): what
        waited behind them goes now."""
        self._sealed = False
        behind, self._behind = self._behind, []
        if self._tcp is not None and not self._tcp.is_closing():
            for data in behind:
                self._tcp.write(data)

    def write_raw(self, records: bytes) -> None:
        """Send already encrypted ``records`` through the TCP transport (when the socket
        could not take them at once)."""
        if self._tcp is not None and not self._tcp.is_closing():
            self._tcp.write(records)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "sslcontext":
            return self._context
        if name == "ssl_object":
            return self._ssl
        if self._tcp is None:
            return default
        return self._tcp.get_extra_info(name, default)

    def is_closing(self) -> bool:
        return self._closing or self._tcp is None or self._tcp.is_closing()

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        if self._tcp is not None and self._made:
            # close_notify (SSLWantReadError: the server's has not come; ours goes anyway)
            with contextlib.suppress(ssl.SSLError):
                self._ssl.unwrap()
            self._flush()
        if self._tcp is not None:
            self._tcp.close()

    def abort(self) -> None:
        self._closing = True
        if self._tcp is not None:
            self._tcp.abort()

    def get_write_buffer_size(self) -> int:
        return self._tcp.get_write_buffer_size() if self._tcp is not None else 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        if self._tcp is not None:
            self._tcp.set_write_buffer_limits(high, low)

    def is_reading(self) -> bool:
        return self._tcp is not None and self._tcp.is_reading()

    def pause_reading(self) -> None:
        if self._tcp is not None:
            self._tcp.pause_reading()

    def resume_reading(self) -> None:
        if self._tcp is not None:
            self._tcp.resume_reading()

    # -- the TLS engine, driven by TlsLink ----------------------------------------------------
    def _flush(self) -> None:
        data = self._outgoing.read()
        if not data or self._tcp is None:
            return
        if self._sealed:
            self._behind.append(data)
        else:
            self._tcp.write(data)

    def _shake(self) -> bool:
        """One handshake step; whether the handshake is done."""
        try:
            self._ssl.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()
            return False
        self._flush()
        self._handshake.set_result(None)
        self._made = True
        self._inner.connection_made(self)
        return True

    def attach(self, tcp: asyncio.Transport) -> None:
        """The TCP connection is up: start the handshake."""
        self._tcp = tcp
        try:
            self._shake()
        except (ssl.SSLError, ssl.CertificateError) as exc:
            self._fail(exc)

    def feed(self, data: bytes) -> None:
        """Bytes from the server: handshake, or records to decrypt for the inner protocol."""
        self._incoming.write(data)
        chunks: list[bytes] = []
        closed = False
        try:
            if not self._made and not self._shake():
                return
            while (chunk := self._read()) is not None:
                if not chunk:  # the server's close_notify
                    closed = True
                    break
                chunks.append(chunk)
        except ssl.SSLZeroReturnError:  # the server's close_notify
            closed = True
        except (ssl.SSLError, ssl.CertificateError) as exc:
            self._fail(exc)
            return
        self._flush()  # post-handshake replies (key update)
        for chunk in chunks:
            self._inner.data_received(chunk)
        if closed and self._inner.eof_received() is not True:
            self.close()

    def _read(self) -> bytes | None:
        """Decrypted bytes; ``b""`` at the server's close_notify; ``None``: nothing more yet."""
        try:
            return self._ssl.read(_READ)
        except ssl.SSLWantReadError:
            return None

    def feed_eof(self) -> bool | None:
        """The server closed its side."""
        if not self._made:
            self._fail(ConnectionResetError("the server closed the connection during TLS"))
            return False
        return self._inner.eof_received()

    def lost(self, exc: Exception | None) -> None:
        """The TCP connection is gone."""
        self._closing = True
        if not self._handshake.done():
            self._handshake.set_exception(exc or ConnectionResetError("connection lost"))
        if self._made:
            self._made = False
            self._inner.connection_lost(exc or self._error)

    def _fail(self, exc: Exception) -> None:
        self._error = exc  # what connection_lost reports
        if not self._handshake.done():
            self._handshake.set_exception(exc)
        if self._tcp is not None:
            self._tcp.abort()

    async def handshake(self) -> None:
        """Wait until the TLS handshake is done (raises :class:`ssl.SSLError`,
        :class:`ConnectionError`)."""
        await self._handshake


class TlsLink(asyncio.Protocol):
    """The protocol on the TCP transport, feeding its :class:`TlsTransport`."""

    def __init__(self, tls: TlsTransport) -> None:
        self.tls = tls

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.tls.attach(cast(asyncio.Transport, transport))

    def data_received(self, data: bytes) -> None:
        self.tls.feed(data)

    def eof_received(self) -> bool | None:
        return self.tls.feed_eof()

    def connection_lost(self, exc: Exception | None) -> None:
        self.tls.lost(exc)

    def pause_writing(self) -> None:
        self.tls.inner.pause_writing()

    def resume_writing(self) -> None:
        self.tls.inner.resume_writing()


async def connect_tls(
    host: str,
    port: int,
    timeout_s: float,
    limit: float,
    *,
    context: ssl.SSLContext,
    server_hostname: str | None,
) -> Connection:
    """A fast-path :class:`Connection` over a :class:`TlsTransport` (TCP_NODELAY), or
    :class:`FastError` (never sent) within ``limit`` seconds, like
    :func:`~monitor.engine.fastconnect.connect`."""
    conn = Connection()
    with connect_failures(timeout_s):
        async with asyncio.timeout(limit):
            tls = await open_tls(conn, host, port, context, server_hostname)
    set_nodelay(tls)
    return conn


async def open_tls(
    inner: asyncio.Protocol,
    host: str,
    port: int,
    context: ssl.SSLContext,
    server_hostname: str | None,
) -> TlsTransport:
    """Connect, hand ``inner`` its :class:`TlsTransport` once the handshake is done, and return
    it. Raises :class:`OSError` (connect), :class:`ssl.SSLError` (handshake); the caller sets
    the time limit."""
    loop = asyncio.get_running_loop()
    tls = TlsTransport(context, server_hostname, inner)
    transport, _ = await loop.create_connection(lambda: TlsLink(tls), host, port)
    try:
        await tls.handshake()
    except BaseException:
        transport.abort()
        raise
    return tls
