"""A loopback HTTP server that holds every request open: the target for the idle-VU memory test.

``python -m bench.hold_server --port P --hold S`` answers ``GET /<anything>`` after ``S`` seconds
and ``GET /_stats`` at once with ``{"in_flight": n, "peak": n, "accepted": n}``. It runs in a
process of its own so that its memory and CPU are not the generator's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import signal

from aiohttp import web

STATS_PATH = "/_stats"


class Holder:
    """Counts requests currently held open."""

    def __init__(self, hold_s: float) -> None:
        self.hold_s = hold_s
        self.in_flight = 0
        self.peak = 0
        self.accepted = 0

    async def hold(self, request: web.Request) -> web.Response:
        self.accepted += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.hold_s)
        finally:  # also when the client goes away (handler cancellation is on)
            self.in_flight -= 1
        return web.Response(text="ok\n")

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"in_flight": self.in_flight, "peak": self.peak, "accepted": self.accepted}
        )


def make_app(holder: Holder) -> web.Application:
    app = web.Application()
    app.router.add_get(STATS_PATH, holder.stats)
    app.router.add_get("/{tail:.*}", holder.hold)
    return app


async def serve(port: int, hold_s: float, backlog: int) -> None:
    runner = web.AppRunner(
        make_app(Holder(hold_s)), access_log=None, handler_cancellation=True, keepalive_timeout=600
    )
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=backlog)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await asyncio.shield(runner.cleanup())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hold_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--hold", type=float, default=300.0, help="seconds to hold each request")
    parser.add_argument("--backlog", type=int, default=65535)
    parser.add_argument("--nofile", type=int, default=65536)
    args = parser.parse_args(argv)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, max(hard, args.nofile)))
    try:
        import uvloop

        runner: asyncio.Runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        runner = asyncio.Runner()
    with runner:
        runner.run(serve(args.port, args.hold, args.backlog))


if __name__ == "__main__":
    main()
