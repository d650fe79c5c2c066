"""The status API and page say what is wrong, and stay bounded however long the daemon runs."""

from __future__ import annotations

import asyncio

import aiohttp
from prometheus_client import CollectorRegistry

from monitor.analysis.verdict import Verdict
from monitor.daemon.http import HttpServer, build_app
from monitor.daemon.state import DaemonState
from monitor.events import CheckFailed, CheckRecovered, EventBus, VerdictEvaluated
from monitor.suites.results import CheckResult


def _failed(check: str, observed: str = "-600") -> CheckResult:
    return CheckResult(check, False, ">= 0", observed, "balance went negative", ["op 3 deduct"])


async def test_violations_come_and_go_with_their_checks_and_are_bounded() -> None:
    bus, state = EventBus(), DaemonState(max_violations=3)
    state.subscribe(bus)
    await bus.emit(CheckFailed("points", "deduct", "staging", _failed("non_negative"), 1.0))
    await bus.emit(CheckFailed("points", "deduct", "staging", _failed("non_negative", "-900"), 2.0))
    (violation,) = state.status()["violations"]
    assert violation["count"] == 2
    assert violation["observed"] == "-900"
    assert violation["since"] == "1970-01-01T00:00:01Z"
    assert violation["evidence"] == ["op 3 deduct"]
    await bus.emit(CheckRecovered("points", "deduct", "staging", "non_negative", 3.0))
    assert state.status()["violations"] == []
    for i in range(10):
        await bus.emit(CheckFailed("points", f"s{i}", "staging", _failed("c"), float(i)))
    names = [v["scenario"] for v in state.status()["violations"]]
    assert names == ["s9", "s8", "s7"]  # newest first, oldest dropped


async def test_the_status_page_names_broken_analyses_and_violations() -> None:
    bus, state = EventBus(), DaemonState()
    state.subscribe(bus)
    state.ready = True
    leak = Verdict("memory_growth", False, "<= 50 MiB/h", "+900 MiB/h", "likely a leak")
    await bus.emit(VerdictEvaluated("staging", leak, True, 1.0))
    await bus.emit(CheckFailed("points", "deduct", "staging", _failed("no <overdraft>"), 1.0))
    server = HttpServer(build_app(state, CollectorRegistry(), asyncio.Event()), "127.0.0.1", 0)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}/") as resp:
                page = await resp.text()
            async with http.get(f"{server.url}/api/status") as resp:
                status = await resp.json()
            async with http.get(f"{server.url}/readyz") as resp:
                assert resp.status == 200
    finally:
        await server.stop()
    assert "1 active violation(s), 1 broken SLO/analysis: memory_growth" in page
    assert "no &lt;overdraft&gt;" in page  # text from checks is escaped
    assert status["healthy"] is False
    assert status["analysis"][0]["observed"] == "+900 MiB/h"
