"""Faults of rewards: reward overdraft, double welcome gift, partial grants."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.reference.behaviour import Behaviour
from monitor.reference.database import Database
from monitor.reference.faults.base import Fault, widen
from monitor.reference.ops.common import credit, read_balance
from monitor.reference.ops.points import insufficient
from monitor.reference.ops.rewards import (
    REWARD_PRICE,
    add_reward,
    already_claimed,
    give_gift,
    insufficient_quantity,
    record_purchase,
)
from monitor.reference.schema import ledger, rewards


def _purchase_overspend(b: Behaviour) -> Behaviour:
    window = b.race_window

    async def buy(db: Database, user_id: str, reward: str) -> tuple[int, int]:
        async def check(conn: AsyncConnection) -> int:
            return await read_balance(conn, user_id)

        if await db.read(check) < REWARD_PRICE:
            raise insufficient(REWARD_PRICE)
        await widen(window)

        async def act(conn: AsyncConnection) -> tuple[int, int]:  # unconditional debit
            await credit(conn, user_id, -REWARD_PRICE)
            return await record_purchase(conn, user_id, reward)

        return await db.write(act)

    return replace(b, buy_reward=buy)


def _reward_overdraft(b: Behaviour) -> Behaviour:
    window = b.race_window

    async def redeem(db: Database, user_id: str, reward: str) -> int:
        where = (rewards.c.user_id == user_id, rewards.c.reward == reward)

        async def check(conn: AsyncConnection) -> int:
            return int((await conn.execute(select(rewards.c.quantity).where(*where))).scalar_one())

        if await db.read(check) < 1:
            raise insufficient_quantity(reward)
        await widen(window)

        async def act(conn: AsyncConnection) -> int:
            stmt = (
                update(rewards)
                .where(*where)
                .values(quantity=rewards.c.quantity - 1)
                .returning(rewards.c.quantity)
            )
            return int((await conn.execute(stmt)).scalar_one())

        return await db.write(act)

    return replace(b, redeem_reward=redeem)


def _double_gift(b: Behaviour) -> Behaviour:
    window = b.race_window

    async def gift(db: Database, user_id: str) -> None:
        async def check(conn: AsyncConnection) -> bool:
            stmt = select(ledger.c.seq).where(
                ledger.c.user_id == user_id, ledger.c.reason == "welcome_gift"
            )
            return (await conn.execute(stmt.limit(1))).first() is not None

        if await db.read(check):
            raise already_claimed()
        await widen(window)

        async def act(conn: AsyncConnection) -> None:  # no once-per-user guard row
            await give_gift(conn, user_id, guarded=False)

        await db.write(act)

    return replace(b, welcome_gift=gift)


def _partial_grant(b: Behaviour) -> Behaviour:
    window = b.race_window

    async def grant(db: Database, user_id: str, reward: str, quantity: int) -> int:
        total = 0
        for _ in range(quantity):  # one commit per unit

            async def one(conn: AsyncConnection) -> int:
                return await add_reward(conn, user_id, reward, 1)

            total = await db.write(one)
            await widen(window / 4)
        return total

    return replace(b, grant_reward=grant)


FAULTS = (
    Fault(
        "reward-overdraft",
        "reward quantities never go below 0 (redeem checks, then decrements separately)",
        _reward_overdraft,
        race=True,
    ),
    Fault(
        "double-gift",
        "the welcome gift is granted once per user (check-then-insert, no unique guard)",
        _double_gift,
        race=True,
    ),
    Fault(
        "partial-grant",
        "readers never see a partial grant (quantity q committed as q separate +1 commits)",
        _partial_grant,
        race=True,
    ),
    Fault(
        "purchase-overspend",
        "a reward is sold only when the balance pays for it (balance read, then debited "
        "unconditionally)",
        _purchase_overspend,
        race=True,
    ),
)
