"""Real loopback servers for the engine tests (aiohttp apps and raw asyncio sockets)."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web


@asynccontextmanager
async def serve_app(app: web.Application, **runner_kwargs: Any) -> AsyncIterator[str]:
    """Run ``app`` on 127.0.0.1 port 0 (``runner_kwargs`` go to :class:`web.AppRunner`);
    yields its base URL."""
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5, **runner_kwargs)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def serve_raw(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[str]:
    """A raw asyncio TCP server on 127.0.0.1 port 0 (TLS with ``ssl_context``); yields
    ``http://127.0.0.1:PORT`` (``https://`` with TLS)."""
    tasks: set[asyncio.Task[None]] = set()

    async def tracked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)  # type: ignore[arg-type]
        try:
            await handler(reader, writer)
        except asyncio.CancelledError:
            pass  # the server is shutting down
        finally:
            writer.close()

    server = await asyncio.start_server(tracked, "127.0.0.1", 0, ssl=ssl_context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


def closed_port_url() -> str:
    """A loopback URL on which nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def read_request_head(reader: asyncio.StreamReader) -> bytes:
    """Read up to the end of the request headers."""
    return await reader.readuntil(b"\r\n\r\n")


async def each_request(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """The head of each request of a keep-alive connection, until the client closes it."""
    while True:
        try:
            yield await read_request_head(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            return
