"""The wallet stand-in of issue 17 (``wallet_server.py``, ``data/wallet-profile.yaml``): a
JSON:API-style payments API whose races have no sleep in their window.

The correct wallet passes every points and isolation scenario on SQLite and PostgreSQL and says
why the others do not apply; the racy wallet's lost update and overdraft are caught by the checks
that guard them. The 20-run rates are ``make stats`` (tests/stats).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from monitor.suites.loading.loader import LoadedSuite, load_profile, load_suite
from monitor.suites.loading.paths import builtin_suites
from monitor.suites.run.runner import RunOptions, run_suites
from tests.plugins.postgres import PostgresServer, create_database, drop_database
from tests.suites.builtin import problems, races_caught
from tests.suites.wallet_server import wallet_server

PROFILE = load_profile(Path(__file__).parent / "data" / "wallet-profile.yaml").profile
#: race -> (scenario, the check that guards it)
RACES = {
    "lost update": (
        "concurrent-points-addition",
        "no lost update (balance = start + additions = ledger)",
    ),
    "overdraft": ("concurrent-points-deduction", "balance never negative"),
}


def _suites() -> list[LoadedSuite]:
    return [load_suite(builtin_suites()[name]) for name in ("points", "isolation")]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def wallet_db(request: pytest.FixtureRequest) -> AsyncIterator[str | None]:
    """None (SQLite in memory) or the URL of a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    pg: PostgresServer = request.getfixturevalue("postgres_server")
    url = await create_database(pg)
    try:
        yield url
    finally:
        await drop_database(pg, url)


async def test_a_correct_wallet_passes_and_says_what_does_not_apply(wallet_db: str | None) -> None:
    async with wallet_server(postgres_url=wallet_db) as base:
        run = await run_suites(base, PROFILE, _suites(), RunOptions(seed=3))
    assert problems(run) == []
    status = {s.name: s.status for s in run.scenarios}
    assert [name for name, st in status.items() if st == "passed"] == [
        "concurrent-points-deduction",
        "concurrent-points-addition",
        "mixed-points-operations",
        "balance-query-during-updates",
        "read-committed-isolation",
    ]
    reasons = {s.name: s.skip_reason for s in run.scenarios if s.status == "skipped"}
    assert reasons == {
        "optimistic-locking": "profile 'wallet-example' does not provide operation "
        "tasks.create, operation tasks.get, operation tasks.update",
        "deadlock-recovery": "profile 'wallet-example' does not provide operation points.transfer",
    }


async def test_each_race_of_a_racy_wallet_is_caught_by_its_guarding_check() -> None:
    caught = await races_caught(lambda: wallet_server(racy=True), PROFILE, "points", RACES, runs=3)
    print({race: f"{caught[race]}/3" for race in RACES})  # the rates, for the record (-s)
    for race in RACES:
        assert caught[race] >= 2, f"{race}: caught in {caught[race]} of 3 runs"
