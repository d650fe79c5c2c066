"""Users and bearer tokens."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

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


class TokenExpired(Exception):
    """The bearer token is known but older than the configured token lifetime."""


class TokenCache:
    """token -> (user id, issue time); tokens never change, so answers are cached (bounded).

    With ``ttl_s`` set, a token expires that many seconds after it was issued (registration):
    :meth:`user_for` then raises :class:`TokenExpired`, so clients must authenticate again.
    """

    def __init__(self, limit: int = 100_000, ttl_s: float | None = None) -> None:
        self._known: dict[str, tuple[str, datetime]] = {}
        self._limit = limit
        self._ttl = None if ttl_s is None else timedelta(seconds=ttl_s)

    async def user_for(self, db: Database, token: str) -> str | None:
        found = self._known.get(token)
        if found is None:

            async def work(conn: AsyncConnection) -> tuple[str, datetime] | None:
                stmt = select(users.c.id, users.c.created_at).where(users.c.token == token)
                row = (await conn.execute(stmt)).one_or_none()
                return None if row is None else (row[0], row[1])

            found = await db.read(work)
            if found is None:
                return None
            if len(self._known) < self._limit:
                self._known[token] = found
        user_id, issued = found
        if self._ttl is not None:
            if issued.tzinfo is None:  # SQLite keeps naive UTC
                issued = issued.replace(tzinfo=utcnow().tzinfo)
            if utcnow() - issued > self._ttl:
                raise TokenExpired
        return user_id
