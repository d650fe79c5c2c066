"""What every scenario shares: the violation list, status counting, ledger checks, metrics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.plugins.api import Client, Response

Violations = list[str]
"""``"<tag>: text"`` entries; the tag names the broken guarantee."""


@dataclass(frozen=True)
class Scenario:
    name: str
    run: Callable[[aiohttp.ClientSession, str], Awaitable[Violations]]


def count_outcomes(responses: list[Response]) -> Counter[tuple[int, str | None]]:
    def key(r: Response) -> tuple[int, str | None]:
        return (r.status, r.body.get("error") if isinstance(r.body, dict) else None)

    return Counter(key(r) for r in responses)


def expect_statuses(
    got: list[Response], want: Counter[tuple[int, str | None]], out: Violations
) -> None:
    seen = count_outcomes(got)
    if seen != want:
        out.append(f"statuses: expected {dict(want)}, got {dict(seen)}")


async def ledger_vs_balance(client: Client, out: Violations) -> tuple[int, list[dict[str, Any]]]:
    balance = await client.balance()
    ledger = await client.ledger()
    total = sum(row["amount"] for row in ledger)
    if total != balance:
        out.append(f"ledger: balance {balance} != ledger sum {total} ({len(ledger)} rows)")
    if balance < 0:
        out.append(f"balance: negative balance {balance}")
    return balance, ledger


async def metric_value(http: aiohttp.ClientSession, base: str, name: str, **labels: str) -> float:
    async with http.get(base + "/metrics") as resp:
        text = await resp.text()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    raise AssertionError(f"metric {name}{labels} not exposed")
