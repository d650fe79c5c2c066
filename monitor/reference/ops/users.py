"""Users and bearer tokens."""

from __future__ import annotations

import secrets

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.reference.database import Database
from monitor.reference.errors import conflict
from monitor.reference.models import REWARD_KINDS
from monitor.reference.ops.common import new_id, utcnow
from monitor.reference.schema import balances, rewards, users


async def register(db: Database, username: str) -> tuple[str, str]:
    """Create a user with a zero balance and zero of every reward; returns (user_id, token)."""
    user_id, token = new_id(), secrets.token_urlsafe(32)

    async def work(conn: AsyncConnection) -> None:
        try:
            await conn.execute(
                insert(users).values(
                    id=user_id, username=username, token=token, created_at=utcnow()
                )
            )
        except IntegrityError:
            raise conflict("already_exists", f"username {username!r} is taken") from None
        await conn.execute(insert(balances).values(user_id=user_id, balance=0))
        await conn.execute(
            insert(rewards),
            [{"user_id": user_id, "reward": k, "quantity": 0} for k in REWARD_KINDS],
        )

    await db.write(work)
    return user_id, token


class TokenCache:
    """token -> user id; tokens never change, so positive answers are cached (bounded)."""

    def __init__(self, limit: int = 100_000) -> None:
        self._known: dict[str, str] = {}
        self._limit = limit

    async def user_for(self, db: Database, token: str) -> str | None:
        found = self._known.get(token)
        if found is not None:
            return found

        async def work(conn: AsyncConnection) -> str | None:
            stmt = select(users.c.id).where(users.c.token == token)
            return (await conn.execute(stmt)).scalar_one_or_none()

        user_id = await db.read(work)
        if user_id is not None and len(self._known) < self._limit:
            self._known[token] = user_id
        return user_id
