"""Points endpoints."""

from __future__ import annotations

from monitor.reference.api.endpoint import Ctx, Endpoint, as_model
from monitor.reference.models import (
    AmountIn,
    BalanceOut,
    BalanceTxOut,
    PointsOut,
    TransactionOut,
    TransactionsOut,
    TransactionsQuery,
    TransferIn,
)
from monitor.reference.ops import points


async def my_points(ctx: Ctx) -> PointsOut:
    view = await ctx.behaviour.read_points(ctx.db, ctx.user_id)
    return PointsOut(balance=view.balance, transaction_count=view.transaction_count)


async def transactions(ctx: Ctx) -> TransactionsOut:
    q = ctx.query_as(TransactionsQuery)
    rows, total = await points.list_transactions(ctx.db, ctx.user_id, q.limit, q.offset)
    return TransactionsOut(items=[as_model(TransactionOut, r) for r in rows], total=total)


async def add(ctx: Ctx) -> BalanceTxOut:
    body = ctx.body_as(AmountIn)
    change = await ctx.behaviour.add_points(ctx.db, ctx.user_id, body.amount, body.reason or "add")
    return as_model(BalanceTxOut, change)


async def deduct(ctx: Ctx) -> BalanceTxOut:
    body = ctx.body_as(AmountIn)
    change = await ctx.behaviour.deduct_points(
        ctx.db, ctx.user_id, body.amount, body.reason or "deduct"
    )
    return as_model(BalanceTxOut, change)


async def transfer(ctx: Ctx) -> BalanceOut:
    body = ctx.body_as(TransferIn)
    balance = await points.transfer(
        ctx.db,
        ctx.user_id,
        str(body.to_user_id),
        body.amount,
        policy=ctx.behaviour.transfer_policy,
        gate=ctx.services.transfer_gate,
    )
    return BalanceOut(balance=balance)


ENDPOINTS = (
    Endpoint(
        "GET",
        "/points/my-points",
        my_points,
        "Balance and number of ledger rows, from one consistent snapshot.",
        response=PointsOut,
    ),
    Endpoint(
        "GET",
        "/points/transactions",
        transactions,
        "The ledger, newest first.",
        response=TransactionsOut,
        query=TransactionsQuery,
    ),
    Endpoint("POST", "/points/add", add, "Add points.", response=BalanceTxOut, body=AmountIn),
    Endpoint(
        "POST",
        "/points/deduct",
        deduct,
        "Deduct points; 409 insufficient_points when the balance is too low (nothing written).",
        response=BalanceTxOut,
        body=AmountIn,
        errors=(409,),
    ),
    Endpoint(
        "POST",
        "/points/transfer",
        transfer,
        "Move points to another user in one transaction (deadlock victims are retried).",
        response=BalanceOut,
        body=TransferIn,
        errors=(404, 409),
    ),
)
