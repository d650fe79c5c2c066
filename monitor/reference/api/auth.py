"""POST /auth/register."""

from __future__ import annotations

from monitor.reference.api.endpoint import Ctx, Endpoint
from monitor.reference.models import RegisterIn, RegisterOut
from monitor.reference.ops.users import register


async def register_user(ctx: Ctx) -> RegisterOut:
    body = ctx.body_as(RegisterIn)
    user_id, token = await register(ctx.db, body.username)
    return RegisterOut.model_validate({"user_id": user_id, "token": token})


ENDPOINTS = (
    Endpoint(
        "POST",
        "/auth/register",
        register_user,
        "Register a user; returns its bearer token.",
        status=201,
        response=RegisterOut,
        body=RegisterIn,
        errors=(409,),
        auth=False,
    ),
)
