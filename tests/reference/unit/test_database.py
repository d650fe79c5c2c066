"""The database adapter on real SQLite files and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.reference.database import Database
from monitor.reference.errors import CommitUnknown, RetryLater
from monitor.reference.ops.common import credit
from monitor.reference.ops.users import register
from monitor.reference.retry import NO_RETRY
from monitor.reference.schema import SCHEMA_VERSION, balances, schema_info
from monitor.reference.urls import normalise_db_url, sqlite_file_url


def _db(url: str, **kwargs: object) -> Database:
    return Database(normalise_db_url(url).url, **kwargs)  # type: ignore[arg-type]


async def _schema_version(db: Database) -> list[int]:
    async def work(conn: AsyncConnection) -> list[int]:
        return list((await conn.execute(select(schema_info.c.version))).scalars())

    return await db.read(work)


async def _start_twice(url: str) -> None:
    first, second = _db(url), _db(url)
    try:
        await asyncio.gather(first.init_schema(), second.init_schema())
        await first.init_schema()  # and again: idempotent
        assert await _schema_version(first) == [SCHEMA_VERSION]
    finally:
        await first.dispose()
        await second.dispose()


async def test_schema_creation_is_idempotent_and_concurrent_safe_on_sqlite(tmp_path: Path) -> None:
    await _start_twice(f"sqlite:///{tmp_path / 'ref.db'}")


@pytest.mark.postgres
async def test_schema_creation_is_idempotent_and_concurrent_safe_on_postgres(
    postgres_url: str,
) -> None:
    await _start_twice(postgres_url)


async def test_sqlite_writes_take_the_write_lock_at_begin_and_reads_do_not(tmp_path: Path) -> None:
    path = tmp_path / "ref.db"
    db = Database(sqlite_file_url(str(path)))
    await db.init_schema()
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    try:
        async with db.begin(write=False) as conn:
            await conn.execute(text("SELECT 1"))
            other.execute("BEGIN IMMEDIATE")  # a snapshot read does not hold the write lock
            other.execute("ROLLBACK")
        async with db.begin(write=True) as conn:
            await conn.execute(text("SELECT 1"))  # no write yet, but BEGIN IMMEDIATE was issued
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        assert (await _schema_version(db)) == [SCHEMA_VERSION]
        mode = other.execute("PRAGMA journal_mode").fetchone()
        assert mode == ("wal",)
    finally:
        other.close()
        await db.dispose()


async def test_pool_gauges_count_checked_out_and_waiting(tmp_path: Path) -> None:
    db = Database(sqlite_file_url(str(tmp_path / "ref.db")), pool_size=1, max_overflow=0)
    await db.init_schema()
    try:
        async with db.connection():
            assert db.pool_stats().in_use == 1
            waiter = asyncio.create_task(db.ping())
            for _ in range(100):
                await asyncio.sleep(0.01)
                if db.pool_stats().waiting:
                    break
            assert db.pool_stats().waiting == 1
        await waiter
        stats = db.pool_stats()
        assert (stats.size, stats.in_use, stats.waiting) == (1, 0, 0)
    finally:
        await db.dispose()


def _crossing(
    a: str, b: str, me: int, attempts: Counter[int], locked: list[asyncio.Event]
) -> Callable[[AsyncConnection], Awaitable[None]]:
    """Lock ``a`` then ``b``; on the first try wait until the other side holds its first row."""

    async def work(conn: AsyncConnection) -> None:
        attempts[me] += 1
        await credit(conn, a, 1)
        if attempts[me] == 1:
            locked[me].set()
            await locked[1 - me].wait()
        await credit(conn, b, 1)

    return work


@pytest.mark.postgres
async def test_a_real_deadlock_is_detected_and_the_victim_retried(postgres_url: str) -> None:
    causes: list[str] = []
    db = _db(postgres_url, on_retry=causes.append)
    await db.init_schema()
    try:
        (a, _), (b, _) = await register(db, "a"), await register(db, "b")
        attempts: Counter[int] = Counter()
        locked = [asyncio.Event(), asyncio.Event()]
        await asyncio.wait_for(
            asyncio.gather(
                db.write(_crossing(a, b, 0, attempts, locked)),
                db.write(_crossing(b, a, 1, attempts, locked)),
            ),
            timeout=30,
        )
        assert causes.count("deadlock") == 1
        assert sorted(attempts.values()) == [1, 2]  # the victim ran twice

        async def both(conn: AsyncConnection) -> list[int]:
            stmt = select(balances.c.balance).where(balances.c.user_id.in_([a, b]))
            return list((await conn.execute(stmt)).scalars())

        assert await db.read(both) == [2, 2]  # both transfers fully applied, once
    finally:
        await db.dispose()


@pytest.mark.postgres
async def test_without_retries_the_deadlock_victim_gets_retry_later(postgres_url: str) -> None:
    db = _db(postgres_url)
    await db.init_schema()
    try:
        (a, _), (b, _) = await register(db, "a"), await register(db, "b")
        attempts: Counter[int] = Counter()
        locked = [asyncio.Event(), asyncio.Event()]
        results = await asyncio.gather(
            db.write(_crossing(a, b, 0, attempts, locked), NO_RETRY),
            db.write(_crossing(b, a, 1, attempts, locked), NO_RETRY),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        assert len(failures) == 1
        assert isinstance(failures[0], RetryLater)
        assert "deadlock" in failures[0].message
    finally:
        await db.dispose()


@pytest.mark.postgres
async def test_postgres_writes_run_read_committed_and_reads_one_snapshot(postgres_url: str) -> None:
    db = _db(postgres_url, pool_size=1, max_overflow=0)  # one connection: options must reset
    await db.init_schema()

    async def level(conn: AsyncConnection) -> tuple[str, str]:
        iso = (await conn.execute(text("SHOW transaction_isolation"))).scalar_one()
        ro = (await conn.execute(text("SHOW transaction_read_only"))).scalar_one()
        return str(iso), str(ro)

    try:
        for _ in range(2):
            assert await db.read(level) == ("repeatable read", "on")
            assert await db.write(level) == ("read committed", "off")
    finally:
        await db.dispose()


@pytest.mark.postgres
async def test_a_connection_lost_at_commit_is_an_unknown_outcome_not_a_rollback(
    postgres_url: str,
) -> None:
    """The work ran; the connection dies before COMMIT's answer (its backend terminated from
    another session, as a reset on the wire would): the target cannot know whether the write
    landed, so it must not answer retry_later ("nothing written"), which made the chaos ledger
    count a possibly-applied add as failed."""
    db = _db(postgres_url)
    await db.init_schema()
    try:

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(text("CREATE TEMP TABLE IF NOT EXISTS t (x int)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()

            async def kill(other: AsyncConnection) -> None:
                await other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})

            await db.read(kill)

        with pytest.raises(CommitUnknown, match="during COMMIT"):
            await db.write(work, NO_RETRY)

        async def dies_midway(conn: AsyncConnection) -> None:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()

            async def kill(other: AsyncConnection) -> None:
                await other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})

            await db.read(kill)
            await conn.execute(text("SELECT 1"))  # the work itself fails: a definite rollback

        with pytest.raises((DBAPIError, RetryLater)) as raised:
            await db.write(dies_midway, NO_RETRY)
        assert not isinstance(raised.value, CommitUnknown)
    finally:
        await db.dispose()
