"""The daemon's HTTP endpoints: ``/metrics``, ``/healthz``, ``/readyz``, ``/api/status``, a
small status page for people at ``/``, and the chaos switch: ``GET /api/chaos`` (open) and
``POST /api/chaos/pause|resume|kill`` (``Authorization: Bearer <token>``, the token from
``chaos.token_file`` or ``chaos.token_env``; 403 without it, and always 403 when no token is
configured).

Embedded with ``AppRunner(handle_signals=False)`` + ``TCPSite`` (signals belong to the
supervisor); cleanup is shielded so a cancelled stop still closes the socket.
"""

from __future__ import annotations

import asyncio
import hmac
from importlib import resources
from typing import TYPE_CHECKING

import jinja2
from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from monitor.daemon.state import DaemonState

if TYPE_CHECKING:
    from monitor.daemon.chaosing import ChaosControl

_ENV = jinja2.Environment(
    loader=jinja2.FunctionLoader(
        lambda name: resources.files("monitor.daemon").joinpath("templates", name).read_text()
    ),
    autoescape=True,
)

STATE_KEY = web.AppKey("state", DaemonState)
REGISTRY_KEY = web.AppKey("registry", CollectorRegistry)
STOPPING_KEY = web.AppKey("stopping", asyncio.Event)
CHAOS_KEY = web.AppKey("chaos", object)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text, or OpenMetrics (with exemplars) when the scraper asks for it."""
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    body = encoder(request.app[REGISTRY_KEY])
    return web.Response(body=body, headers={"Content-Type": content_type})


async def healthz(_: web.Request) -> web.Response:
    """The process is up and its event loop answers."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready once the scheduler runs; not ready while stopping."""
    state = request.app[STATE_KEY]
    if request.app[STOPPING_KEY].is_set():
        return web.json_response({"status": "stopping"}, status=503)
    if not state.ready:
        return web.json_response({"status": "starting"}, status=503)
    return web.json_response({"status": "ready"})


async def status(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE_KEY].status())


async def page(request: web.Request) -> web.Response:
    doc = request.app[STATE_KEY].status()
    html = _ENV.get_template("status.html.j2").render(s=doc)
    return web.Response(text=html, content_type="text/html")


def _chaos(request: web.Request) -> ChaosControl:
    control = request.app.get(CHAOS_KEY)
    if control is None:
        raise web.HTTPNotFound(text="chaos is not configured")
    return control  # type: ignore[return-value]


async def chaos_status(request: web.Request) -> web.Response:
    return web.json_response(_chaos(request).status())


async def chaos_switch(request: web.Request) -> web.Response:
    """pause | resume | kill, with the token."""
    control = _chaos(request)
    expected = control.cfg.token()
    if expected is None:
        return web.json_response(
            {"error": "forbidden", "message": "no chaos token is configured (chaos.token_env or "
             "chaos.token_file): the switch is refused"}, status=403,
        )  # fmt: skip
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        return web.json_response(
            {"error": "forbidden", "message": "a valid chaos token is required"}, status=403
        )
    action = request.match_info["action"]
    {"pause": control.pause, "resume": control.resume, "kill": control.kill_now}[action]()
    return web.json_response(control.status())


def build_app(
    state: DaemonState,
    registry: CollectorRegistry,
    stopping: asyncio.Event,
    *,
    chaos: ChaosControl | None = None,
) -> web.Application:
    app = web.Application()
    if chaos is not None:
        app[CHAOS_KEY] = chaos
    app[STATE_KEY] = state
    app[REGISTRY_KEY] = registry
    app[STOPPING_KEY] = stopping
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/api/status", status)
    app.router.add_get("/", page)
    app.router.add_get("/api/chaos", chaos_status)
    app.router.add_post("/api/chaos/{action:pause|resume|kill}", chaos_switch)
    return app


class HttpServer:
    """Runs the app on ``host:port`` (port 0 picks a free one) until stopped."""

    def __init__(self, app: web.Application, host: str, port: int) -> None:
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        self.host = host
        self.port = port

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        if sockets:
            self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        await asyncio.shield(self._runner.cleanup())

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"
