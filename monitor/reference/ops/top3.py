"""The daily Top3: 300 points, once per user and date, all-or-nothing."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.reference.database import Database
from monitor.reference.errors import conflict, not_found
from monitor.reference.ops.common import debit, insert_ledger, utcnow
from monitor.reference.ops.points import insufficient
from monitor.reference.schema import tasks, top3_days, top3_items

TOP3_COST = 300


def already_set(day: str) -> Exception:
    return conflict("already_set", f"Top3 for {day} is already set")


async def require_own_tasks(conn: AsyncConnection, user_id: str, task_ids: Sequence[str]) -> None:
    stmt = select(tasks.c.id).where(
        tasks.c.id.in_(list(task_ids)), tasks.c.user_id == user_id, tasks.c.is_deleted.is_(False)
    )
    found = set((await conn.execute(stmt)).scalars())
    missing = [t for t in task_ids if t not in found]
    if missing:
        raise not_found(f"task {missing[0]} not found (or deleted)")


async def insert_items(
    conn: AsyncConnection, user_id: str, day: str, task_ids: Sequence[str], start: int = 0
) -> None:
    await conn.execute(
        insert(top3_items),
        [
            {"user_id": user_id, "date": day, "position": start + i, "task_id": t}
            for i, t in enumerate(task_ids)
        ],
    )


async def charge(conn: AsyncConnection, user_id: str, day: str, *, guarded: bool) -> None:
    """Deduct the Top3 cost and write its ledger row (keyed per user and date when guarded)."""
    if await debit(conn, user_id, TOP3_COST) is None:
        raise insufficient(TOP3_COST)
    key = f"top3:{user_id}:{day}" if guarded else None
    await insert_ledger(conn, user_id, -TOP3_COST, "top3", ref=day, dedupe_key=key)


async def record_and_charge(
    conn: AsyncConnection, user_id: str, day: str, task_ids: Sequence[str]
) -> None:
    """Check the tasks, record the (user, date) Top3 — once: 409 already_set — and charge it."""
    await require_own_tasks(conn, user_id, task_ids)
    try:
        await conn.execute(insert(top3_days).values(user_id=user_id, date=day, created_at=utcnow()))
    except IntegrityError:
        raise already_set(day) from None
    await charge(conn, user_id, day, guarded=True)


async def set_top3(db: Database, user_id: str, day: str, task_ids: Sequence[str]) -> None:
    """Record, charge and list the tasks in ONE transaction; the (user, date) key makes it once."""

    async def work(conn: AsyncConnection) -> None:
        await record_and_charge(conn, user_id, day, task_ids)
        await insert_items(conn, user_id, day, task_ids)

    await db.write(work)


async def read_top3_ids(conn: AsyncConnection, user_id: str, day: str) -> list[str]:
    stmt = (
        select(top3_items.c.task_id)
        .where(top3_items.c.user_id == user_id, top3_items.c.date == day)
        .order_by(top3_items.c.position, top3_items.c.seq)
    )
    return list((await conn.execute(stmt)).scalars())


async def get_top3(db: Database, user_id: str, day: str) -> list[str]:
    async def work(conn: AsyncConnection) -> list[str]:
        return await read_top3_ids(conn, user_id, day)

    return await db.read(work)
