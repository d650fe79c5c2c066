"""Per-VU keep-alive connections of the fast path, producing ordinary ``RequestRecord``s."""

from __future__ import annotations

import time
from collections.abc import Mapping
from time import monotonic

from monitor.engine.client import HttpClient, PreparedRequest
from monitor.engine.fastpath import Connection, FastError, connect, encode_request, supports
from monitor.engine.sessions import ConnectionMode
from monitor.engine.spec import RequestRecord


def fast_path_applies(client: HttpClient, requests: list[PreparedRequest]) -> bool:
    """The fast path serves shared-mode clients that asked for it, for plain-HTTP requests."""
    return (
        client.fast_path
        and client.mode is ConnectionMode.SHARED
        and all(supports(r.method, r.url.scheme) for r in requests)
    )


class FastUsers:
    """One keep-alive connection per virtual user; requests go through :mod:`fastpath`."""

    def __init__(self, client: HttpClient) -> None:
        self.client = client
        self._conns: dict[int, Connection] = {}
        self._payloads: dict[int, bytes] = {}

    def _payload(self, req: PreparedRequest) -> tuple[bytes, dict[str, str] | None]:
        if not self.client.hooks.has_before_send:  # the common case: the cached bytes
            cached = self._payloads.get(id(req))
            if cached is not None:
                return cached, None
        headers, sent_headers = self.client.outgoing_headers(req)
        if sent_headers is None:
            cached = self._payloads.get(id(req))
            if cached is not None:
                return cached, None
        url = req.url
        target = url.raw_path_qs or "/"
        host = url.raw_host or ""
        if url.explicit_port:
            host = f"{host}:{url.port}"
        payload = encode_request(req.method, target, host, headers, req.json)
        if sent_headers is None:
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
            try:
                payload, sent_headers = self._payload(req)
            except (ValueError, TypeError) as exc:  # e.g. a header with a line break
                raise FastError("other", f"invalid request: {exc}", False) from None
            conn = self._conns.get(vu)
            if conn is None or conn.closed:
                url = req.url
                limit = req.timeout_s * 0.99
                conn = await connect(url.raw_host or "", url.port or 80, req.timeout_s, limit)
                self._conns[vu] = conn
            remaining = req.timeout_s - (monotonic() - start)
            status, nbytes, body, headers = await conn.request(
                payload, req.timeout_s, remaining, client.keep_body
            )
        except FastError as exc:
            kind, error, sent = exc.kind, exc.message, exc.sent
            status = None
        return client.make_record(
            req, started_at, start, intended_start, status, nbytes, body, headers,
            error, kind, sent, sent_headers,
        )  # fmt: skip

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
