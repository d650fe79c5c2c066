"""Operations endpoints: health, readiness, metrics, the OpenAPI document."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from monitor.reference.api.endpoint import Ctx, Endpoint, json_reply
from monitor.reference.errors import ApiError, describe_failure
from monitor.reference.models import ErrorOut, StatusOut

OPENAPI = web.AppKey("reference_openapi", dict[str, Any])
READY_TIMEOUT = 3.0
"""Seconds /readyz waits for the database before answering 503."""


async def healthz(ctx: Ctx) -> StatusOut:
    return StatusOut(status="ok")


async def readyz(ctx: Ctx) -> web.StreamResponse:
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            await ctx.db.ping()
    except (OSError, SQLAlchemyError, ApiError, TimeoutError) as exc:
        body = ErrorOut(
            error="unavailable", message=f"database unreachable: {describe_failure(exc)}"
        )
        return json_reply(body, 503)
    return json_reply(StatusOut(status="ok"))


async def metrics(ctx: Ctx) -> web.StreamResponse:
    return web.Response(
        body=ctx.services.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


async def openapi(ctx: Ctx) -> web.StreamResponse:
    return web.json_response(ctx.request.app[OPENAPI])


ENDPOINTS = (
    Endpoint(
        "GET",
        "/healthz",
        healthz,
        "The process is up.",
        response=StatusOut,
        auth=False,
        operational=True,
    ),
    Endpoint(
        "GET",
        "/readyz",
        readyz,
        "The database is reachable (503 unavailable when not).",
        response=StatusOut,
        errors=(503,),
        auth=False,
        operational=True,
    ),
    Endpoint(
        "GET",
        "/metrics",
        metrics,
        "Prometheus metrics: latency, pool, retries, process memory.",
        auth=False,
        operational=True,
        media_type="text/plain",
    ),
    Endpoint(
        "GET",
        "/openapi.json",
        openapi,
        "This OpenAPI 3.1 document.",
        auth=False,
        operational=True,
    ),
)
