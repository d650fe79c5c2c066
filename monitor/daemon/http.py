"""The daemon's HTTP endpoints: ``/metrics``, ``/healthz``, ``/readyz``, ``/api/status`` and a
small status page for people at ``/``.

Embedded with ``AppRunner(handle_signals=False)`` + ``TCPSite`` (signals belong to the
supervisor); cleanup is shielded so a cancelled stop still closes the socket.
"""

from __future__ import annotations

import asyncio
from importlib import resources

import jinja2
from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from monitor.daemon.state import DaemonState

_ENV = jinja2.Environment(
    loader=jinja2.FunctionLoader(
        lambda name: resources.files("monitor.daemon").joinpath("templates", name).read_text()
    ),
    autoescape=True,
)

STATE_KEY = web.AppKey("state", DaemonState)
REGISTRY_KEY = web.AppKey("registry", CollectorRegistry)
STOPPING_KEY = web.AppKey("stopping", asyncio.Event)


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


def build_app(
    state: DaemonState, registry: CollectorRegistry, stopping: asyncio.Event
) -> web.Application:
    app = web.Application()
    app[STATE_KEY] = state
    app[REGISTRY_KEY] = registry
    app[STOPPING_KEY] = stopping
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/api/status", status)
    app.router.add_get("/", page)
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
