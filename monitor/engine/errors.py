"""Classify a transport exception: (error_kind, human message, whether it may have been sent).

A registry of (exception type, classifier) checked in order, most specific first; adding a
case is adding one entry.
"""

from __future__ import annotations

import asyncio
import errno
import ssl
from collections.abc import Callable

import aiohttp
from aiohttp.http_exceptions import HttpProcessingError

from monitor.engine.spec import ErrorKind
from monitor.errors import SoakmonError

Classified = tuple[ErrorKind, str, bool]
Classifier = Callable[[BaseException, float], Classified]

MAX_KEPT_BODY = 16 * 1024 * 1024
"""A response body kept for reading (setup, read-back, checks) may be at most this large;
beyond it the request is an error and the rest is not read. Bodies that are only counted
(load) are read and dropped chunk by chunk, so memory stays flat whatever their size."""
MAX_HEAD = 64 * 1024
"""Response status line and headers may be at most this large (the fast path; aiohttp's own
parser refuses a header line over 8 KiB and more than 128 headers)."""
MAX_DETAIL = 200
"""An error message quotes at most this much of what the server or the library said."""


class ResponseTooLarge(SoakmonError):
    """A response whose head or kept body is over its limit."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(
            f"{what} over {limit >> 20 or limit >> 10} {'MiB' if limit >> 20 else 'KiB'}"
        )


def one_line(text: str, limit: int = MAX_DETAIL) -> str:
    """``text`` on one line (whitespace runs collapsed), cut to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _detail(exc: BaseException) -> str:
    text = one_line(str(exc))
    return text or type(exc).__name__


def _connector(exc: BaseException, timeout: float) -> Classified:
    os_error = getattr(exc, "os_error", None)
    code = getattr(os_error, "errno", None)
    if isinstance(os_error, ConnectionRefusedError) or code == errno.ECONNREFUSED:
        return "refused", "connection refused", False
    if isinstance(os_error, TimeoutError):
        return "timeout", f"connect timeout after {timeout:g} s", False
    return "other", f"cannot connect: {_detail(os_error or exc)}", False


def _os_error(exc: BaseException, timeout: float) -> Classified:
    code = getattr(exc, "errno", None)
    if isinstance(exc, ConnectionResetError) or code in (errno.ECONNRESET, errno.EPIPE):
        return "reset", "connection reset by peer", True
    if isinstance(exc, ConnectionRefusedError) or code == errno.ECONNREFUSED:
        return "refused", "connection refused", False
    return "other", f"socket error: {_detail(exc)}", True


#: What aiohttp says when writing a request's body failed (the transport was closing, or the
#: kernel refused the write): the complete request never left, so the server cannot have
#: applied it — unlike ``ServerDisconnectedError``, raised once the whole request was written.
UNWRITTEN_BODY = "Can not write request body"


def _client_os(exc: BaseException, timeout: float) -> Classified:
    if UNWRITTEN_BODY in str(exc):
        return "reset", "connection closed before the request was written (never applied)", False
    return _os_error(exc, timeout)


_REGISTRY: list[tuple[type[BaseException], Classifier]] = [
    (
        aiohttp.ClientConnectorCertificateError,
        lambda e, t: ("tls", f"TLS certificate error: {_detail(e)}", False),
    ),
    (aiohttp.ClientConnectorSSLError, lambda e, t: ("tls", f"TLS error: {_detail(e)}", False)),
    (
        aiohttp.ClientConnectorDNSError,
        lambda e, t: ("other", f"DNS lookup failed: {_detail(e)}", False),
    ),
    (aiohttp.ClientConnectorError, _connector),
    (
        aiohttp.ConnectionTimeoutError,
        lambda e, t: ("timeout", f"connect timeout after {t:g} s", False),
    ),
    (ResponseTooLarge, lambda e, t: ("malformed", f"malformed response: {e}", True)),
    (TimeoutError, lambda e, t: ("timeout", f"timeout after {t:g} s", True)),
    (asyncio.TimeoutError, lambda e, t: ("timeout", f"timeout after {t:g} s", True)),
    (aiohttp.ServerDisconnectedError, lambda e, t: ("reset", "server disconnected", True)),
    (
        aiohttp.ClientPayloadError,
        lambda e, t: ("malformed", f"malformed response: {_detail(e)}", True),
    ),
    (
        aiohttp.ClientResponseError,
        lambda e, t: ("malformed", f"malformed response: {_detail(e)}", True),
    ),
    (
        HttpProcessingError,
        lambda e, t: ("malformed", f"malformed response: {_detail(e)}", True),
    ),
    (ssl.SSLError, lambda e, t: ("tls", f"TLS error: {_detail(e)}", True)),
    (aiohttp.InvalidURL, lambda e, t: ("other", f"invalid URL: {_detail(e)}", False)),
    (aiohttp.ClientConnectionResetError, lambda e, t: ("reset", "connection reset", True)),
    (aiohttp.ClientOSError, _client_os),
    (OSError, _os_error),
]


def classify(exc: BaseException, timeout: float, *, connecting: bool = False) -> Classified:
    """``(error_kind, message, sent)`` for ``exc`` raised while requesting with ``timeout``;
    ``connecting``: it was raised before the request had its connection (a timeout is then a
    connect timeout: nothing was sent)."""
    if connecting and isinstance(exc, TimeoutError):
        return "timeout", f"connect timeout after {timeout:g} s", False
    for exc_type, classifier in _REGISTRY:
        if isinstance(exc, exc_type):
            return classifier(exc, timeout)
    return "other", f"{type(exc).__name__}: {_detail(exc)}", True
