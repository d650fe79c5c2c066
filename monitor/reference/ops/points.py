"""Points: balance, ledger, add / deduct / transfer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.reference.database import DEFAULT_POLICY, Database
from monitor.reference.errors import conflict, invalid, not_found
from monitor.reference.ops.common import credit, debit, insert_ledger
from monitor.reference.ops.gate import KeyedGate
from monitor.reference.retry import RetryPolicy
from monitor.reference.schema import balances, ledger


@dataclass(frozen=True)
class PointsChange:
    balance: int
    transaction_id: str


@dataclass(frozen=True)
class PointsView:
    balance: int
    transaction_count: int


@dataclass(frozen=True)
class LedgerRow:
    id: str
    amount: int
    reason: str
    created_at: datetime


def insufficient(amount: int) -> Exception:
    return conflict("insufficient_points", f"balance is lower than {amount} points")


async def add_points(db: Database, user_id: str, amount: int, reason: str) -> PointsChange:
    async def work(conn: AsyncConnection) -> PointsChange:
        balance = await credit(conn, user_id, amount)
        return PointsChange(balance, await insert_ledger(conn, user_id, amount, reason))

    return await db.write(work)


async def deduct_points(db: Database, user_id: str, amount: int, reason: str) -> PointsChange:
    async def work(conn: AsyncConnection) -> PointsChange:
        balance = await debit(conn, user_id, amount)
        if balance is None:
            raise insufficient(amount)
        return PointsChange(balance, await insert_ledger(conn, user_id, -amount, reason))

    return await db.write(work)


def points_snapshot_stmt(user_id: str) -> Select[int, int]:
    """Balance and ledger count in ONE statement (one snapshot even at READ COMMITTED)."""
    count = (
        select(func.count()).select_from(ledger).where(ledger.c.user_id == user_id)
    ).scalar_subquery()
    return select(balances.c.balance, count).where(balances.c.user_id == user_id)


async def read_points(db: Database, user_id: str) -> PointsView:
    async def work(conn: AsyncConnection) -> PointsView:
        row = (await conn.execute(points_snapshot_stmt(user_id))).one()
        return PointsView(int(row[0]), int(row[1]))

    return await db.read(work)


async def count_ledger(conn: AsyncConnection, user_id: str) -> int:
    stmt = select(func.count()).select_from(ledger).where(ledger.c.user_id == user_id)
    return int((await conn.execute(stmt)).scalar_one())


async def list_transactions(
    db: Database, user_id: str, limit: int, offset: int
) -> tuple[list[LedgerRow], int]:
    async def work(conn: AsyncConnection) -> tuple[list[LedgerRow], int]:
        stmt = (
            select(ledger.c.id, ledger.c.amount, ledger.c.reason, ledger.c.created_at)
            .where(ledger.c.user_id == user_id)
            .order_by(ledger.c.seq.desc())
            .limit(limit)
            .offset(offset)
        )
        rows = [
            LedgerRow(r.id, int(r.amount), r.reason, r.created_at) for r in await conn.execute(stmt)
        ]
        return rows, await count_ledger(conn, user_id)

    return await db.read(work)


async def transfer(
    db: Database,
    user_id: str,
    to_user_id: str,
    amount: int,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    gate: KeyedGate | None = None,
) -> int:
    """Debit the caller, then credit the recipient, in one transaction.

    The two balance rows are locked in caller-then-recipient order (deliberately NOT sorted), so
    opposite transfers can deadlock on PostgreSQL; ``db.write`` retries the victims. ``gate``
    bounds how many transfers of the same pair run at once in this process.
    """
    if to_user_id == user_id:
        raise invalid("cannot transfer points to yourself")

    async def work(conn: AsyncConnection) -> int:
        balance = await debit(conn, user_id, amount)  # locks the caller's balance row
        if balance is None:
            raise insufficient(amount)
        await insert_ledger(conn, user_id, -amount, "transfer_out", ref=to_user_id)
        try:
            await credit(conn, to_user_id, amount)  # then the recipient's
        except LookupError:
            raise not_found(f"user {to_user_id} not found") from None
        await insert_ledger(conn, to_user_id, amount, "transfer_in", ref=user_id)
        return balance

    if gate is None:
        return await db.write(work, policy)
    async with gate.hold(frozenset((user_id, to_user_id))):
        return await db.write(work, policy)
