"""A hostile HTTP/2 stand-in on loopback (h2c, prior knowledge): garbage frames, by path.

The synchronised sender's single-packet mode (``monitor/engine/sync/h2conn.py``) is soakmon's
only HTTP/2 client; it is what every concurrent phase of ``run``, ``demo``, ``probe`` and the
daemon's suite jobs speaks to an ``https`` target that negotiates ``h2``, or to an ``h2c:``
target. This server reads the client's frames with ``h2`` in server mode and answers each
request by its ``:path``: ``/ok`` properly, the others with what ``h2`` itself refuses to
produce, written as raw bytes (``hyperframe`` frames, hand-made HPACK): invalid frame headers,
bad HPACK, oversized header blocks and CONTINUATION floods, DATA past the flow-control window,
RST_STREAM and GOAWAY in the middle of an answer, SETTINGS and PING floods, stalls, a
connection closed mid-frame. ``connection=`` misbehaves before any request: an HTTP/1.1 answer
to the preface, silence, half a SETTINGS frame, or SETTINGS and then silence.

Everything it sends is bounded in bytes and time (``MAX_SEND``, ``MAX_SECONDS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import hpack
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    SettingsFrame,
)

from tests.hostile.serving import serving

MAX_SEND = 64 * 1024 * 1024
MAX_SECONDS = 20.0
OK_BODY = b'{"ok": true, "balance": 1}'


@dataclass
class Conn:
    """One client connection: the server-side ``h2`` state and the socket."""

    h2: h2.connection.H2Connection
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    counts: dict[str, int]
    paths: dict[int, str] = field(default_factory=dict)

    def flush(self) -> None:
        data = self.h2.data_to_send()
        if data:
            self.writer.write(data)

    async def pump(self, seconds: float) -> None:
        """Read the client's frames (WINDOW_UPDATEs, acknowledgements) for up to ``seconds``."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                data = await self.reader.read(65536)
                if not data:
                    raise ConnectionError("client left")
                with contextlib.suppress(h2.exceptions.ProtocolError):
                    self.h2.receive_data(data)
                self.flush()


def raw_headers(stream_id: int, headers: list[tuple[str, str]], end_stream: bool = False) -> bytes:
    """A HEADERS frame whose block uses literals that are never indexed, so ``h2``'s own HPACK
    encoder (whose dynamic table the client mirrors) stays in step for later answers."""
    block = hpack.Encoder().encode([hpack.NeverIndexedHeaderTuple(k, v) for k, v in headers])
    flags = ["END_HEADERS", *(["END_STREAM"] if end_stream else [])]
    return HeadersFrame(stream_id, data=block, flags=flags).serialize()


def _frame(kind: int, flags: int, sid: int, payload: bytes, length: int | None = None) -> bytes:
    size = len(payload) if length is None else length
    return struct.pack(">I", size)[1:] + struct.pack(">BBI", kind, flags, sid) + payload


async def _bounded(conn: Conn, make: Callable[[], bytes], pump: bool = False) -> None:
    """Write ``make()`` until ``MAX_SEND`` bytes or ``MAX_SECONDS`` or the client leaves;
    without ``pump`` the client's frames are not read meanwhile (a flood that ignores them)."""
    sent = 0
    async with asyncio.timeout(MAX_SECONDS):
        while sent < MAX_SEND and not conn.writer.is_closing():
            chunk = make()
            conn.writer.write(chunk)
            sent += len(chunk)
            await conn.writer.drain()
            if pump:
                await conn.pump(0.001)


async def _stall(conn: Conn) -> None:
    await asyncio.sleep(MAX_SECONDS)


# -- answers, by path ------------------------------------------------------------------------
Answer = Callable[[Conn, int], Awaitable[bool]]
"""Answers stream ``sid``; returns whether the connection can go on serving."""


async def ok(conn: Conn, sid: int) -> bool:
    conn.h2.send_headers(sid, [(":status", "200"), ("content-type", "application/json")])
    conn.h2.send_data(sid, OK_BODY, end_stream=True)
    conn.flush()
    return True


async def bad_frame_header(conn: Conn, sid: int) -> bool:
    """A DATA frame on stream 0 (the frame header names a stream DATA may not use)."""
    conn.writer.write(_frame(0x0, 0x1, 0, b"hello"))
    await _stall(conn)
    return False


async def frame_too_large(conn: Conn, sid: int) -> bool:
    """A frame header declaring 16 MiB (over the 16 KiB the client allows), then its body."""
    conn.writer.write(_frame(0x0, 0x0, sid, b"", length=0xFFFFFF))
    body = b"x" * 65536
    await _bounded(conn, lambda: body)
    return False


async def bad_hpack(conn: Conn, sid: int) -> bool:
    """A header block indexing far past the HPACK tables."""
    block = b"\xff\xff\xff\xff\x0f"  # an indexed header field, index 2**25 + 126
    conn.writer.write(HeadersFrame(sid, data=block, flags=["END_HEADERS"]).serialize())
    await _stall(conn)
    return False


async def bad_status(conn: Conn, sid: int) -> bool:
    """A well-formed header block whose ``:status`` is not a number: only this stream fails."""
    conn.writer.write(raw_headers(sid, [(":status", "abc")], end_stream=True))
    return True


async def no_status(conn: Conn, sid: int) -> bool:
    conn.writer.write(raw_headers(sid, [("content-type", "text/plain")], end_stream=True))
    await _stall(conn)
    return False


async def continuation_flood(conn: Conn, sid: int) -> bool:
    """HEADERS without END_HEADERS, then CONTINUATION frames that never end the block."""
    conn.writer.write(HeadersFrame(sid, data=b"\x88", flags=[]).serialize())
    frame = ContinuationFrame(sid, data=b"\x00\x01a\x01b" * 3000).serialize()
    await _bounded(conn, lambda: frame * 8)
    return False


@functools.cache
def _huge_block() -> bytes:
    """~550 KiB of HPACK (2,000 headers), encoded once: encoding it costs a busy machine's
    event loop a good part of a second, which a timed batch must not pay."""
    headers = [(":status", "200")] + [(f"x-h{i}", "v" * 300) for i in range(2000)]
    return hpack.Encoder().encode([hpack.NeverIndexedHeaderTuple(k, v) for k, v in headers])


def _huge_frames(sid: int) -> bytes:
    """The block in HEADERS + CONTINUATION frames of 16 KiB."""
    block, size = _huge_block(), 16384
    frames = [HeadersFrame(sid, data=block[:size], flags=[]).serialize()]
    for at in range(size, len(block), size):
        flags = ["END_HEADERS"] if at + size >= len(block) else []
        frames.append(ContinuationFrame(sid, data=block[at : at + size], flags=flags).serialize())
    return b"".join(frames)


async def huge_header_list(conn: Conn, sid: int) -> bool:
    conn.writer.write(_huge_frames(sid))
    await _stall(conn)
    return False


async def data_beyond_window(conn: Conn, sid: int) -> bool:
    """Headers, then 1 MiB of DATA in one write, ignoring the 64 KiB flow-control window."""
    head = raw_headers(sid, [(":status", "200")])
    data = DataFrame(sid, data=b"x" * 16384).serialize()
    conn.writer.write(head + data * 64)
    await _stall(conn)
    return False


async def rst_mid_answer(conn: Conn, sid: int) -> bool:
    conn.h2.send_headers(sid, [(":status", "200"), ("content-type", "application/json")])
    conn.h2.send_data(sid, b'{"balance": ')
    conn.h2.reset_stream(sid, h2.errors.ErrorCodes.INTERNAL_ERROR)
    conn.flush()
    return True


async def goaway_mid_answer(conn: Conn, sid: int) -> bool:
    """Half an answer, GOAWAY (INTERNAL_ERROR), and the connection left open, silent."""
    conn.h2.send_headers(sid, [(":status", "200"), ("content-type", "application/json")])
    conn.h2.send_data(sid, b'{"balance": ')
    conn.flush()
    conn.writer.write(GoAwayFrame(0, last_stream_id=sid, error_code=2).serialize())
    await _stall(conn)
    return False


async def settings_flood(conn: Conn, sid: int) -> bool:
    """SETTINGS frames (each wants an acknowledgement) without reading the client's acks."""
    frames = SettingsFrame(0, settings={SettingsFrame.HEADER_TABLE_SIZE: 4096}).serialize() * 4096
    await _bounded(conn, lambda: frames)
    return False


async def ping_flood(conn: Conn, sid: int) -> bool:
    frames = PingFrame(0, opaque_data=b"hostile!").serialize() * 4096
    await _bounded(conn, lambda: frames)
    return False


async def endless_data(conn: Conn, sid: int) -> bool:
    """A body that never ends, within flow control (the client's window updates are read)."""
    conn.h2.send_headers(sid, [(":status", "200"), ("content-type", "application/json")])
    conn.flush()
    chunk = b"x" * 16384
    sent = 0
    try:
        async with asyncio.timeout(MAX_SECONDS):
            while sent < MAX_SEND and not conn.writer.is_closing():
                window = min(conn.h2.local_flow_control_window(sid), len(chunk))
                if window <= 0:
                    await conn.pump(1.0)
                    continue
                conn.h2.send_data(sid, chunk[:window])
                conn.flush()
                sent += window
                await conn.writer.drain()
    except h2.exceptions.StreamClosedError:  # the client cancelled it: serve the next streams
        conn.flush()
        return True
    return False


async def stall_after_headers(conn: Conn, sid: int) -> bool:
    conn.h2.send_headers(sid, [(":status", "200"), ("content-type", "application/json")])
    conn.flush()
    await _stall(conn)
    return False


async def close_mid_frame(conn: Conn, sid: int) -> bool:
    frame = DataFrame(sid, data=b'{"balance": 1}', flags=["END_STREAM"]).serialize()
    conn.writer.write(raw_headers(sid, [(":status", "200")]) + frame[:12])
    await conn.writer.drain()
    conn.writer.close()
    return False


ANSWERS: dict[str, Answer] = {
    "/ok": ok,
    "/bad-frame-header": bad_frame_header,
    "/frame-too-large": frame_too_large,
    "/bad-hpack": bad_hpack,
    "/bad-status": bad_status,
    "/no-status": no_status,
    "/continuation-flood": continuation_flood,
    "/huge-header-list": huge_header_list,
    "/data-beyond-window": data_beyond_window,
    "/rst-mid-answer": rst_mid_answer,
    "/goaway-mid-answer": goaway_mid_answer,
    "/settings-flood": settings_flood,
    "/ping-flood": ping_flood,
    "/endless-data": endless_data,
    "/stall-after-headers": stall_after_headers,
    "/close-mid-frame": close_mid_frame,
}
HOSTILE_H2 = sorted(set(ANSWERS) - {"/ok"})
#: Answers that end only this stream; the connection goes on serving the others.
STREAM_ONLY = ("/bad-status", "/rst-mid-answer")


# -- misbehaving before any request ----------------------------------------------------------
async def _http1(conn: Conn, buf: bytes = b"") -> None:
    """HTTP/1.1: every request gets the ``/ok`` answer; the HTTP/2 preface a bad request."""
    data = bytearray(buf)
    while True:
        while b"\r\n\r\n" not in data:
            more = await conn.reader.read(65536)
            if not more or len(data) > 65536:
                return
            data += more
        head, _, rest = bytes(data).partition(b"\r\n\r\n")
        if head.startswith(b"PRI * HTTP/2.0"):
            conn.writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip() or 0)
        while len(rest) < length:
            more = await conn.reader.read(65536)
            if not more:
                return
            rest += more
        data = bytearray(rest[length:])
        path = head.split(b" ", 2)[1].decode("latin-1").split("?")[0] if b" " in head else "/"
        conn.counts[path] = conn.counts.get(path, 0) + 1
        conn.writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (len(OK_BODY), OK_BODY)
        )
        await conn.writer.drain()


async def _silent(conn: Conn) -> None:
    await _stall(conn)


async def _cut_settings(conn: Conn) -> None:
    conn.writer.write(SettingsFrame(0, settings={3: 100, 4: 65535}).serialize()[:10])
    await conn.writer.drain()


async def _settings_then_silent(conn: Conn) -> None:
    conn.h2.initiate_connection()
    conn.flush()
    await _stall(conn)


CONNECTION: dict[str, Callable[[Conn], Awaitable[None]]] = {
    "http1": _http1,
    "silent": _silent,
    "cut-settings": _cut_settings,
    "settings-then-silent": _settings_then_silent,
}


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


async def _serve(conn: Conn) -> None:
    """HTTP/2 when the client opens with the preface (prior knowledge), else HTTP/1.1 (the
    suites' set-up and read-back go through aiohttp, which speaks only HTTP/1.1)."""
    first = b""
    while len(first) < len(PREFACE) and PREFACE.startswith(first):
        more = await conn.reader.read(len(PREFACE) - len(first))
        if not more:
            return
        first += more
    if first != PREFACE:
        await _http1(conn, first)
        return
    conn.h2.initiate_connection()
    conn.flush()
    data = first
    while True:
        if not data:
            return
        for event in conn.h2.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                headers = dict(event.headers or [])
                conn.paths[event.stream_id or 0] = str(headers.get(":path", "/")).split("?")[0]
            elif isinstance(event, h2.events.StreamEnded):
                sid = event.stream_id or 0
                path = conn.paths.get(sid, "/")
                conn.counts[path] = conn.counts.get(path, 0) + 1
                if not await ANSWERS.get(path, ok)(conn, sid):
                    return
            elif isinstance(event, h2.events.DataReceived):
                size = event.flow_controlled_length or 0
                conn.h2.acknowledge_received_data(size, event.stream_id)
        conn.flush()
        await conn.writer.drain()
        data = await conn.reader.read(65536)


@asynccontextmanager
async def hostile_h2_server(
    connection: str | None = None,
) -> AsyncIterator[tuple[str, dict[str, int]]]:
    """Serve h2c on 127.0.0.1 port 0; yields the base URL and a count of requests per path.
    ``connection``: a misbehaviour of every connection before any request (``CONNECTION``)."""
    counts: dict[str, int] = {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        config = h2.config.H2Configuration(
            client_side=False, header_encoding="latin-1", validate_inbound_headers=False
        )
        conn = Conn(h2.connection.H2Connection(config=config), reader, writer, counts)
        garbled = (h2.exceptions.ProtocolError, asyncio.IncompleteReadError)
        with contextlib.suppress(*garbled, asyncio.LimitOverrunError):
            async with asyncio.timeout(MAX_SECONDS + 5):
                await (CONNECTION[connection](conn) if connection else _serve(conn))
                await writer.drain()

    _huge_block()  # encoded before any batch is timed
    async with serving(handle) as url:
        yield url, counts
