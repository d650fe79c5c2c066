"""An implementation of the reference contract that lacks some routes (an independent service
that never built ``POST /rewards/buy``, say), for the "a missing route is a profile problem" tests.

It forwards every request to a real ``ReferenceServer`` except the ``missing`` routes, which its
router does not know: aiohttp answers them as any web framework does, ``404: Not Found`` in plain
text for an unknown path, 405 for a known path with another method.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager

import aiohttp
from aiohttp import web

from tests.engine.servers import serve_app

UPSTREAM = web.AppKey("upstream", aiohttp.ClientSession)
MISSING = web.AppKey("missing", frozenset)
HOP = {"content-length", "transfer-encoding", "connection", "content-encoding"}


async def forward(request: web.Request) -> web.StreamResponse:
    body = await request.read()  # read before answering: an unread body would stay in the
    # keep-alive connection and spoil the next request on it (aiohttp leaves it there)
    if (request.method, request.path) in request.app[MISSING]:
        raise web.HTTPNotFound()  # the route does not exist here
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP | {"host"}}
    async with request.app[UPSTREAM].request(
        request.method, request.path_qs, data=body, headers=headers
    ) as resp:
        body = await resp.read()
        out = {k: v for k, v in resp.headers.items() if k.lower() not in HOP}
        return web.Response(status=resp.status, body=body, headers=out)


def make_app(upstream: str, missing: Collection[tuple[str, str]]) -> web.Application:
    app = web.Application()
    app[MISSING] = frozenset(missing)

    async def client(app: web.Application) -> AsyncIterator[None]:
        app[UPSTREAM] = aiohttp.ClientSession(upstream)
        yield
        await app[UPSTREAM].close()

    app.cleanup_ctx.append(client)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


@asynccontextmanager
async def partial_server(
    upstream: str, missing: Collection[tuple[str, str]] = (("POST", "/rewards/buy"),)
) -> AsyncIterator[str]:
    """Serve the reference API without ``missing`` (method, path) routes; yields its URL."""
    async with serve_app(make_app(upstream, missing)) as url:
        yield url
