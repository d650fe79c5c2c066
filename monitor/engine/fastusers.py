"""Per-VU keep-alive connections of the fast path, producing ordinary ``RequestRecord``s.

Which requests qualify is decided once per runner (:func:`fast_path_refusal`): plain
``http://`` (TLS stays with aiohttp), a method with a body the lean parser can delimit (no
``HEAD``/``CONNECT``), and a connection mode the fast path serves — SHARED (no cookies) or
PER_USER (each VU's cookies in the jar of its aiohttp session, see :mod:`fastfollow`). Proxies
never decide: soakmon's aiohttp sessions do not use any (``trust_env`` is off). Redirects are
followed like aiohttp does (:func:`fastfollow.follow`). What differs on the wire: the fast
path asks for no compression (aiohttp offers gzip/deflate and counts decompressed bytes; an
identity answer has the same count).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from time import monotonic

from aiohttp.abc import AbstractCookieJar

from monitor.engine.client import HttpClient, PreparedRequest
from monitor.engine.fastconnect import connect
from monitor.engine.fastfollow import (
    REDIRECTS,
    Followed,
    cookie_header,
    follow,
    location,
    set_cookies,
)
from monitor.engine.fastpath import Connection, FastError, resend_on_new_connection
from monitor.engine.fastrequest import encode_request, supports
from monitor.engine.sessions import ConnectionMode
from monitor.engine.spec import RequestRecord


def fast_path_refusal(client: HttpClient, requests: list[PreparedRequest]) -> str | None:
    """Why ``requests`` cannot go through the fast path of ``client`` (None: they can)."""
    if not client.fast_path:
        return "the fast path is off"
    if client.mode is ConnectionMode.PER_REQUEST:
        return "per-request connections (a new connection for every request) are aiohttp's"
    for req in requests:
        scheme = req.url.scheme
        if scheme != "http":
            return f"{req.name}: {scheme}:// needs aiohttp's TLS (the fast path is plain HTTP)"
        if not supports(req.method, scheme):
            return f"{req.name}: {req.method} answers have no body the lean parser can delimit"
        if client.mode is ConnectionMode.PER_USER and any(
            k.lower() == "cookie" for k in (req.headers or {})
        ):
            return f"{req.name}: a Cookie header merged with the user's cookie jar is aiohttp's"
    return None


def fast_path_applies(client: HttpClient, requests: list[PreparedRequest]) -> bool:
    """Whether ``requests`` go through the fast path of ``client``."""
    return fast_path_refusal(client, requests) is None


class FastUsers:
    """One keep-alive connection per virtual user; requests go through :mod:`fastpath`."""

    def __init__(self, client: HttpClient, *, cache_payloads: bool = True) -> None:
        self.client = client
        self._conns: dict[int, Connection] = {}
        self._payloads: dict[int, bytes] = {}
        self._cache = cache_payloads
        """Keep each request's bytes by ``id(req)``: only for requests prepared once and kept
        alive for the whole run (a runner's); a request prepared per call may reuse the id of
        a collected one."""
        self._cookies = client.mode is ConnectionMode.PER_USER
        self._jars: dict[int, AbstractCookieJar] = {}
        self.redirects = 0
        """Requests answered by a redirect, whose chain aiohttp finished."""

    def payload(
        self, req: PreparedRequest, cookie: str | None = None
    ) -> tuple[bytes, dict[str, str] | None]:
        """``req``'s bytes (cached unless hooks or cookies add headers) and the headers
        before_send listeners added."""
        cache = self._cache and cookie is None
        if cache and not self.client.hooks.has_before_send:  # the cached bytes
            cached = self._payloads.get(id(req))
            if cached is not None:
                return cached, None
        headers, sent_headers = self.client.outgoing_headers(req)
        if sent_headers is None and cache:
            cached = self._payloads.get(id(req))
            if cached is not None:
                return cached, None
        if cookie is not None:
            headers = {**(headers or {}), "Cookie": cookie}
        url = req.url
        target = url.raw_path_qs or "/"
        host = url.raw_host or ""
        if url.explicit_port:
            host = f"{host}:{url.port}"
        payload = encode_request(req.method, target, host, headers, req.json)
        if sent_headers is None and cache:
            self._payloads[id(req)] = payload
        return payload, sent_headers

    async def execute(
        self, req: PreparedRequest, vu: int, intended_start: float | None
    ) -> RequestRecord:
        """Send ``req`` on virtual user ``vu``'s connection; never raises transport errors."""
        client = self.client
        status: int | None = None
        nbytes = 0
        body: bytes | None = None
        headers: Mapping[str, str] | None = None
        error = kind = None
        sent = True
        sent_headers: Mapping[str, str] | None = None
        started_at = time.time()
        start = monotonic()
        try:
            jar = self._jars.get(vu) if self._cookies else None
            try:
                cookie = cookie_header(jar, req.url) if jar is not None else None
                payload, sent_headers = self.payload(req, cookie)
            except (ValueError, TypeError) as exc:  # e.g. a header with a line break
                raise FastError("other", f"invalid request: {exc}", False) from None
            conn = self._conns.get(vu)
            reused = conn is not None and not conn.closed
            if conn is None or not reused:
                conn = await self._connect(req, vu)
            remaining = req.timeout_s - (monotonic() - start)
            try:
                status, nbytes, body, headers = await conn.request(
                    payload, req.timeout_s, remaining, client.keep_body
                )
            except FastError as exc:
                if not (reused and resend_on_new_connection(exc, conn, req.method)):
                    raise
                conn = await self._connect(req, vu)  # the server had closed it: once more
                remaining = req.timeout_s - (monotonic() - start)
                status, nbytes, body, headers = await conn.request(
                    payload, req.timeout_s, remaining, client.keep_body
                )
            if self._cookies or status in REDIRECTS:
                hop = await self._after(
                    req, vu, conn, status=status, start=start, sent_headers=sent_headers
                )
                if hop is not None:
                    status, nbytes, body, headers = hop.status, hop.nbytes, hop.body, hop.headers
                    error, kind, sent = hop.error, hop.kind, hop.sent
        except FastError as exc:
            kind, error, sent = exc.kind, exc.message, exc.sent
            status = None
        return client.make_record(
            req, started_at, start, intended_start, status, nbytes, body, headers,
            error, kind, sent, sent_headers,
        )  # fmt: skip

    async def _connect(self, req: PreparedRequest, vu: int) -> Connection:
        """A new connection for ``vu`` (replacing its old one)."""
        old = self._conns.pop(vu, None)
        if old is not None:
            old.close()
        url = req.url
        limit = req.timeout_s * 0.99
        conn = await connect(url.raw_host or "", url.port or 80, req.timeout_s, limit)
        self._conns[vu] = conn
        return conn

    async def _after(
        self,
        req: PreparedRequest,
        vu: int,
        conn: Connection,
        *,
        status: int,
        start: float,
        sent_headers: Mapping[str, str] | None,
    ) -> Followed | None:
        """Keep the answer's cookies; follow a redirect (None: the answer stands)."""
        head = conn.head()
        if self._cookies and (values := set_cookies(head)):
            jar = await self._jar(vu)
            jar.update_cookies_from_headers(values, req.url)
        if status not in REDIRECTS or (target := location(head)) is None:
            return None
        self.redirects += 1
        session = await self.client.sessions.acquire(vu)
        headers = {**(req.headers or {}), **(sent_headers or {})}  # what the first hop sent
        remaining = req.timeout_s - (monotonic() - start)
        return await follow(
            self.client, session, req, status=status, target=target, headers=headers,
            remaining_s=remaining,
        )  # fmt: skip

    async def _jar(self, vu: int) -> AbstractCookieJar:
        jar = self._jars.get(vu)
        if jar is None:  # the jar of the user's aiohttp session: one jar for both transports
            jar = self._jars[vu] = (await self.client.sessions.acquire(vu)).cookie_jar
        return jar

    def release(self, vu: int) -> None:
        """Forget (and close) ``vu``'s connection."""
        conn = self._conns.pop(vu, None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        """Close every connection."""
        conns, self._conns = self._conns, {}
        for conn in conns.values():
            conn.close()
