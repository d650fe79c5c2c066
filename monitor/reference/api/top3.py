"""Top3 endpoints."""

from __future__ import annotations

from monitor.reference.api.endpoint import Ctx, Endpoint
from monitor.reference.models import Top3In, Top3Out, Top3Query, Top3View
from monitor.reference.ops import top3


async def set_top3(ctx: Ctx) -> Top3Out:
    body = ctx.body_as(Top3In)
    ids = [str(t) for t in body.task_ids]
    await ctx.behaviour.set_top3(ctx.db, ctx.user_id, body.date.isoformat(), ids)
    return Top3Out(date=body.date, task_ids=body.task_ids, points_spent=top3.TOP3_COST)


async def get_top3(ctx: Ctx) -> Top3View:
    day = ctx.query_as(Top3Query).date
    ids = await top3.get_top3(ctx.db, ctx.user_id, day.isoformat())
    return Top3View.model_validate({"date": day, "task_ids": ids})


ENDPOINTS = (
    Endpoint(
        "POST",
        "/top3",
        set_top3,
        "Choose the day's Top3 (costs 300 points, once per date; all or nothing).",
        status=201,
        response=Top3Out,
        body=Top3In,
        errors=(404, 409),
    ),
    Endpoint(
        "GET",
        "/top3",
        get_top3,
        "The Top3 of a date (task_ids is [] when none is set).",
        response=Top3View,
        query=Top3Query,
    ),
)
