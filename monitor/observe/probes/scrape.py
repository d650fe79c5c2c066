"""Scrape a target's Prometheus ``/metrics`` for a few gauges (e.g. its DB pool)."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from monitor.engine.client import read_kept
from monitor.engine.errors import ResponseTooLarge, one_line
from monitor.observe.probes.base import ProbeError

#: Default series of the reference target; any target can be mapped in the daemon config.
DEFAULT_SERIES: Mapping[str, str] = {
    "pool_size": "reference_db_pool_size",
    "pool_in_use": "reference_db_pool_in_use",
    "pool_waiting": "reference_db_pool_waiting",
    "memory_bytes": "process_resident_memory_bytes",
}


def extract(text: str, series: Mapping[str, str]) -> dict[str, float]:
    """Sum each wanted series over its label sets; series that are absent are left out."""
    wanted = {metric: key for key, metric in series.items()}
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = wanted.get(sample.name)
            if key is not None:
                out[key] = out.get(key, 0.0) + float(sample.value)
    return out


class TargetMetricsProbe:
    """Reads ``url`` (Prometheus text format) and maps series names to probe values."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        series: Mapping[str, str] = DEFAULT_SERIES,
        timeout_s: float = 5.0,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.name = name
        self.url = url
        self.series = dict(series)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session = session

    async def read(self) -> dict[str, float]:
        try:
            if self._session is None:
                async with aiohttp.ClientSession() as session:
                    text = await self._fetch(session)
            else:
                text = await self._fetch(self._session)
        except (aiohttp.ClientError, TimeoutError, ResponseTooLarge) as exc:
            cause = one_line(str(exc)) or type(exc).__name__
            raise ProbeError(f"{self.name}: cannot scrape {self.url}: {cause}") from exc
        try:
            values = extract(text, self.series)
        except (ValueError, TypeError, IndexError) as exc:
            detail = one_line(str(exc))
            raise ProbeError(f"{self.name}: {self.url} is not Prometheus text: {detail}") from exc
        missing = sorted(set(self.series) - set(values))
        if len(missing) == len(self.series):
            raise ProbeError(f"{self.name}: {self.url} has none of {sorted(self.series.values())}")
        return values

    async def _fetch(self, session: aiohttp.ClientSession) -> str:
        async with session.get(self.url, timeout=self._timeout) as resp:
            if resp.status != 200:
                raise ProbeError(f"{self.name}: {self.url} answered HTTP {resp.status}")
            body = await read_kept(resp)  # bounded: a target answering forever is an error
            return body.decode(resp.charset or "utf-8", errors="replace")
