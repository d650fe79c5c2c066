"""A hostile stand-in target on loopback: raw asyncio sockets answering garbage, by path.

Each path is one way a service can misbehave on the wire; the request line picks it, so one
server serves a whole test and every client path (aiohttp, the fast path, the daemon) meets the
same answers. Everything it sends is bounded in bytes and time (``MAX_SEND``, ``MAX_SECONDS``):
the server stops by itself even when a client keeps reading.

``/ok`` answers a valid JSON object so that a client that survived can still be seen working.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from tests.hostile.serving import serving

MAX_SEND = 256 * 1024 * 1024
"""At most this many bytes per answer (a "never-ending" body ends here, or when the client
goes away, or after ``MAX_SECONDS``)."""
MAX_SECONDS = 30.0
CHUNK = b"x" * 65536

Writer = asyncio.StreamWriter
Behaviour = Callable[[Writer], Awaitable[None]]


def _head(status: str = "200 OK", *headers: str) -> bytes:
    return ("HTTP/1.1 " + status + "\r\n" + "".join(f"{h}\r\n" for h in headers) + "\r\n").encode()


def _answer(writer: Writer, body: bytes, *headers: str) -> None:
    """A 200 with ``headers``, then ``body`` and its length."""
    writer.write(_head("200 OK", *headers, f"Content-Length: {len(body)}"))
    writer.write(body)


def _reset(writer: Writer) -> None:
    """Close with a TCP RST (SO_LINGER 0), as a crashed process or a middlebox does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _stream(writer: Writer, frame: Callable[[bytes], bytes]) -> None:
    """Send ``frame(CHUNK)`` until ``MAX_SEND`` bytes, ``MAX_SECONDS`` or the client leaves."""
    sent = 0
    async with asyncio.timeout(MAX_SECONDS):
        while sent < MAX_SEND and not writer.is_closing():
            writer.write(frame(CHUNK))
            sent += len(CHUNK)
            await writer.drain()


async def ok(writer: Writer) -> None:
    _answer(writer, b'{"ok": true, "balance": 1}', "Content-Type: application/json")


async def bad_status(writer: Writer) -> None:
    writer.write(b"HTTP/1.1 TWO HUNDRED\r\nContent-Length: 0\r\n\r\n")


async def not_http(writer: Writer) -> None:
    writer.write(b"\x00\xff\xfeSSH-2.0-OpenSSH\r\n\x1b[31m garbage \x07\r\n\r\n")


async def bad_header(writer: Writer) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nno colon here\r\nX-\x00Null: a\x00b\r\nContent-Length: 2\r\n")
    writer.write(b"\r\n{}")


async def huge_header(writer: Writer) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nX-Big: ")
    await _stream(writer, lambda c: c)


async def many_headers(writer: Writer) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\n")
    await _stream(writer, lambda c: b"".join(b"X-H%d: v\r\n" % i for i in range(4000)))


async def huge_body(writer: Writer) -> None:
    writer.write(_head("200 OK", "Content-Type: application/json", f"Content-Length: {MAX_SEND}"))
    await _stream(writer, lambda c: c)


async def endless(writer: Writer) -> None:
    writer.write(_head("200 OK", "Content-Type: application/json", "Transfer-Encoding: chunked"))
    await _stream(writer, lambda c: b"%x\r\n%s\r\n" % (len(c), c))


async def until_close(writer: Writer) -> None:
    """No length, no chunking: the body lasts until the connection ends (it never does)."""
    writer.write(_head("200 OK", "Content-Type: application/json"))
    await _stream(writer, lambda c: c)


async def bad_json(writer: Writer) -> None:
    _answer(writer, b'{"balance": 1, "items": [1, 2,', "Content-Type: application/json")


async def bad_encoding(writer: Writer) -> None:
    body = b'{"name": "\xff\xfe\xc3\x28"}'
    _answer(writer, body, "Content-Type: application/json; charset=utf-8")


async def bad_gzip(writer: Writer) -> None:
    body = b"\x1f\x8b\x08\x00 this is not gzip"
    _answer(writer, body, "Content-Encoding: gzip", "Content-Type: application/json")


async def bad_chunk(writer: Writer) -> None:
    writer.write(_head("200 OK", "Transfer-Encoding: chunked") + b"zz\r\nabc\r\n0\r\n\r\n")


async def two_lengths(writer: Writer) -> None:
    writer.write(_head("200 OK", "Content-Length: 5", "Content-Length: 50") + b"hello")


async def slowloris(writer: Writer) -> None:
    """A status line, then one header byte every 200 ms, forever (bounded by MAX_SECONDS)."""
    writer.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    async with asyncio.timeout(MAX_SECONDS):
        while not writer.is_closing():
            writer.write(b"a")
            await writer.drain()
            await asyncio.sleep(0.2)


async def stall(writer: Writer) -> None:
    """Reads the request and never answers."""
    await asyncio.sleep(MAX_SECONDS)


async def reset_head(writer: Writer) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Ty")
    await writer.drain()
    _reset(writer)


async def reset_body(writer: Writer) -> None:
    writer.write(_head("200 OK", "Content-Type: application/json", "Content-Length: 1000"))
    writer.write(b'{"balance": ')
    await writer.drain()
    _reset(writer)


async def short_body(writer: Writer) -> None:
    writer.write(_head("200 OK", "Content-Type: application/json", "Content-Length: 1000"))
    writer.write(b'{"balance": ')
    await writer.drain()
    writer.close()


async def reset_now(writer: Writer) -> None:
    _reset(writer)


BEHAVIOURS: dict[str, Behaviour] = {
    "/ok": ok,
    "/bad-status": bad_status,
    "/not-http": not_http,
    "/bad-header": bad_header,
    "/huge-header": huge_header,
    "/many-headers": many_headers,
    "/huge-body": huge_body,
    "/endless": endless,
    "/until-close": until_close,
    "/bad-json": bad_json,
    "/bad-encoding": bad_encoding,
    "/bad-gzip": bad_gzip,
    "/bad-chunk": bad_chunk,
    "/two-lengths": two_lengths,
    "/slowloris": slowloris,
    "/stall": stall,
    "/reset-head": reset_head,
    "/reset-body": reset_body,
    "/short-body": short_body,
    "/reset-now": reset_now,
}
HOSTILE = sorted(set(BEHAVIOURS) - {"/ok"})
"""Every path that answers badly."""
#: Answers a client can read whole (a status, headers and a body) but that make no sense to it.
READABLE = ("/bad-json", "/bad-encoding")


async def _serve(reader: asyncio.StreamReader, writer: Writer, counts: dict[str, int]) -> None:
    async with asyncio.timeout(MAX_SECONDS + 5):
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            line = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            path = line[1].split("?", 1)[0] if len(line) > 1 else "/"
            length = 0
            for header in head.split(b"\r\n")[1:]:
                name, _, value = header.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip() or 0)
            if length:
                await reader.readexactly(min(length, 1 << 20))
            counts[path] = counts.get(path, 0) + 1
            behaviour = BEHAVIOURS.get(path, BEHAVIOURS["/ok"])
            try:
                await behaviour(writer)
                await writer.drain()
            except (ConnectionError, TimeoutError):
                return
            if behaviour is not ok:
                writer.close()
                return


@asynccontextmanager
async def hostile_server() -> AsyncIterator[tuple[str, dict[str, int]]]:
    """Serve on 127.0.0.1 port 0; yields the base URL and a count of requests per path."""
    counts: dict[str, int] = {}

    async def handle(reader: asyncio.StreamReader, writer: Writer) -> None:
        await _serve(reader, writer, counts)

    async with serving(handle) as url:
        yield url, counts
