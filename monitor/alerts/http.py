"""Posting JSON to a receiver with its timeout, authentication and TLS options.

Credentials are read at every post (a rotated secret is picked up) and never appear in a log
line or an error message; URLs are shown without any user-info part.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.parse
from typing import Any

import aiohttp

from monitor.alerts.config import SecretMissingError, _Receiver
from monitor.alerts.delivery import DeliveryError

USER_AGENT = "soakmon-alerts"


def safe_url(url: str) -> str:
    """``url`` without user-info, query or fragment (for messages and metric labels)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def auth_headers(cfg: _Receiver) -> dict[str, str]:
    """The Authorization header of ``cfg`` read now; :class:`DeliveryError` names the source
    of a missing secret."""
    try:
        if cfg.bearer_token is not None:
            return {"Authorization": f"Bearer {cfg.bearer_token.read()}"}
        if cfg.basic_auth is not None:
            pair = f"{cfg.basic_auth.username}:{cfg.basic_auth.password.read()}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    except SecretMissingError as exc:
        raise DeliveryError(f"credentials: {exc}") from None
    return {}


class JsonPoster:
    """One aiohttp session per receiver, created on first use."""

    def __init__(self, name: str, url: str, cfg: _Receiver) -> None:
        self.name = name
        self.url = url
        self.cfg = cfg
        self._ssl: ssl.SSLContext | None = cfg.tls.context() if cfg.tls is not None else None
        self._session: aiohttp.ClientSession | None = None

    async def post_json(self, body: Any) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.cfg.timeout),
                headers={"User-Agent": USER_AGENT},
            )
        headers = {"Content-Type": "application/json", **auth_headers(self.cfg)}
        data = json.dumps(body, separators=(",", ":"))
        where = safe_url(self.url)
        try:
            async with self._session.post(
                self.url, data=data, headers=headers, ssl=self._ssl if self._ssl else True
            ) as resp:
                if resp.status >= 300:
                    text = (await resp.text(errors="replace"))[:200].strip()
                    raise DeliveryError(f"{where}: HTTP {resp.status}: {text}")
        except TimeoutError:
            raise DeliveryError(f"{where}: no answer within {self.cfg.timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}") from None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
