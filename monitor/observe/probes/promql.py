"""Instant PromQL queries against a Prometheus HTTP API."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp

from monitor.engine.client import read_kept
from monitor.engine.errors import ResponseTooLarge, one_line
from monitor.observe.probes.base import ProbeError


def first_value(payload: Mapping[str, Any]) -> float | None:
    """The value of an instant query's scalar, or the sum of its vector (None when empty)."""
    if payload.get("status") != "success":
        raise ValueError(payload.get("error") or "query failed")
    data = payload.get("data") or {}
    kind = data.get("resultType")
    result: Any = data.get("result")
    if kind == "scalar":
        return float(result[1])
    if kind == "vector":
        if not result:
            return None
        return sum(float(item["value"][1]) for item in result)
    raise ValueError(f"unsupported result type {kind!r}")


class PromQLProbe:
    """Evaluates named PromQL expressions (``/api/v1/query``); empty results are left out."""

    def __init__(
        self, name: str, url: str, queries: Mapping[str, str], *, timeout_s: float = 10.0
    ) -> None:
        self.name = name
        self.url = url.rstrip("/")
        self.queries = dict(queries)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def read(self) -> dict[str, float]:
        out: dict[str, float] = {}
        async with aiohttp.ClientSession(timeout=self._timeout) as session:
            for key, expr in self.queries.items():
                try:
                    async with session.get(
                        f"{self.url}/api/v1/query", params={"query": expr}
                    ) as resp:
                        payload = json.loads(await read_kept(resp))
                except (aiohttp.ClientError, TimeoutError, ValueError, RecursionError) as exc:
                    detail = one_line(str(exc)) or type(exc).__name__
                    raise ProbeError(f"{self.name}: cannot query {self.url}: {detail}") from exc
                except ResponseTooLarge as exc:
                    raise ProbeError(f"{self.name}: cannot query {self.url}: {exc}") from exc
                try:
                    value = first_value(payload)
                except (ValueError, KeyError, TypeError, IndexError) as exc:
                    raise ProbeError(f"{self.name}: query {key!r} ({expr}): {exc}") from exc
                if value is not None:
                    out[key] = value
        return out
