"""A daemon soak against a refusing target records the refusals without spinning, and a soak
without think time leaves the daemon's API, health probes and scheduler their turn on the event
loop. Against real loopback servers, bounded in time."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from monitor.daemon.app import Daemon
from monitor.daemon.looplag import LoopLag
from monitor.reference import ReferenceServer
from tests.daemon.conftest import running_daemon, wait_for
from tests.engine.servers import closed_port_url, serve_app

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def api(daemon: Daemon) -> str:
    """The daemon's base URL."""
    assert daemon.server is not None
    return daemon.server.url


async def test_a_refusing_target_is_reported_per_window_without_a_hot_spin() -> None:
    config = {
        "targets": {"t": {"url": closed_port_url()}},
        "soak": [{"name": "dead", "target": "t", "vus": 4, "window": "0.5s",
                  "requests": [{"path": "/a"}]}],
        "probes": [],
    }  # fmt: skip
    async with running_daemon(config) as daemon:
        began = time.monotonic()
        cpu = time.process_time()
        await asyncio.sleep(3.0)
        cpu = time.process_time() - cpu
        elapsed = time.monotonic() - began
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{api(daemon)}/api/status") as resp:
                soak = (await resp.json())["soak"]["dead"]
            async with http.get(f"{api(daemon)}/metrics") as resp:
                metrics = await resp.text()
    # every attempt counted as an error, in /api/status and in the request metric
    assert soak["requests_total"] == soak["errors_total"] >= 4, soak
    assert 'outcome="refused"' in metrics
    # 4 VUs backing off up to 1 s: about a dozen attempts each in 3 s, not thousands a second
    assert soak["requests_total"] <= 4 * 16, soak
    assert cpu < 0.5 * elapsed, (cpu, elapsed)


async def _iterations_for(daemon: Daemon, path: str) -> int:
    """Event-loop iterations a request to the daemon's ``path`` took, from this loop (a
    callback re-queued with ``call_soon`` runs once per iteration)."""
    loop = asyncio.get_running_loop()
    ticks = 0
    ticking = True

    def tick() -> None:
        nonlocal ticks
        ticks += 1
        if ticking:
            loop.call_soon(tick)

    async with aiohttp.ClientSession() as http:
        async with http.get(f"{api(daemon)}{path}") as resp:  # a warm connection
            await resp.read()
        loop.call_soon(tick)
        async with http.get(f"{api(daemon)}{path}") as resp:
            await resp.read()
            assert resp.status == 200
        ticking = False
    return ticks


async def test_a_soak_without_think_time_leaves_the_api_its_turn() -> None:
    """A closed-model soak with no think time keeps the daemon's loop busy with its VUs'
    callbacks; the loop still serves /healthz, /readyz and /api/status in as many loop
    iterations as without it (FIFO fairness; each iteration is longer by the VUs' work, see
    docs/operations.md), and its scheduler's probes keep their schedule. Counted in loop
    iterations, not milliseconds, so a busy machine does not decide it."""

    async def ok(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/{tail:.*}", ok)
    async with serve_app(app) as url:
        config: dict[str, object] = {
            "targets": {"t": {"url": url}},
            "soak": [],
            "probes": [],
        }
        async with running_daemon(config) as daemon:
            quiet = {p: await _iterations_for(daemon, p) for p in ("/healthz", "/readyz")}
        config["soak"] = [{"name": "hot", "target": "t", "vus": 16, "window": "0.5s",
                           "requests": [{"path": "/x"}]}]  # fmt: skip
        async with running_daemon(config) as daemon:
            soak = daemon.state.soaks["hot"]
            await wait_for(lambda: soak.get("requests_total", 0) > 100, 30, "the soak's load")
            busy = {p: await _iterations_for(daemon, p) for p in ("/healthz", "/readyz")}
            status = await _iterations_for(daemon, "/api/status")
            assert soak["errors_total"] == 0
            # the loop's lag is the daemon's own signal, in /api/status and /metrics
            await wait_for(lambda: daemon.state.loop_lag_s is not None, 10, "a lag reading")
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{api(daemon)}/api/status") as resp:
                    lag_ms = (await resp.json())["event_loop_lag_ms"]
                async with http.get(f"{api(daemon)}/metrics") as resp:
                    metrics = await resp.text()
            assert isinstance(lag_ms, float)
            assert lag_ms >= 0.0
            assert "soakmon_event_loop_lag_seconds " in metrics
    for path, before in quiet.items():
        assert busy[path] <= 2 * before + 4, (path, quiet, busy)
    assert status <= 2 * max(quiet.values()) + 8, (status, quiet)


def test_a_long_lag_is_logged_naming_the_in_process_soaks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[float] = []
    lag = LoopLag(CollectorRegistry(), seen.append, lambda: ["hot"])
    lag.observe(0.01, 100.0)
    lag.observe(0.8, 100.25)
    lag.observe(0.9, 100.5)  # within a minute of the first warning: not logged again
    assert seen == [0.01, 0.8, 0.9]  # the worst of the window
    warnings = [r.getMessage() for r in caplog.records if "event loop lag" in r.getMessage()]
    assert len(warnings) == 1
    assert "0.80 s" in warnings[0]
    assert "soaks in the daemon's process: hot" in warnings[0]


async def test_an_operations_soak_whose_target_goes_away_backs_off() -> None:
    """Users signed in (a token each) whose target then stops: their operations are refused;
    each is counted, and the users back off instead of retrying on the spot."""
    target = ReferenceServer()
    await target.start()
    stopped = False
    try:
        config = {
            "targets": {"ref": {"url": target.url}},
            "soak": [{"name": "users", "target": "ref", "vus": 2, "window": "0.5s",
                      "operations": [{"op": "points.balance"}]}],
            "probes": [],
        }  # fmt: skip
        async with running_daemon(config) as daemon:
            soak = daemon.state.soaks["users"]
            await wait_for(lambda: soak.get("requests_total", 0) > 20, 30, "the users' load")
            await target.stop()
            stopped = True
            await asyncio.sleep(1.0)  # the last window with successes is published
            before = soak["errors_total"]
            await asyncio.sleep(3.0)
            errors = soak["errors_total"] - before
    finally:
        if not stopped:
            await target.stop()
    assert errors >= 2, errors  # still tried and counted
    assert errors <= 2 * 16, errors  # 2 users backing off up to 1 s, not a spin
