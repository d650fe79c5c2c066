"""The bytes of a fast-path request, and which requests the fast path takes."""

from __future__ import annotations

import json as _json
from collections.abc import Mapping

from monitor import __version__

USER_AGENT = f"soakmon/{__version__}"


def supports(method: str, scheme: str) -> bool:
    """Whether a request can take the fast path."""
    return scheme == "http" and method not in ("HEAD", "CONNECT")


def encode_request(
    method: str,
    target: str,
    host: str,
    headers: Mapping[str, str] | None,
    json_body: object,
) -> bytes:
    """The request head and body as bytes."""
    body = b"" if json_body is None else _json.dumps(json_body).encode()
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    given = {k.lower() for k in headers} if headers else set()
    if "user-agent" not in given:
        lines.append(f"User-Agent: {USER_AGENT}")
    if "accept" not in given:
        lines.append("Accept: */*")
    if json_body is not None and "content-type" not in given:
        lines.append("Content-Type: application/json")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    if headers:
        for key, value in headers.items():
            if "\r" in key or "\n" in key or "\r" in value or "\n" in value:
                raise ValueError(f"header {key!r} contains a line break")
            lines.append(f"{key}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
