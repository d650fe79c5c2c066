"""Reward endpoints."""

from __future__ import annotations

from monitor.reference.api.endpoint import Ctx, Endpoint
from monitor.reference.models import (
    REWARD_KINDS,
    BuyIn,
    BuyOut,
    GiftOut,
    GrantIn,
    RedeemIn,
    RedeemOut,
    RewardItem,
    RewardsOut,
)
from monitor.reference.ops import rewards


async def welcome_gift(ctx: Ctx) -> GiftOut:
    await ctx.behaviour.welcome_gift(ctx.db, ctx.user_id)
    return GiftOut(
        points=rewards.GIFT_POINTS, items=[RewardItem(reward=k, quantity=1) for k in REWARD_KINDS]
    )


async def my_rewards(ctx: Ctx) -> RewardsOut:
    items = await rewards.my_rewards(ctx.db, ctx.user_id)
    return RewardsOut.model_validate({"items": [{"reward": k, "quantity": q} for k, q in items]})


async def grant(ctx: Ctx) -> RewardItem:
    body = ctx.body_as(GrantIn)
    quantity = await ctx.behaviour.grant_reward(ctx.db, ctx.user_id, body.reward, body.quantity)
    return RewardItem(reward=body.reward, quantity=quantity)


async def buy(ctx: Ctx) -> BuyOut:
    body = ctx.body_as(BuyIn)
    quantity, balance = await ctx.behaviour.buy_reward(ctx.db, ctx.user_id, body.reward)
    return BuyOut(reward=body.reward, quantity=quantity, balance=balance)


async def redeem(ctx: Ctx) -> RedeemOut:
    body = ctx.body_as(RedeemIn)
    remaining = await ctx.behaviour.redeem_reward(ctx.db, ctx.user_id, body.reward)
    return RedeemOut(reward=body.reward, remaining=remaining)


ENDPOINTS = (
    Endpoint(
        "POST",
        "/rewards/welcome-gift",
        welcome_gift,
        "Claim the welcome gift (1000 points + one of each reward), once per user.",
        status=201,
        response=GiftOut,
        errors=(409,),
    ),
    Endpoint(
        "GET",
        "/rewards/my-rewards",
        my_rewards,
        "Quantity of every reward kind, from one consistent snapshot.",
        response=RewardsOut,
    ),
    Endpoint(
        "POST",
        "/rewards/grant",
        grant,
        "Grant rewards (test / admin); returns the new quantity.",
        response=RewardItem,
        body=GrantIn,
    ),
    Endpoint(
        "POST",
        "/rewards/buy",
        buy,
        "Buy one reward for 200 points; 409 insufficient_points when the balance is too low.",
        response=BuyOut,
        body=BuyIn,
        errors=(409,),
    ),
    Endpoint(
        "POST",
        "/rewards/redeem",
        redeem,
        "Redeem one reward; 409 insufficient_quantity when none is left.",
        response=RedeemOut,
        body=RedeemIn,
        errors=(409,),
    ),
)
