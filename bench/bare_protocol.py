"""How fast one Python core can go without an HTTP client library: a diagnostic ceiling.

``python -m bench.bare_protocol --url U --vus N --duration S [--no-uvloop]`` opens N keep-alive
connections, each driven by a bare ``asyncio.Protocol`` that writes a pre-encoded GET and reads
the answer (status line, ``Content-Length`` body only — enough for the benchmark's nginx).
Prints ``{"requests": n, "errors": n, "duration_s": s}``. This is not a load generator for
users; it shows what a lean fast path inside the engine could reach on this machine.
"""

from __future__ import annotations

import asyncio
import time
from typing import cast
from urllib.parse import urlsplit

from bench.bare import run_cli


class KeepAliveGet(asyncio.Protocol):
    """One connection; ``get()`` sends the request and waits for the whole answer."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.need = -1  # total bytes of the current answer once its head is read

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass of it

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.need < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 : head.find(b"\r\n", at)]) if at >= 0 else 0
            self.need = end + 4 + length
        if len(self.buffer) >= self.need and self.waiter is not None:
            status = int(self.buffer[9:12])
            del self.buffer[: self.need]
            self.need = -1
            waiter, self.waiter = self.waiter, None
            waiter.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("server disconnected"))

    async def get(self) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(self.request)
        return await self.waiter


async def loop_requests(url: str, vus: int, duration_s: float) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode()
    loop = asyncio.get_running_loop()
    conns = [
        (await loop.create_connection(lambda: KeepAliveGet(request), host, port))[1]
        for _ in range(vus)
    ]
    counts = {"requests": 0, "errors": 0}
    deadline = loop.time() + duration_s

    async def user(conn: KeepAliveGet) -> None:
        while loop.time() < deadline:
            status = await conn.get()
            counts["requests"] += 1
            if status >= 400:
                counts["errors"] += 1

    started = time.monotonic()
    await asyncio.gather(*(user(c) for c in conns))
    elapsed = time.monotonic() - started
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    return {**counts, "duration_s": elapsed}


def main(argv: list[str] | None = None) -> None:
    run_cli("python -m bench.bare_protocol", loop_requests, argv)


if __name__ == "__main__":
    main()
