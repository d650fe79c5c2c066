"""Concurrency guarantees of reference-api.md on SQLite and PostgreSQL, through HTTP only.

Each scenario fires its requests truly at once (one connection per request, released together)
and reports every guarantee it saw broken; test_faults.py proves the same scenarios catch bugs.
"""

from __future__ import annotations

import aiohttp
import pytest

from tests.plugins.reference import ReferenceFactory
from tests.plugins.scenarios import SCENARIOS, metric_value, transfer_storm

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("name", sorted(set(SCENARIOS) - {"transfer-storm"}))
async def test_scenario_keeps_every_guarantee(
    any_db_reference_url: str, http: aiohttp.ClientSession, name: str
) -> None:
    violations = await SCENARIOS[name].run(http, any_db_reference_url)
    assert violations == []


async def test_opposite_transfers_all_succeed_on_sqlite(
    reference_url: str, http: aiohttp.ClientSession
) -> None:
    assert await transfer_storm(http, reference_url, n=50) == []


@pytest.mark.slow
@pytest.mark.postgres
async def test_opposite_transfers_deadlock_and_are_retried_on_postgres(
    reference_factory: ReferenceFactory, http: aiohttp.ClientSession
) -> None:
    base = await reference_factory(db="postgres")
    deadlocks = 0.0
    for _ in range(3):  # deadlocks are likely with 50 at once, but not certain: bounded retries
        assert await transfer_storm(http, base, n=50) == []
        deadlocks = await metric_value(http, base, "reference_tx_retries_total", cause="deadlock")
        if deadlocks > 0:
            break
    assert deadlocks > 0, "50 opposite transfers never deadlocked: is transfer locking both rows?"
