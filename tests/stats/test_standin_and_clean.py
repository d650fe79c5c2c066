"""The wallet stand-in's sleep-free races are caught in at least 19 of 20 runs, and 20 clean
runs (the reference target at window 0, the correct wallet) raise no alarm (``make stats``)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.plugins.postgres import PostgresServer, create_database, drop_database
from tests.stats.conftest import TRIALS, Settings
from tests.stats.detection import WALLET_ROWS, Row, Trial, clean_run, wallet_trial

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
REQUIRED_SHARE = 19 / 20


@pytest.fixture
async def fresh_db(
    request: pytest.FixtureRequest,
) -> AsyncIterator[Callable[[str], Awaitable[str | None]]]:
    """``await fresh_db(kind)``: None for SQLite (the target makes its own), else the URL of a
    new PostgreSQL database, dropped at teardown."""
    made: list[tuple[PostgresServer, str]] = []

    async def make(kind: str) -> str | None:
        if kind == "sqlite":
            return None
        pg: PostgresServer = request.getfixturevalue("postgres_server")
        url = await create_database(pg)
        made.append((pg, url))
        return url

    yield make
    for pg, url in made:
        await drop_database(pg, url)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("db", DATABASES)
@pytest.mark.parametrize("row", WALLET_ROWS, ids=lambda r: r.name)
async def test_wallet_race_without_sleep_is_caught(
    row: Row,
    db: str,
    stats: Settings,
    fresh_db: Callable[[str], Awaitable[str | None]],
) -> None:
    caught = 0
    for seed in range(stats.runs):
        result = await wallet_trial(
            row,
            db,
            await fresh_db(db),
            seed=seed,
            attempts=stats.attempts,
            delivery=stats.delivery,
        )
        TRIALS.append(result)
        caught += result.outcome == "caught"
    needed = math.ceil(REQUIRED_SHARE * stats.runs)
    assert caught >= needed, f"{row.name} on {db}: caught in {caught} of {stats.runs} runs"


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("db", DATABASES)
@pytest.mark.parametrize("target", ["reference", "wallet"])
async def test_clean_runs_raise_no_alarm(
    target: str,
    db: str,
    stats: Settings,
    fresh_db: Callable[[str], Awaitable[str | None]],
) -> None:
    alarms: list[Trial] = []
    for seed in range(stats.runs):
        result = await clean_run(
            target,
            db,
            await fresh_db(db),
            seed=seed,
            attempts=stats.attempts,
            delivery=stats.delivery,
        )
        TRIALS.append(result)
        if result.outcome != "clean":
            alarms.append(result)
    assert not alarms, "\n".join(f"{t.row} on {t.db}: {t.detail}" for t in alarms)
