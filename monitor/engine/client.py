"""``HttpClient``: prepares and performs single requests; never raises transport errors."""

from __future__ import annotations

import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from time import monotonic
from typing import Any

import aiohttp
from yarl import URL

from monitor.engine.configerror import EngineConfigError
from monitor.engine.errors import MAX_KEPT_BODY, ResponseTooLarge, classify
from monitor.engine.hooks import RequestHooks
from monitor.engine.sessions import CONNECTING, POOLS, ConnectionMode, SessionPool
from monitor.engine.spec import ErrorKind, RequestRecord, RequestSpec


def parse_base_url(base_url: str) -> URL:
    """``base_url`` as a URL, or :class:`EngineConfigError` naming what is wrong."""
    try:
        url = URL(base_url)
    except (ValueError, TypeError) as exc:
        raise EngineConfigError(f"invalid target URL {base_url!r}: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise EngineConfigError(
            f"invalid target URL {base_url!r}: expected http:// or https:// with a host"
        )
    return url


def client_timeout(seconds: float) -> aiohttp.ClientTimeout:
    """Total timeout ``seconds``; the connect phase gives up 1 % earlier (on an idle machine
    its own timer then fires first). Which phase timed out is known from
    :data:`~monitor.engine.sessions.CONNECTING`, not from which timer fired."""
    if not seconds > 0:
        raise EngineConfigError(f"timeout must be a positive number of seconds, got {seconds!r}")
    return aiohttp.ClientTimeout(total=seconds, connect=seconds * 0.99, ceil_threshold=1e9)


async def read_kept(resp: aiohttp.ClientResponse, limit: int = MAX_KEPT_BODY) -> bytes:
    """The whole body, or :class:`ResponseTooLarge` once it passes ``limit`` (the connection
    is then closed, not drained)."""
    if resp.content_length is not None and resp.content_length > limit:
        resp.close()
        raise ResponseTooLarge("response body", limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > limit:
            resp.close()
            raise ResponseTooLarge("response body", limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_counted(resp: aiohttp.ClientResponse) -> int:
    """Read the body chunk by chunk, keeping none of it; its size."""
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
    return size


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """A ``RequestSpec`` with its URL, headers and timeout resolved once."""

    spec: RequestSpec
    name: str
    method: str
    url: URL
    url_text: str
    json: Any
    headers: Mapping[str, str] | None
    timeout: aiohttp.ClientTimeout
    timeout_s: float


class HttpClient:
    """Sessions (per connection mode), hooks and the single-request hot path."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        mode: ConnectionMode | str = ConnectionMode.PER_REQUEST,
        keep_body: bool = False,
        hooks: RequestHooks | None = None,
        headers: Mapping[str, str] | None = None,
        pool_limit: int = 0,
        fast_path: bool = False,
        ca_file: str | None = None,
        verify_tls: bool = True,
    ) -> None:
        self.base_url = parse_base_url(base_url)
        self.ca_file = ca_file
        """PEM file of the CAs trusted for https targets (default: the system's trust store;
        OpenSSL also honours ``SSL_CERT_FILE``)."""
        self.verify_tls = verify_tls
        """False: accept any certificate (a self-signed staging target)."""
        self.fast_path = fast_path
        """Let runners send plain-HTTP requests of a SHARED or PER_USER client through the lean
        :mod:`monitor.engine.fastpath` transport (one keep-alive connection per VU; a PER_USER
        VU's cookies in its aiohttp session's jar)."""
        self.timeout = float(timeout)
        self._default_timeout = client_timeout(self.timeout)
        self.mode = ConnectionMode.parse(mode)
        self.keep_body = keep_body
        self.hooks = hooks if hooks is not None else RequestHooks()
        self._headers = dict(headers) if headers else None
        self.sessions: SessionPool = POOLS[self.mode](pool_limit, self.tls_context())

    def tls_context(self, alpn: list[str] | None = None) -> ssl.SSLContext | None:
        """A fresh TLS context with the client's trust settings offering ``alpn``; ``None``
        when nothing differs from the defaults (aiohttp then uses its own)."""
        if alpn is None and self.ca_file is None and self.verify_tls:
            return None
        try:
            context = ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise EngineConfigError(f"CA file {self.ca_file}: {exc}") from None
        if not self.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if alpn:
            context.set_alpn_protocols(alpn)
        return context

    def resolve(self, path: str) -> URL:
        """``path`` joined to the base URL (absolute http(s) URLs are used as they are)."""
        if path.startswith(("http://", "https://")):
            return URL(path)
        base = self.base_url
        base_path = base.path.rstrip("/")
        rel = URL(path if path.startswith("/") else "/" + path)
        return base.with_path(base_path + rel.path, encoded=False).with_query(rel.query)

    def prepare(self, spec: RequestSpec) -> PreparedRequest:
        """Resolve ``spec`` once so that sending it many times stays cheap."""
        if spec.timeout is None:
            timeout, timeout_s = self._default_timeout, self.timeout
        else:
            timeout, timeout_s = client_timeout(spec.timeout), float(spec.timeout)
        headers: Mapping[str, str] | None = spec.headers
        for key, value in (headers or {}).items():
            if not key or any(c in f"{key}{value}" for c in "\r\n\0"):
                raise EngineConfigError(f"header {key!r}: names and values cannot hold line breaks")
        if self._headers:
            headers = {**self._headers, **(spec.headers or {})}
        url = self.resolve(spec.path)
        return PreparedRequest(
            spec=spec,
            name=spec.label,
            method=spec.method.upper(),
            url=url,
            url_text=str(url),
            json=spec.json,
            headers=headers,
            timeout=timeout,
            timeout_s=timeout_s,
        )

    async def execute(
        self,
        req: PreparedRequest,
        session: aiohttp.ClientSession,
        intended_start: float | None = None,
        trace_ctx: object = None,
    ) -> RequestRecord:
        """Send ``req`` through ``session`` and record what happened (``trace_ctx``: aiohttp's
        ``trace_request_ctx``). Never raises (except cancellation)."""
        headers, sent_headers = self.outgoing_headers(req)
        status: int | None = None
        nbytes = 0
        body: bytes | None = None
        resp_headers: Mapping[str, str] | None = None
        error: str | None = None
        kind: ErrorKind | None = None
        sent = True
        started_at = time.time()
        start = monotonic()
        try:
            async with session.request(
                req.method,
                req.url,
                json=req.json,
                headers=headers,
                timeout=req.timeout,
                trace_request_ctx=trace_ctx,
            ) as resp:
                status = resp.status
                if self.keep_body:
                    body = await read_kept(resp)
                    nbytes = len(body)
                    resp_headers = resp.headers
                else:
                    nbytes = await read_counted(resp)
        except Exception as exc:
            kind, error, sent = classify(exc, req.timeout_s, connecting=CONNECTING.get())
        return self.make_record(
            req, started_at, start, intended_start, status, nbytes, body, resp_headers,
            error, kind, sent, sent_headers,
        )  # fmt: skip

    def outgoing_headers(
        self, req: PreparedRequest
    ) -> tuple[Mapping[str, str] | None, dict[str, str] | None]:
        """``(headers to send, headers added by before_send listeners or None)``."""
        if not self.hooks.has_before_send:
            return req.headers, None
        extra = self.hooks.before_send(req.spec)
        if not extra:
            return req.headers, None
        return {**(req.headers or {}), **extra}, extra

    def make_record(  # noqa: PLR0917  (hot path: positional arguments are cheapest)
        self,
        req: PreparedRequest,
        started_at: float,
        start: float,
        intended_start: float | None,
        status: int | None,
        nbytes: int,
        body: bytes | None,
        resp_headers: Mapping[str, str] | None,
        error: str | None,
        kind: ErrorKind | None,
        sent: bool,
        sent_headers: Mapping[str, str] | None,
        end: float | None = None,
    ) -> RequestRecord:
        """The record of a finished request (duration until ``end``, default now); fires
        ``request_done``."""
        if end is None:
            end = monotonic()
        ref = start if intended_start is None else intended_start
        record = RequestRecord(
            name=req.name,
            method=req.method,
            url=req.url_text,
            started_at=started_at,
            start=start,
            intended_start=intended_start,
            duration_ms=(end - ref) * 1000.0,
            status=status,
            bytes_received=nbytes,
            error=error,
            error_kind=kind,
            sent=sent,
            body=body,
            headers=resp_headers,
            sent_headers=sent_headers,
        )
        if self.hooks.has_request_done:
            self.hooks.request_done(record)
        return record

    async def send(
        self,
        spec: RequestSpec | PreparedRequest,
        user: int = 0,
        intended_start: float | None = None,
    ) -> RequestRecord:
        """One request through virtual user ``user``'s session."""
        req = spec if isinstance(spec, PreparedRequest) else self.prepare(spec)
        session = await self.sessions.acquire(user)
        try:
            return await self.execute(req, session, intended_start)
        finally:
            await self.sessions.release(session)

    async def aclose(self) -> None:
        """Close every session."""
        await self.sessions.aclose()
