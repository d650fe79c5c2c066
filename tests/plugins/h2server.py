"""A real HTTP/2 server on loopback for the synchronised sender: hypercorn serving a small
ASGI app, over h2c (prior knowledge) and over TLS (ALPN ``h2``).

The app answers every request with JSON (method, path, body, cookie and authorization it saw)
and an ``X-Arrival-Ns`` header: ``time.monotonic_ns()`` when the request's last body chunk
(END_STREAM) reached the app, so tests see how tightly the streams arrived. Paths under
``/early`` are answered on their headers, without waiting for the request's end (as a proxy
or an application that never reads the body does).

hypercorn 0.18.0 (the newest release) kills the whole connection when a client completes a
request the app has already answered: HEADERS (no END_STREAM) on stream 1; the app answers,
hypercorn sends HEADERS + DATA (END_STREAM) and drops the stream, without RST_STREAM NO_ERROR;
the client's DATA (END_STREAM) on stream 1 is legal then (RFC 9113 §5.1 half-closed (local),
§8.1), but ``H2Protocol._handle_events`` looks the stream up unguarded on ``DataReceived`` and
raises ``KeyError`` (its ``StreamEnded`` branch guards the same lookup). Every other stream of the
connection then goes unanswered. Upstream: pgjones/hypercorn issue 329, pull requests 312 and
334 (open). :class:`_H2Protocol` drops such DATA (acknowledging its flow control) and serves the
rest as hypercorn does.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import h2.events
import hypercorn.protocol
from hypercorn.asyncio import serve
from hypercorn.config import Config
from hypercorn.protocol.h2 import H2Protocol

from tests.plugins.tls import Cert

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def echo_app(scope: Scope, receive: Receive, send: Send) -> None:
    """ASGI: echo what arrived, stamped with when its last byte did."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"].startswith("/early"):  # answers on the headers, never reads the body
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"early"})
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    arrived = time.monotonic_ns()
    headers = {k.decode(): v.decode() for k, v in scope["headers"]}
    payload = {
        "method": scope["method"],
        "path": scope["path"],
        "query": scope["query_string"].decode(),
        "http_version": scope["http_version"],
        "body": json.loads(body) if body else None,
        "cookie": headers.get("cookie"),
        "authorization": headers.get("authorization"),
        "content_length": headers.get("content-length"),
    }
    data = json.dumps(payload).encode()
    status = 201 if scope["method"] == "POST" else 200
    response_headers = [
        (b"content-type", b"application/json"),
        (b"x-arrival-ns", str(arrived).encode()),
        (b"set-cookie", b"seen=" + scope["path"].strip("/").encode() + b"; Path=/"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": response_headers})
    await send({"type": "http.response.body", "body": data})


class _H2Protocol(H2Protocol):
    """hypercorn's HTTP/2 protocol, but DATA on a stream it has already answered and dropped
    is acknowledged and ignored instead of raising ``KeyError`` (see the module docstring)."""

    async def _handle_events(self, events: list[h2.events.Event]) -> None:
        for event in events:  # one at a time: an earlier event may open or drop the stream
            if isinstance(event, h2.events.DataReceived) and event.stream_id not in self.streams:
                size, stream_id = event.flow_controlled_length or 0, event.stream_id or 0
                self.connection.acknowledge_received_data(size, stream_id)
                await self._flush()
                continue
            await super()._handle_events([event])


hypercorn.protocol.H2Protocol = _H2Protocol  # type: ignore[attr-defined]  # what ProtocolWrapper starts


@asynccontextmanager
async def serve_h2(
    cert: Cert | None = None,
    *,
    max_streams: int = 100,
    max_requests: int = 1000,
    app: Callable[[Scope, Receive, Send], Awaitable[None]] = echo_app,
) -> AsyncIterator[str]:
    """hypercorn with ``app`` (:func:`echo_app`) on a free loopback port: ``https://`` (ALPN h2 and
    http/1.1) with ``cert``, else ``http://`` (HTTP/1.1 and h2c prior knowledge); at most
    ``max_streams`` concurrent streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS); after
    ``max_requests`` requests on a connection it ends it gracefully (GOAWAY NO_ERROR, hypercorn's
    ``keep_alive_max_requests``, as nginx's ``keepalive_requests``)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]  # hypercorn owns (and closes) the listening socket
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 0.5
    config.h2_max_concurrent_streams = max_streams
    config.keep_alive_max_requests = max_requests
    if cert is not None:
        config.certfile, config.keyfile = cert.cert_file, cert.key_file
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    scheme = "https" if cert is not None else "http"
    try:
        for _ in range(200):  # until it accepts
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            break
        yield f"{scheme}://127.0.0.1:{port}"
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
