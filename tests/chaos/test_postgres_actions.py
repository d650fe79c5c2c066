"""PostgreSQL actions against a real PostgreSQL (the tests' private cluster)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from monitor.chaos.action import ActionContext
from monitor.chaos.engine import ActionEngine
from monitor.chaos.journal import Journal
from monitor.chaos.registry import build_action
from tests.chaos.helpers import until_injected


async def _count(url: str, app: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        n: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app
        )
        return n
    finally:
        await conn.close()


async def test_terminate_ends_the_chosen_backends_only(tmp_path: Path, postgres_url: str) -> None:
    victim = await asyncpg.connect(postgres_url, server_settings={"application_name": "victim"})
    bystander = await asyncpg.connect(postgres_url, server_settings={"application_name": "other"})
    try:
        action = build_action("pg-terminate", {"dsn": postgres_url, "application_name": "victim"})
        run = await ActionEngine(Journal(tmp_path)).run(
            action, ActionContext("p1", "ref"), duration_s=0
        )
        assert run.result == "ok"
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
            await victim.fetchval("SELECT 1")
        assert await bystander.fetchval("SELECT 1") == 1
    finally:
        victim.terminate()
        await bystander.close()


async def test_a_table_lock_blocks_writers(tmp_path: Path, postgres_url: str) -> None:
    conn = await asyncpg.connect(postgres_url)
    await conn.execute("CREATE TABLE ledger (id serial primary key, amount int)")
    try:
        action = build_action("pg-lock", {"dsn": postgres_url, "table": "ledger"})
        journal, abort = Journal(tmp_path), asyncio.Event()
        engine = ActionEngine(journal)
        ctx = ActionContext("p2", "ref")
        task = asyncio.create_task(engine.run(action, ctx, duration_s=60, abort=abort))
        await until_injected(journal)
        await conn.execute("SET lock_timeout = '200ms'")
        with pytest.raises(asyncpg.LockNotAvailableError):
            await conn.execute("INSERT INTO ledger (amount) VALUES (1)")
        abort.set()
        assert (await task).result == "aborted"
        await conn.execute("INSERT INTO ledger (amount) VALUES (1)")
        assert await _count(postgres_url, "soakmon-chaos-p2") == 0
    finally:
        await conn.close()


async def test_connections_are_held_then_released(tmp_path: Path, postgres_url: str) -> None:
    action = build_action("pg-connections", {"dsn": postgres_url, "max_open": 15})
    journal, abort = Journal(tmp_path), asyncio.Event()
    engine = ActionEngine(journal)
    ctx = ActionContext("p3", "ref")
    task = asyncio.create_task(engine.run(action, ctx, duration_s=60, abort=abort))
    await until_injected(journal)
    assert await _count(postgres_url, "soakmon-chaos-p3") == 15
    abort.set()
    assert (await task).result == "aborted"
    assert await _count(postgres_url, "soakmon-chaos-p3") == 0
