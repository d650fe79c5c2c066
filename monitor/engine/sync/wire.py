"""What goes on the wire for one request of a synchronised batch, and what comes back.

Requests are encoded once, with the same headers aiohttp would send for the profile (the
client's headers, ``before_send`` hook headers, the user's cookies); responses update the
user's aiohttp cookie jar, so sessions behave the same whichever client carried a request.
"""

from __future__ import annotations

import json as _json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from time import monotonic

from aiohttp.abc import AbstractCookieJar
from multidict import CIMultiDict
from yarl import URL

from monitor.engine.client import HttpClient, PreparedRequest
from monitor.engine.fastrequest import USER_AGENT, encode_request
from monitor.engine.spec import ErrorKind

#: Headers HTTP/2 forbids (connection-specific) or carries as pseudo-headers.
_H2_DROP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host", "te"}
)


@dataclass(slots=True)
class Outgoing:
    """One request of the batch: its bytes, and what happened to it."""

    index: int
    req: PreparedRequest
    headers: dict[str, str]
    """Everything sent besides what the encoders add (``Host``, ``Content-Length`` ...)."""
    sent_headers: Mapping[str, str] | None
    body: bytes | None
    jar: AbstractCookieJar | None
    started_at: float = 0.0
    start: float = 0.0
    status: int | None = None
    nbytes: int = 0
    response_body: bytes | None = None
    response_headers: CIMultiDict[str] | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None
    sent: bool = False
    released: bool = False
    primed: float | None = None
    """``time.monotonic()`` when its first bytes (all but the final one, or frame) left: the
    server may act on a request from then (a handler that never reads the body, a request
    answered on its head), so that is when it was invoked."""
    done_at: float | None = None
    """``time.monotonic()`` when the answer (or the failure) came."""

    def hold(self) -> None:
        """Its first bytes are being written (before the barrier): note when."""
        self.primed = monotonic()
        self.started_at, self.start = time.time(), self.primed

    def fail(self, kind: ErrorKind, message: str, sent: bool) -> None:
        """Record a transport failure (the first one wins)."""
        if self.error is None:
            self.error, self.error_kind, self.sent = message, kind, sent
            self.status = None
        if self.done_at is None:
            self.done_at = monotonic()

    @property
    def url(self) -> URL:
        return self.req.url

    def authority(self) -> str:
        url = self.req.url
        host = url.raw_host or ""
        if ":" in host:  # an IPv6 literal
            host = f"[{host}]"
        return f"{host}:{url.port}" if url.explicit_port else host

    def target(self) -> str:
        return self.req.url.raw_path_qs or "/"

    def h1_bytes(self) -> bytes:
        """The HTTP/1.1 request (head and body)."""
        return encode_request(
            self.req.method, self.target(), self.authority(), self.headers, self.req.json
        )

    def h2_headers(self) -> list[tuple[str, str]]:
        """The HTTP/2 header list (pseudo-headers first; names lower-case)."""
        given = {k.lower(): v for k, v in self.headers.items() if k.lower() not in _H2_DROP}
        pairs = [
            (":method", self.req.method),
            (":scheme", self.req.url.scheme),
            (":authority", self.authority()),
            (":path", self.target()),
        ]
        given.setdefault("user-agent", USER_AGENT)
        given.setdefault("accept", "*/*")
        if self.body is not None:
            given.setdefault("content-type", "application/json")
        # Without a body no `content-length: 0`: it would tell the server the request is
        # complete before its END_STREAM (the release), so it could run at once, not held.
        if self.body:
            given["content-length"] = str(len(self.body))

        pairs.extend(given.items())
        return pairs

    def absorb_cookies(self) -> None:
        """Store the response's ``Set-Cookie`` headers in the user's jar, as aiohttp's
        ``ClientSession`` does (``update_cookies_from_headers``)."""
        headers = self.response_headers
        if self.jar is None or headers is None:
            return
        raw = headers.getall("Set-Cookie", [])
        if raw:
            self.jar.update_cookies_from_headers(raw, self.req.url)


def outgoing(
    client: HttpClient, index: int, req: PreparedRequest, jar: AbstractCookieJar | None
) -> Outgoing:
    """Resolve what request ``index`` sends: headers (client, hooks, cookies) and body."""
    headers, sent_headers = client.outgoing_headers(req)
    merged = dict(headers or {})
    if jar is not None:
        cookies = jar.filter_cookies(req.url)
        if cookies:
            text = "; ".join(f"{name}={morsel.coded_value}" for name, morsel in cookies.items())
            merged["Cookie"] = f"{merged['Cookie']}; {text}" if "Cookie" in merged else text
    try:
        body = None if req.json is None else _json.dumps(req.json).encode()
    except (TypeError, ValueError) as exc:  # recorded as the request's error, as aiohttp's is
        out = Outgoing(index, req, merged, sent_headers, None, jar)
        out.started_at, out.start = time.time(), monotonic()
        out.fail("other", f"invalid request: body is not JSON: {exc}", False)
        return out
    return Outgoing(index, req, merged, sent_headers, body, jar)
