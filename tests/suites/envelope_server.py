"""A loopback API in the style of ``scenarios/profiles/envelope-example.yaml``, for tests.

It sits in front of a real ``ReferenceServer`` and re-wraps everything: every answer is HTTP 200
with ``{"code", "data", "message"}`` (non-zero ``code`` for errors), users are guests
(``POST /api/v2/guest`` -> token, ``GET /api/v2/me`` -> user id), the token travels in
``X-Token``, Top3 lives under ``/api/v2/daily-focus`` and there is no transfer endpoint.
A points addition with ``reason: "ambiguous"`` is committed and then answered with code 50001
("commit status unknown"), the case a profile declares UNKNOWN.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp import web

from tests.engine.servers import serve_app

CODES = {
    "unauthorized": 40100,
    "not_found": 40400,
    "insufficient_points": 40901,
    "already_set": 40902,
    "already_claimed": 40903,
    "insufficient_quantity": 40904,
    "already_exists": 40905,
    "version_conflict": 41200,
    "invalid_request": 42200,
    "retry_later": 50300,
}
PATHS = {"daily-focus": "top3"}
SESSION_KEY = web.AppKey("session", aiohttp.ClientSession)
TOKENS_KEY = web.AppKey("tokens", dict)


def _wrap(code: int, data: Any = None, message: str = "ok") -> web.Response:
    return web.json_response({"code": code, "data": data, "message": message})


async def _guest(request: web.Request) -> web.Response:
    session = request.app[SESSION_KEY]
    name = f"guest-{uuid.uuid4().hex[:12]}"
    async with session.post("/auth/register", json={"username": name}) as resp:
        body = await resp.json()
    request.app[TOKENS_KEY][body["token"]] = body["user_id"]
    return _wrap(0, {"token": body["token"]})


async def _me(request: web.Request) -> web.Response:
    user_id = request.app[TOKENS_KEY].get(request.headers.get("X-Token", ""))
    if user_id is None:
        return _wrap(CODES["unauthorized"], None, "missing or bad token")
    return _wrap(0, {"user_id": user_id})


async def _forward(request: web.Request) -> web.Response:
    tail = request.match_info["tail"]
    first, _, rest = tail.partition("/")
    if first == "points" and rest == "transfer":
        return web.json_response({"code": 40400, "data": None, "message": "no such endpoint"})
    path = "/" + PATHS.get(first, first) + (f"/{rest}" if rest else "")
    headers = {"Authorization": f"Bearer {request.headers.get('X-Token', '')}"}
    if "If-Match" in request.headers:
        headers["If-Match"] = request.headers["If-Match"]
    raw = await request.read()
    body = json.loads(raw) if raw else None
    session = request.app[SESSION_KEY]
    async with session.request(
        request.method, path, params=request.query, json=body, headers=headers
    ) as resp:
        status, payload = resp.status, await resp.json(content_type=None)
    if status < 400:
        if path == "/points/add" and isinstance(body, dict) and body.get("reason") == "ambiguous":
            return _wrap(50001, None, "commit status unknown")
        return _wrap(0, payload)
    error = payload.get("error", "") if isinstance(payload, dict) else ""
    message = payload.get("message", "") if isinstance(payload, dict) else ""
    return _wrap(CODES.get(error, 50000), None, message or error)


def make_app(upstream: str) -> web.Application:
    """The envelope API forwarding to the reference target at ``upstream``."""
    app = web.Application()
    app[TOKENS_KEY] = {}

    async def client(app: web.Application) -> AsyncIterator[None]:
        app[SESSION_KEY] = aiohttp.ClientSession(upstream)
        yield
        await app[SESSION_KEY].close()

    app.cleanup_ctx.append(client)
    app.router.add_post("/api/v2/guest", _guest)
    app.router.add_get("/api/v2/me", _me)
    app.router.add_route("*", "/api/v2/{tail:.+}", _forward)
    return app


@asynccontextmanager
async def envelope_server(upstream: str) -> AsyncIterator[str]:
    """Serve the envelope API on a free loopback port; yields its base URL."""
    async with serve_app(make_app(upstream)) as url:
        yield url
