"""Opening a fast-path connection: plain or TLS, ``TCP_NODELAY``, failures as :class:`FastError`.

Shared by the fast loop, :class:`~monitor.engine.fastusers.FastUsers` and the synchronised
sender; a failed connect is never sent, with the same kinds and messages as aiohttp's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable, Iterator

from monitor.engine.fastpath import Connection, FastError


async def connect(
    host: str,
    port: int,
    timeout_s: float,
    limit: float,
    *,
    ssl_context: ssl.SSLContext | None = None,
    server_hostname: str | None = None,
    protocol: Callable[[], Connection] = Connection,
) -> Connection:
    """A new connection (TCP_NODELAY; TLS with ``ssl_context``), or :class:`FastError` (never
    sent) within ``limit`` seconds."""
    loop = asyncio.get_running_loop()
    with connect_failures(timeout_s):
        async with asyncio.timeout(limit):
            if ssl_context is None:
                transport, conn = await loop.create_connection(protocol, host, port)
            else:
                transport, conn = await loop.create_connection(
                    protocol, host, port, ssl=ssl_context, server_hostname=server_hostname
                )
    set_nodelay(transport)
    return conn


@contextlib.contextmanager
def connect_failures(timeout_s: float) -> Iterator[None]:
    """Turn a failed connect (its timeout, a refusal, TLS, any OS error) into :class:`FastError`
    (never sent); shared by the plain and the sender's TLS connects."""
    try:
        yield
    except TimeoutError:
        raise FastError("timeout", f"connect timeout after {timeout_s:g} s", False) from None
    except ConnectionRefusedError:
        raise FastError("refused", "connection refused", False) from None
    except ssl.SSLCertVerificationError as exc:
        detail = exc.verify_message or str(exc)
        raise FastError("tls", f"TLS certificate error: {detail}", False) from None
    except ssl.SSLError as exc:
        raise FastError("tls", f"TLS error: {exc.reason or exc}", False) from None
    except OSError as exc:
        detail = exc.strerror or str(exc) or type(exc).__name__
        raise FastError("other", f"cannot connect: {detail}", False) from None


def set_nodelay(transport: asyncio.BaseTransport) -> None:
    """Send small writes at once (no Nagle delay); asyncio and uvloop usually set it already."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
