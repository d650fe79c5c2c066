"""What aiohttp does around an answer that the fast path must do alike: a virtual user's
cookies, and redirects.

- **Cookies** (PER_USER only; SHARED keeps none, like aiohttp's shared session): every
  ``Set-Cookie`` of an answer goes into the user's jar, which is *the jar of that user's aiohttp
  session* (``aiohttp.CookieJar``, created on the first cookie), and every later request of the
  user carries what that jar selects for its URL as ``Cookie`` — aiohttp's own expiry, domain,
  path and secure rules, shared with any request of the user that goes through aiohttp.
- **Redirects**: aiohttp follows 301/302/303/307/308 with a ``Location`` (up to 10). The fast
  path reads the first redirect itself, then hands the rest of the chain to the user's aiohttp
  session: the next hop's method and body follow aiohttp's rules (303, and 301/302 after a
  POST, become a body-less GET), and credentials are dropped across origins. The record is the
  one aiohttp would make: the final answer's status and bytes, the time from the first byte
  sent, the error of any hop.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from yarl import URL

from monitor.engine.client import HttpClient, PreparedRequest, read_counted, read_kept
from monitor.engine.errors import classify
from monitor.engine.spec import ErrorKind

REDIRECTS = frozenset({301, 302, 303, 307, 308})
"""The statuses aiohttp follows."""
MAX_REDIRECTS = 10
"""aiohttp's default ``max_redirects``."""

_SET_COOKIE = re.compile(rb"\r\nset-cookie[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE)
_LOCATION = re.compile(rb"\r\n(location|uri)[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE)
_DROPPED_ACROSS_ORIGINS = frozenset({"authorization", "cookie", "proxy-authorization"})


@dataclass(frozen=True, slots=True)
class Followed:
    """How a followed redirect chain ended: the final answer, or a hop's transport error."""

    status: int | None = None
    nbytes: int = 0
    body: bytes | None = None
    headers: Mapping[str, str] | None = None
    error: str | None = None
    kind: ErrorKind | None = None
    sent: bool = True


def set_cookies(head: bytes) -> tuple[str, ...]:
    """The ``Set-Cookie`` values of a raw response head (none: an empty tuple)."""
    return tuple(
        m.group(1).rstrip(b" \t").decode("utf-8", "surrogateescape")
        for m in _SET_COOKIE.finditer(head)
    )


def location(head: bytes) -> str | None:
    """Where a redirect points (``Location``, else aiohttp's fallback ``URI``), or None."""
    found = {m.group(1).lower(): m.group(2) for m in _LOCATION.finditer(head)}
    raw = found.get(b"location") or found.get(b"uri")
    return raw.rstrip(b" \t").decode("utf-8", "surrogateescape") if raw else None


def cookie_header(jar: aiohttp.abc.AbstractCookieJar, url: URL) -> str | None:
    """The ``Cookie`` header aiohttp would send to ``url`` from ``jar`` (None: no cookie)."""
    from http.cookies import SimpleCookie

    chosen = jar.filter_cookies(url)
    if not chosen:
        return None
    out: SimpleCookie = SimpleCookie()
    for name, morsel in chosen.items():
        out[name] = morsel  # a Morsel keeps the coded value exactly as the server sent it
    return out.output(header="", sep=";").strip() or None


def next_hop(
    req: PreparedRequest, status: int, target: str, headers: Mapping[str, str] | None
) -> tuple[str, URL, object, dict[str, str]]:
    """``(method, url, json body, headers)`` of the request that follows a redirect, as aiohttp
    builds it (and its errors for a location that is no URL or not http(s))."""
    method, body = req.method, req.json
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
    try:
        url = URL(target, encoded=False)
    except ValueError:
        raise aiohttp.InvalidUrlRedirectClientError(
            target, "Server attempted redirecting to a location that does not look like a URL"
        ) from None
    if url.scheme not in ("http", "https", ""):
        raise aiohttp.NonHttpUrlRedirectClientError(target)
    if not url.scheme:
        url = req.url.join(url)
    kept = dict(headers or {})
    if url.scheme in ("http", "https") and url.host and url.origin() != req.url.origin():
        kept = {k: v for k, v in kept.items() if k.lower() not in _DROPPED_ACROSS_ORIGINS}
    return method, url, body, kept


async def follow(
    client: HttpClient,
    session: aiohttp.ClientSession,
    req: PreparedRequest,
    *,
    status: int,
    target: str,
    headers: Mapping[str, str] | None,
    remaining_s: float,
) -> Followed:
    """The rest of a redirect chain through ``session`` (aiohttp follows further hops)."""
    try:
        method, url, body, kept = next_hop(req, status, target, headers)
        if remaining_s <= 0:
            raise TimeoutError
        timeout = aiohttp.ClientTimeout(total=remaining_s, ceil_threshold=1e9)
        async with session.request(
            method, url, json=body, headers=kept, timeout=timeout,
            max_redirects=MAX_REDIRECTS - 1,
        ) as resp:  # fmt: skip
            if client.keep_body:
                kept_body = await read_kept(resp)
                return Followed(resp.status, len(kept_body), kept_body, resp.headers)
            return Followed(resp.status, await read_counted(resp))
    except Exception as exc:  # a transport failure of a later hop: the request's error
        kind, message, sent = classify(exc, req.timeout_s)
        return Followed(error=message, kind=kind, sent=sent)
