"""Rewards: the once-only welcome gift, grants, redemptions."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.reference.database import Database
from monitor.reference.errors import conflict
from monitor.reference.models import REWARD_KINDS
from monitor.reference.ops.common import credit, debit, insert_ledger, read_balance, utcnow
from monitor.reference.ops.points import insufficient
from monitor.reference.schema import rewards, welcome_gifts

GIFT_POINTS = 1000
REWARD_PRICE = 200
"""Points one reward costs at ``POST /rewards/buy`` (every kind)."""


def already_claimed() -> Exception:
    return conflict("already_claimed", "the welcome gift was already claimed")


def insufficient_quantity(reward: str) -> Exception:
    return conflict("insufficient_quantity", f"no {reward} left to redeem")


async def add_reward(conn: AsyncConnection, user_id: str, reward: str, quantity: int) -> int:
    stmt = (
        update(rewards)
        .where(rewards.c.user_id == user_id, rewards.c.reward == reward)
        .values(quantity=rewards.c.quantity + quantity)
        .returning(rewards.c.quantity)
    )
    return int((await conn.execute(stmt)).scalar_one())


async def give_gift(conn: AsyncConnection, user_id: str, *, guarded: bool) -> None:
    """1000 points (ledger ``welcome_gift``) and one of each reward, in the caller's transaction."""
    await credit(conn, user_id, GIFT_POINTS)
    key = f"welcome_gift:{user_id}" if guarded else None
    await insert_ledger(conn, user_id, GIFT_POINTS, "welcome_gift", dedupe_key=key)
    for kind in REWARD_KINDS:
        await add_reward(conn, user_id, kind, 1)


async def welcome_gift(db: Database, user_id: str) -> None:
    async def work(conn: AsyncConnection) -> None:
        try:
            await conn.execute(insert(welcome_gifts).values(user_id=user_id, claimed_at=utcnow()))
        except IntegrityError:
            raise already_claimed() from None
        await give_gift(conn, user_id, guarded=True)

    await db.write(work)


async def my_rewards(db: Database, user_id: str) -> list[tuple[str, int]]:
    async def work(conn: AsyncConnection) -> list[tuple[str, int]]:
        stmt = select(rewards.c.reward, rewards.c.quantity).where(rewards.c.user_id == user_id)
        found = {r.reward: int(r.quantity) for r in await conn.execute(stmt)}
        return [(k, found.get(k, 0)) for k in REWARD_KINDS]

    return await db.read(work)


async def grant(db: Database, user_id: str, reward: str, quantity: int) -> int:
    async def work(conn: AsyncConnection) -> int:
        return await add_reward(conn, user_id, reward, quantity)

    return await db.write(work)


async def record_purchase(conn: AsyncConnection, user_id: str, reward: str) -> tuple[int, int]:
    """Write a purchase (ledger ``reward_purchase``, one item); (new quantity, balance)."""
    await insert_ledger(conn, user_id, -REWARD_PRICE, "reward_purchase", ref=reward)
    quantity = await add_reward(conn, user_id, reward, 1)
    return quantity, await read_balance(conn, user_id)


async def buy(db: Database, user_id: str, reward: str) -> tuple[int, int]:
    """Sell one reward for ``REWARD_PRICE`` points: the conditional debit and the item in ONE
    transaction; 409 insufficient_points when the balance is too low."""

    async def work(conn: AsyncConnection) -> tuple[int, int]:
        if await debit(conn, user_id, REWARD_PRICE) is None:
            raise insufficient(REWARD_PRICE)
        return await record_purchase(conn, user_id, reward)

    return await db.write(work)


async def redeem(db: Database, user_id: str, reward: str) -> int:
    async def work(conn: AsyncConnection) -> int:
        stmt = (
            update(rewards)
            .where(
                rewards.c.user_id == user_id, rewards.c.reward == reward, rewards.c.quantity >= 1
            )
            .values(quantity=rewards.c.quantity - 1)
            .returning(rewards.c.quantity)
        )
        remaining = (await conn.execute(stmt)).scalar_one_or_none()
        if remaining is None:
            raise insufficient_quantity(reward)
        return int(remaining)

    return await db.write(work)
