"""Faults of the points ledger: lost updates, overdrafts, dirty / skewed / blocking reads."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.reference.behaviour import Behaviour
from monitor.reference.database import Database
from monitor.reference.faults.base import Fault, widen
from monitor.reference.ops.common import debit, insert_ledger, read_balance, set_balance
from monitor.reference.ops.points import (
    PointsChange,
    PointsView,
    count_ledger,
    insufficient,
    points_snapshot_stmt,
)
from monitor.reference.retry import NO_RETRY
from monitor.reference.schema import balances


async def _read_modify_write(
    db: Database, user_id: str, delta: int, reason: str, window: float
) -> PointsChange:
    """Read the balance, think, write balance+delta: concurrent writers overwrite each other."""

    async def read(conn: AsyncConnection) -> int:
        return await read_balance(conn, user_id)

    current = await db.read(read)
    if current + delta < 0:
        raise insufficient(-delta)
    await widen(window)

    async def write(conn: AsyncConnection) -> PointsChange:
        await set_balance(conn, user_id, current + delta)
        return PointsChange(current + delta, await insert_ledger(conn, user_id, delta, reason))

    return await db.write(write)


def _lost_update(b: Behaviour) -> Behaviour:
    window = b.race_window

    async def add(db: Database, user_id: str, amount: int, reason: str) -> PointsChange:
        return await _read_modify_write(db, user_id, amount, reason, window)

    async def deduct(db: Database, user_id: str, amount: int, reason: str) -> PointsChange:
        return await _read_modify_write(db, user_id, -amount, reason, window)

    return replace(b, add_points=add, deduct_points=deduct)


def _overdraft(b: Behaviour) -> Behaviour:
    window = b.race_window

    async def deduct(db: Database, user_id: str, amount: int, reason: str) -> PointsChange:
        async def check(conn: AsyncConnection) -> int:
            return await read_balance(conn, user_id)

        if await db.read(check) < amount:
            raise insufficient(amount)
        await widen(window)

        async def act(conn: AsyncConnection) -> PointsChange:
            stmt = (
                update(balances)
                .where(balances.c.user_id == user_id)
                .values(balance=balances.c.balance - amount)
                .returning(balances.c.balance)
            )
            balance = int((await conn.execute(stmt)).scalar_one())
            return PointsChange(balance, await insert_ledger(conn, user_id, -amount, reason))

        return await db.write(act)

    return replace(b, deduct_points=deduct)


def _dirty_read(b: Behaviour) -> Behaviour:
    window = b.race_window

    pending: dict[str, int] = {}  # process-level cache, written before the commit

    async def deduct(db: Database, user_id: str, amount: int, reason: str) -> PointsChange:
        async def work(conn: AsyncConnection) -> PointsChange:
            balance = await debit(conn, user_id, amount)
            if balance is None:
                raise insufficient(amount)
            pending[user_id] = balance
            await widen(window)
            return PointsChange(balance, await insert_ledger(conn, user_id, -amount, reason))

        try:
            return await db.write(work)
        finally:
            pending.pop(user_id, None)

    async def read(db: Database, user_id: str) -> PointsView:
        async def work(conn: AsyncConnection) -> PointsView:
            row = (await conn.execute(points_snapshot_stmt(user_id))).one()
            return PointsView(pending.get(user_id, int(row[0])), int(row[1]))

        return await db.read(work)

    return replace(b, deduct_points=deduct, read_points=read)


def _skewed_snapshot(b: Behaviour) -> Behaviour:
    window = b.race_window

    async def read(db: Database, user_id: str) -> PointsView:
        async def balance(conn: AsyncConnection) -> int:
            return await read_balance(conn, user_id)

        async def count(conn: AsyncConnection) -> int:
            return await count_ledger(conn, user_id)

        first = await db.read(balance)
        await widen(window)
        return PointsView(first, await db.read(count))

    return replace(b, read_points=read)


BLOCKING_READ_HOLD_S = 1.0


def _blocking_reads(b: Behaviour) -> Behaviour:
    async def read(db: Database, user_id: str) -> PointsView:
        async with db.begin(write=True) as conn:  # BEGIN IMMEDIATE / SELECT … FOR UPDATE
            balance = await read_balance(conn, user_id, for_update=True)
            # Held for 1 s: far beyond what a busy machine adds to a deduction, so the
            # slowdown is the lock's and nobody else's (200 ms was lost in CI noise).
            await asyncio.sleep(BLOCKING_READ_HOLD_S)
            return PointsView(balance, await count_ledger(conn, user_id))

    return replace(b, read_points=read)


def _no_deadlock_retry(b: Behaviour) -> Behaviour:
    return replace(b, transfer_policy=NO_RETRY)


FAULTS = (
    Fault(
        "lost-update",
        "balance equals the ledger sum (add/deduct read-modify-write the balance without a lock)",
        _lost_update,
        race=True,
    ),
    Fault(
        "overdraft",
        "balance never goes below 0 (deduct checks, then deducts in a second statement)",
        _overdraft,
        race=True,
    ),
    Fault(
        "dirty-read",
        "no dirty reads (my-points reads a balance cache written before the deduct commits)",
        _dirty_read,
        race=True,
    ),
    Fault(
        "skewed-snapshot",
        "my-points is one snapshot (balance and transaction_count read in two transactions)",
        _skewed_snapshot,
        race=True,
    ),
    Fault(
        "blocking-reads",
        "balance reads do not block deductions (my-points holds the write lock for 1 s)",
        _blocking_reads,
    ),
    Fault(
        "no-deadlock-retry",
        "opposite transfers both succeed (deadlock / serialization victims are not retried)",
        _no_deadlock_retry,
    ),
)
