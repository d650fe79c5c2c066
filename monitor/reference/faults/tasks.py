"""Faults of tasks and the Top3: duplicate / partial Top3, double bonus, ids, If-Match."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.reference.behaviour import Behaviour
from monitor.reference.database import Database
from monitor.reference.faults.base import Fault, widen
from monitor.reference.ops.common import credit, insert_ledger, read_balance, utcnow
from monitor.reference.ops.points import insufficient
from monitor.reference.ops.tasks import (
    TOP3_COMPLETION_BONUS,
    TaskRow,
    existing_open_or_done,
    in_top3,
    mark_completed,
)
from monitor.reference.ops.top3 import (
    TOP3_COST,
    already_set,
    charge,
    insert_items,
    read_top3_ids,
    record_and_charge,
    require_own_tasks,
)
from monitor.reference.schema import ledger, top3_days


def _double_top3(b: Behaviour) -> Behaviour:
    window = b.race_window

    async def set_top3(db: Database, user_id: str, day: str, task_ids: Sequence[str]) -> None:
        async def check(conn: AsyncConnection) -> bool:
            await require_own_tasks(conn, user_id, task_ids)
            return bool(await read_top3_ids(conn, user_id, day))

        if await db.read(check):
            raise already_set(day)
        await widen(window)

        async def act(conn: AsyncConnection) -> None:  # no (user, date) guard row
            await charge(conn, user_id, day, guarded=False)
            await insert_items(conn, user_id, day, task_ids)

        await db.write(act)

    return replace(b, set_top3=set_top3)


def _top3_overspend(b: Behaviour) -> Behaviour:
    window = b.race_window

    async def set_top3(db: Database, user_id: str, day: str, task_ids: Sequence[str]) -> None:
        async def check(conn: AsyncConnection) -> int:
            return await read_balance(conn, user_id)

        if await db.read(check) < TOP3_COST:
            raise insufficient(TOP3_COST)
        await widen(window)

        async def act(conn: AsyncConnection) -> None:  # the date is guarded, the balance not
            await require_own_tasks(conn, user_id, task_ids)
            try:
                await conn.execute(
                    insert(top3_days).values(user_id=user_id, date=day, created_at=utcnow())
                )
            except IntegrityError:
                raise already_set(day) from None
            await credit(conn, user_id, -TOP3_COST)
            await insert_ledger(conn, user_id, -TOP3_COST, "top3", ref=day)
            await insert_items(conn, user_id, day, task_ids)

        await db.write(act)

    return replace(b, set_top3=set_top3)


def _partial_top3(b: Behaviour) -> Behaviour:
    window = b.race_window

    async def set_top3(db: Database, user_id: str, day: str, task_ids: Sequence[str]) -> None:
        async def head(conn: AsyncConnection) -> None:
            await record_and_charge(conn, user_id, day, task_ids)

        await db.write(head)
        for position, task_id in enumerate(task_ids):  # one commit per task id
            await widen(window)

            async def item(conn: AsyncConnection, pos: int = position, tid: str = task_id) -> None:
                await insert_items(conn, user_id, day, [tid], start=pos)

            await db.write(item)

    return replace(b, set_top3=set_top3)


def _double_completion_bonus(b: Behaviour) -> Behaviour:
    window = b.race_window

    async def complete(db: Database, user_id: str, task_id: str) -> TaskRow:
        async def mark(conn: AsyncConnection) -> TaskRow:
            row = await mark_completed(conn, user_id, task_id)
            return row if row is not None else await existing_open_or_done(conn, user_id, task_id)

        row = await db.write(mark)
        day = row.completed_at.date().isoformat()

        async def check(conn: AsyncConnection) -> bool:
            awarded = select(ledger.c.seq).where(
                ledger.c.user_id == user_id,
                ledger.c.reason == "top3_completion",
                ledger.c.ref == task_id,
            )
            if (await conn.execute(awarded.limit(1))).first() is not None:
                return False
            return await in_top3(conn, user_id, day, task_id)

        if await db.read(check):
            await widen(window)

            async def act(conn: AsyncConnection) -> None:
                await credit(conn, user_id, TOP3_COMPLETION_BONUS)
                await insert_ledger(
                    conn, user_id, TOP3_COMPLETION_BONUS, "top3_completion", ref=task_id
                )

            await db.write(act)
        return row

    return replace(b, complete_task=complete)


def coarse_time_id() -> str:
    """A UUID-shaped id from the clock in 100 ms steps: concurrent calls get the same id."""
    return str(uuid.UUID(int=(int(time.time() * 10) << 64) | 0x4000_8000_0000_0000))


def _task_id_collision(b: Behaviour) -> Behaviour:
    return replace(b, new_task_id=coarse_time_id)


def _ignore_if_match(b: Behaviour) -> Behaviour:
    return replace(b, honour_if_match=False)


FAULTS = (
    Fault(
        "double-top3",
        "one Top3 per user and date (check-then-insert without the unique guard)",
        _double_top3,
        race=True,
    ),
    Fault(
        "top3-overspend",
        "a Top3 is set only when the balance pays for it (balance read, then debited "
        "unconditionally)",
        _top3_overspend,
        race=True,
    ),
    Fault(
        "partial-top3",
        "a reader never sees a partial Top3 (task ids committed one by one)",
        _partial_top3,
        race=True,
    ),
    Fault(
        "double-completion-bonus",
        "the Top3 completion bonus is paid once per task (check-then-act on the award)",
        _double_completion_bonus,
        race=True,
    ),
    Fault(
        "task-id-collision",
        "every created task gets a distinct id (ids from a coarse 100 ms clock)",
        _task_id_collision,
    ),
    Fault(
        "ignore-if-match",
        "If-Match protects against lost updates (PATCH ignores the version)",
        _ignore_if_match,
    ),
)
