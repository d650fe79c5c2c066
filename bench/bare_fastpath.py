"""A prototype of a lean SHARED-mode fast path for the engine, measured like a generator.

``python -m bench.bare_fastpath --url U --vus N --duration S [--no-uvloop]``: N keep-alive
connections, each a bare ``asyncio.Protocol`` with an llhttp parser (``httptools``, the parser
uvicorn uses), and — unlike :mod:`bench.bare_protocol` — the engine's real per-request
bookkeeping: a :class:`monitor.engine.RequestRecord` per request added to a
:class:`monitor.engine.ConcurrentResult` (counters, status codes, HdrHistogram, bounded sample).
Prints ``{"requests": n, "errors": n, "duration_s": s, "p50": ms, "p99": ms}``.

It shows what ``soakmon load`` could reach if the engine sent simple requests without
aiohttp's ``ClientSession`` machinery; it is a measurement, not a product code path.
"""

from __future__ import annotations

import asyncio
import time
from typing import cast
from urllib.parse import urlsplit

import httptools

from bench.bare import run_cli
from monitor.engine import ConcurrentResult, RequestRecord


class Connection(asyncio.Protocol):
    """One keep-alive connection; ``send()`` writes a request and waits for its response."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, int]] | None = None
        self.nbytes = 0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("server disconnected"))

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self.nbytes += len(body)

    def on_message_complete(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((self.parser.get_status_code(), self.nbytes))

    def _fail(self, exc: BaseException) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    async def send(self) -> tuple[int, int]:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionError("connection closed")
        self.nbytes = 0
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(self.request)
        return await self.waiter


async def loop_requests(url: str, vus: int, duration_s: float) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path or "/"
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: */*\r\n"
        "User-Agent: soakmon-fastpath\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    conns = [
        (await loop.create_connection(lambda: Connection(request), host, port))[1]
        for _ in range(vus)
    ]
    result = ConcurrentResult(sample_limit=1000)
    deadline = loop.time() + duration_s

    async def user(conn: Connection) -> None:
        while loop.time() < deadline:
            started_at, start = time.time(), loop.time()
            status: int | None = None
            nbytes, error = 0, None
            try:
                status, nbytes = await conn.send()
            except (OSError, httptools.HttpParserError) as exc:
                error = str(exc) or type(exc).__name__
            result.add(
                RequestRecord(
                    name="GET " + path,
                    method="GET",
                    url=url,
                    started_at=started_at,
                    start=start,
                    intended_start=None,
                    duration_ms=(loop.time() - start) * 1000.0,
                    status=status,
                    bytes_received=nbytes,
                    error=error,
                    error_kind=None if error is None else "other",
                    sent=True,
                )
            )
            if error is not None:
                return

    started = time.monotonic()
    await asyncio.gather(*(user(c) for c in conns))
    elapsed = time.monotonic() - started
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    return {
        "requests": result.total,
        "errors": result.error_count,
        "duration_s": elapsed,
        "p50": result.histogram.percentile(50),
        "p99": result.histogram.percentile(99),
    }


def main(argv: list[str] | None = None) -> None:
    run_cli("python -m bench.bare_fastpath", loop_requests, argv)


if __name__ == "__main__":
    main()
