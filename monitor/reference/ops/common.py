"""Building blocks shared by the operations: clock, ids, ledger rows, balance changes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.reference.schema import balances, ledger


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


async def insert_ledger(
    conn: AsyncConnection,
    user_id: str,
    amount: int,
    reason: str,
    *,
    ref: str | None = None,
    dedupe_key: str | None = None,
) -> str:
    """Append one ledger row (in the caller's transaction); returns its id."""
    tx_id = new_id()
    await conn.execute(
        insert(ledger).values(
            id=tx_id,
            user_id=user_id,
            amount=amount,
            reason=reason,
            ref=ref,
            dedupe_key=dedupe_key,
            created_at=utcnow(),
        )
    )
    return tx_id


async def credit(conn: AsyncConnection, user_id: str, amount: int) -> int:
    """Atomically add ``amount`` to the balance (row-locking it); returns the new balance."""
    stmt = (
        update(balances)
        .where(balances.c.user_id == user_id)
        .values(balance=balances.c.balance + amount)
        .returning(balances.c.balance)
    )
    value = (await conn.execute(stmt)).scalar_one_or_none()
    if value is None:
        raise LookupError(user_id)
    return int(value)


async def debit(conn: AsyncConnection, user_id: str, amount: int) -> int | None:
    """Atomic conditional deduction; the new balance, or None when the balance is too low."""
    stmt = (
        update(balances)
        .where(balances.c.user_id == user_id, balances.c.balance >= amount)
        .values(balance=balances.c.balance - amount)
        .returning(balances.c.balance)
    )
    value = (await conn.execute(stmt)).scalar_one_or_none()
    return None if value is None else int(value)


async def read_balance(conn: AsyncConnection, user_id: str, *, for_update: bool = False) -> int:
    stmt = select(balances.c.balance).where(balances.c.user_id == user_id)
    if for_update:
        stmt = stmt.with_for_update()
    return int((await conn.execute(stmt)).scalar_one())


async def set_balance(conn: AsyncConnection, user_id: str, value: int) -> None:
    await conn.execute(update(balances).where(balances.c.user_id == user_id).values(balance=value))
