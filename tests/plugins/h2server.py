"""A real HTTP/2 server on loopback for the synchronised sender: hypercorn serving a small
ASGI app, over h2c (prior knowledge) and over TLS (ALPN ``h2``).

The app answers every request with JSON (method, path, body, cookie and authorization it saw)
and an ``X-Arrival-Ns`` header: ``time.monotonic_ns()`` when the request's last body chunk
(END_STREAM) reached the app, so tests see how tightly the streams arrived. Paths under
``/early`` are answered on their headers, without waiting for the request's end (as a proxy
or an application that never reads the body does).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config

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


@asynccontextmanager
async def serve_h2(cert: Cert | None = None) -> AsyncIterator[str]:
    """hypercorn with :func:`echo_app` on a free loopback port: ``https://`` (ALPN h2 and
    http/1.1) with ``cert``, else ``http://`` (HTTP/1.1 and h2c prior knowledge)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]  # hypercorn owns (and closes) the listening socket
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 0.5
    if cert is not None:
        config.certfile, config.keyfile = cert.cert_file, cert.key_file
    stop = asyncio.Event()
    task = asyncio.create_task(serve(echo_app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
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
