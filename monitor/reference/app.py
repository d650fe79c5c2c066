"""The aiohttp application: routes from the endpoint table, JSON errors, request metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from monitor.reference.api import ENDPOINTS
from monitor.reference.api.endpoint import SERVICES, Services, aiohttp_handler, json_reply
from monitor.reference.api.ops import OPENAPI
from monitor.reference.arrival import arrival_middleware
from monitor.reference.errors import ApiError
from monitor.reference.models import ErrorOut
from monitor.reference.openapi import build_openapi

log = logging.getLogger("monitor.reference")

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}

AioHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return json_reply(ErrorOut(error=code, message=message), status, headers)


@web.middleware
async def metrics_middleware(request: web.Request, handler: AioHandler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        method = request.method if request.method in _METHODS else "other"  # bounded labels
        request.app[SERVICES].metrics.latency.labels(
            route=route, method=method, status=str(status)
        ).observe(time.perf_counter() - started)


@web.middleware
async def error_middleware(request: web.Request, handler: AioHandler) -> web.StreamResponse:
    """Every 4xx/5xx answer is ``{"error": code, "message": text}``."""
    try:
        return await handler(request)
    except ApiError as exc:
        return _error(exc.status, exc.code, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "invalid_request" if exc.status < 500 else "internal")
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return _error(exc.status, code, exc.reason or code, headers)
    except (OSError, InterfaceError, OperationalError) as exc:
        # the database is down or the connection dropped: transient from the client's view
        log.warning("database unavailable in %s %s: %s", request.method, request.path, exc)
        return _error(503, "retry_later", "database unavailable; retry later")
    except DBAPIError as exc:
        if exc.connection_invalidated:
            return _error(503, "retry_later", "database connection lost; retry later")
        log.exception("database error in %s %s", request.method, request.path)
        return _error(500, "internal", "internal server error")
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return _error(500, "internal", "internal server error")


def make_app(services: Services) -> web.Application:
    app = web.Application(
        middlewares=[arrival_middleware, metrics_middleware, error_middleware],
        client_max_size=1 << 20,
    )
    app[SERVICES] = services
    app[OPENAPI] = build_openapi(ENDPOINTS)
    for ep in ENDPOINTS:
        app.router.add_route(ep.method, ep.path, aiohttp_handler(ep))
    return app
