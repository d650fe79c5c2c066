"""A small client of Toxiproxy's HTTP API (aiohttp): proxies and their toxics.

Toxiproxy (github.com/Shopify/toxiproxy, v2.5) is a TCP proxy that a fault is injected into by
adding a *toxic* to one of its proxies; removing the toxic removes the fault. ``make test``
builds ``toxiproxy-server`` and ``toxiproxy-cli`` into ``.tools/bin``.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from monitor.chaos.errors import ActionError

TIMEOUT = aiohttp.ClientTimeout(total=10)


class Toxiproxy:
    """The API at ``url`` (e.g. ``http://127.0.0.1:8474``)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    async def _call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        try:
            async with (
                aiohttp.ClientSession(timeout=TIMEOUT) as http,
                http.request(method, f"{self.url}{path}", json=body) as resp,
            ):
                text = await resp.text()
                try:
                    data: Any = await resp.json(content_type=None) if text else None
                except ValueError:
                    data = text
                return resp.status, data
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ActionError(f"toxiproxy API {self.url}: {exc or type(exc).__name__}") from None

    def _fail(self, what: str, status: int, data: Any) -> ActionError:
        detail = data.get("error") if isinstance(data, dict) else data
        return ActionError(f"toxiproxy {what}: HTTP {status}: {detail}")

    async def proxies(self) -> dict[str, Any]:
        status, data = await self._call("GET", "/proxies")
        if status != 200 or not isinstance(data, dict):
            raise self._fail("list proxies", status, data)
        return data

    async def ensure_proxy(self, name: str, listen: str | None, upstream: str | None) -> None:
        """The proxy must exist; with ``listen`` and ``upstream`` it is created when missing."""
        existing = await self.proxies()
        if name in existing:
            return
        if listen is None or upstream is None:
            names = ", ".join(sorted(existing)) or "none"
            raise ActionError(
                f"toxiproxy {self.url} has no proxy {name!r} (proxies: {names}); create it, "
                "or give `listen` and `upstream` so soakmon creates it"
            )
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": True}
        status, data = await self._call("POST", "/proxies", body)
        if status not in (200, 201, 409):
            raise self._fail(f"create proxy {name!r}", status, data)

    async def add_toxic(self, proxy: str, toxic: dict[str, Any]) -> None:
        status, data = await self._call("POST", f"/proxies/{proxy}/toxics", toxic)
        if status == 409:  # already there (a retried inject): replace it
            await self.remove_toxic(proxy, toxic["name"])
            status, data = await self._call("POST", f"/proxies/{proxy}/toxics", toxic)
        if status != 200:
            raise self._fail(f"add toxic to {proxy!r}", status, data)

    async def remove_toxic(self, proxy: str, name: str) -> None:
        """Idempotent: a toxic (or proxy) that is gone already is fine."""
        status, data = await self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")
        if status not in (200, 204, 404):
            raise self._fail(f"remove toxic {name!r} from {proxy!r}", status, data)

    async def toxics(self, proxy: str) -> list[dict[str, Any]]:
        status, data = await self._call("GET", f"/proxies/{proxy}/toxics")
        if status != 200 or not isinstance(data, list):
            raise self._fail(f"list toxics of {proxy!r}", status, data)
        return data


__all__ = ["Toxiproxy"]
