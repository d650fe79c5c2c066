"""Opening an HTTP/2 client connection (:class:`~monitor.engine.sync.h2conn.H2Protocol`):
TCP, TLS with ALPN ``h2`` or ``h2c`` prior knowledge, and the server's first SETTINGS."""

from __future__ import annotations

import asyncio
import ssl

from monitor.engine.fastconnect import connect_failures, set_nodelay
from monitor.engine.fastpath import FastError
from monitor.engine.sync.h2conn import H2Error, H2Protocol


async def open_h2(
    host: str, port: int, timeout_s: float, ssl_context: ssl.SSLContext | None
) -> H2Protocol:
    """An HTTP/2 connection whose server SETTINGS arrived (raises :class:`H2Error`).
    ``ssl_context`` must offer ALPN ``h2``; a TLS server that picks anything else raises
    :class:`H2Error` with kind ``"alpn"``."""
    loop = asyncio.get_running_loop()
    try:
        with connect_failures(timeout_s):  # the fast path's kinds and messages
            async with asyncio.timeout(timeout_s):
                transport, proto = await loop.create_connection(
                    H2Protocol, host, port, ssl=ssl_context,
                    server_hostname=None if ssl_context is None else host,
                )  # fmt: skip
    except FastError as exc:
        raise H2Error(exc.kind, exc.message) from None
    set_nodelay(transport)
    if ssl_context is not None:
        ssl_object = transport.get_extra_info("ssl_object")
        chosen = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
        if chosen != "h2":
            proto.abort()
            raise H2Error("alpn", f"target did not negotiate h2 by ALPN (chose {chosen or 'none'})")
    try:
        await proto.ready(timeout_s)
    except H2Error:
        proto.abort()
        raise
    return proto
