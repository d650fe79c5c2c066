"""Tasks: create, list, read, conditional update (versions / ETags), complete, delete."""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.reference.database import Database
from monitor.reference.errors import ApiError, not_found
from monitor.reference.ops.common import credit, insert_ledger, new_id, utcnow
from monitor.reference.schema import tasks, top3_items

TOP3_COMPLETION_BONUS = 100
TaskRow = Row[Any]


def version_conflict(current: int) -> ApiError:
    return ApiError(
        412, "version_conflict", f"If-Match does not match the current version {current}"
    )


async def create_task(
    db: Database,
    user_id: str,
    title: str,
    description: str | None,
    new_task_id: Callable[[], str] = new_id,
) -> TaskRow:
    async def work(conn: AsyncConnection) -> TaskRow:
        now = utcnow()
        stmt = (
            insert(tasks)
            .values(
                id=new_task_id(),
                user_id=user_id,
                title=title,
                description=description,
                is_completed=False,
                completed_at=None,
                is_deleted=False,
                version=1,
                created_at=now,
                updated_at=now,
            )
            .returning(*tasks.c)
        )
        return (await conn.execute(stmt)).one()

    return await db.write(work)


async def fetch_task(conn: AsyncConnection, user_id: str, task_id: str) -> TaskRow | None:
    stmt = select(tasks).where(tasks.c.id == task_id, tasks.c.user_id == user_id)
    return (await conn.execute(stmt)).first()


async def get_task(db: Database, user_id: str, task_id: str) -> TaskRow:
    async def work(conn: AsyncConnection) -> TaskRow:
        row = await fetch_task(conn, user_id, task_id)
        if row is None:
            raise not_found(f"task {task_id} not found")
        return row

    return await db.read(work)


async def list_tasks(db: Database, user_id: str, include_deleted: bool) -> list[TaskRow]:
    async def work(conn: AsyncConnection) -> list[TaskRow]:
        stmt = select(tasks).where(tasks.c.user_id == user_id)
        if not include_deleted:
            stmt = stmt.where(tasks.c.is_deleted.is_(False))
        return list(await conn.execute(stmt.order_by(tasks.c.created_at, tasks.c.id)))

    return await db.read(work)


async def patch_task(
    db: Database,
    user_id: str,
    task_id: str,
    changes: dict[str, Any],
    if_match: Collection[int] | None,
) -> TaskRow:
    """Apply ``changes`` and bump the version; with ``if_match`` only when the version matches."""

    async def work(conn: AsyncConnection) -> TaskRow:
        stmt = update(tasks).where(
            tasks.c.id == task_id, tasks.c.user_id == user_id, tasks.c.is_deleted.is_(False)
        )
        if if_match is not None:
            stmt = stmt.where(tasks.c.version.in_(list(if_match)))
        stmt = stmt.values(**changes, version=tasks.c.version + 1, updated_at=utcnow())
        row = (await conn.execute(stmt.returning(*tasks.c))).first()
        if row is not None:
            return row
        current = await fetch_task(conn, user_id, task_id)
        if current is None or current.is_deleted:
            raise not_found(f"task {task_id} not found")
        raise version_conflict(current.version)

    return await db.write(work)


async def in_top3(conn: AsyncConnection, user_id: str, day: str, task_id: str) -> bool:
    stmt = select(top3_items.c.seq).where(
        top3_items.c.user_id == user_id, top3_items.c.date == day, top3_items.c.task_id == task_id
    )
    return (await conn.execute(stmt.limit(1))).first() is not None


async def mark_completed(conn: AsyncConnection, user_id: str, task_id: str) -> TaskRow | None:
    """Complete the task if it is open; None when it was already completed / missing."""
    now = utcnow()
    stmt = (
        update(tasks)
        .where(
            tasks.c.id == task_id,
            tasks.c.user_id == user_id,
            tasks.c.is_deleted.is_(False),
            tasks.c.is_completed.is_(False),
        )
        .values(is_completed=True, completed_at=now, updated_at=now, version=tasks.c.version + 1)
        .returning(*tasks.c)
    )
    return (await conn.execute(stmt)).first()


async def existing_open_or_done(conn: AsyncConnection, user_id: str, task_id: str) -> TaskRow:
    current = await fetch_task(conn, user_id, task_id)
    if current is None or current.is_deleted:
        raise not_found(f"task {task_id} not found")
    return current


async def complete_task(db: Database, user_id: str, task_id: str) -> TaskRow:
    """Complete once; a Top3 task of the completion date earns the bonus exactly once."""

    async def work(conn: AsyncConnection) -> TaskRow:
        row = await mark_completed(conn, user_id, task_id)
        if row is None:
            return await existing_open_or_done(conn, user_id, task_id)
        day = row.completed_at.date().isoformat()
        if await in_top3(conn, user_id, day, task_id):
            await credit(conn, user_id, TOP3_COMPLETION_BONUS)
            await insert_ledger(
                conn,
                user_id,
                TOP3_COMPLETION_BONUS,
                "top3_completion",
                ref=task_id,
                dedupe_key=f"top3_completion:{task_id}",
            )
        return row

    return await db.write(work)


async def delete_task(db: Database, user_id: str, task_id: str) -> TaskRow:
    async def work(conn: AsyncConnection) -> TaskRow:
        stmt = (
            update(tasks)
            .where(tasks.c.id == task_id, tasks.c.user_id == user_id)
            .values(is_deleted=True, updated_at=utcnow(), version=tasks.c.version + 1)
            .returning(*tasks.c)
        )
        row = (await conn.execute(stmt)).first()
        if row is None:
            raise not_found(f"task {task_id} not found")
        return row

    return await db.write(work)
