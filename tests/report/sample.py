"""Report inputs: a hand-built run with hostile text, and a run measured by the real engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from monitor.engine import ConcurrentTester
from monitor.suites.results import (
    CheckResult,
    HistogramBucket,
    RunResult,
    ScenarioResult,
    SuiteResult,
    TimelineSample,
    histogram_from,
    observations_from,
    requests_from,
)

HOSTILE = "<script>alert('x')</script> & [bold red]markup[/] \x1b[31mred\x1b[0m \x00\x07 end"
TARGET = "http://127.0.0.1:9/<img src=x onerror=alert(1)>"


def _timeline(n: int, fail_every: int) -> list[TimelineSample]:
    return [
        TimelineSample(
            offset_s=i * 0.01,
            latency_ms=10.0 + (i % 17) * 3.0 + (200.0 if 40 <= i < 50 else 0.0),
            ok=(i + 1) % fail_every != 0,
            operation="points.deduct" if i % 2 else "points.balance",
        )
        for i in range(n)
    ]


def hand_run() -> RunResult:
    """One failed scenario (2 failed checks), one passed, one skipped; hostile strings."""
    timeline = _timeline(300, fail_every=25)
    requests = {
        "total": 300,
        "success_count": 288,
        "error_count": 12,
        "status_codes": {"200": 288, "500": 12},
        "errors": [f"HTTP 500 (x12) {HOSTILE}"],
        "latency_ms": {"p50": 31.0, "p95": 220.5, "p99": 251.0, "max": 258.0},
    }
    failed = ScenarioResult.from_checks(
        "Concurrent deduction <overdraw>",
        "points",
        [
            CheckResult(
                "no_overdraw",
                False,
                expected="balance >= 0",
                observed="balance = -300",
                message=f"two deductions succeeded {HOSTILE}",
                evidence=[
                    "op#3 points.deduct 300 -> ok",
                    f"op#7 points.deduct 300 -> ok {HOSTILE}",
                ],
            ),
            CheckResult("p95", False, expected="p95 <= 100 ms", observed="p95 = 220.5 ms"),
            CheckResult("status codes", True, expected="only 200/400", observed="200, 500"),
        ],
        duration_s=3.25,
        requests=requests,
        description="10 deductions of 300 from 3000, all at once",
        spec_ref="Scenario 2: Concurrent Point Deduction",
        timeline=timeline,
        histogram=histogram_from(t.latency_ms for t in timeline),
    )
    passed = ScenarioResult.from_checks(
        "Top3 set once",
        "top3",
        [CheckResult("single winner", True, expected="1 ok", observed="1 ok")],
        duration_s=0.5,
        requests={**requests, "error_count": 0, "errors": []},
        timeline=_timeline(50, fail_every=10_000),
        histogram=[HistogramBucket(10.0, 20.0, 30), HistogramBucket(20.0, 30.0, 20)],
    )
    skipped = ScenarioResult.skipped(
        "Gift claim", "rewards", f"profile does not map operation gift.claim {HOSTILE}"
    )
    return RunResult(
        target=TARGET,
        started_at="2026-11-24T14:00:00+00:00",
        duration_s=4.5,
        suites=[
            SuiteResult("points", [failed]),
            SuiteResult("top3", [passed]),
            SuiteResult("rewards", [skipped]),
        ],
        profile="reference",
        seed=7,
    )


@asynccontextmanager
async def flaky_server() -> AsyncIterator[str]:
    """A loopback server: every 7th request answers 500, every 5th is slowed by 30 ms."""
    hits = 0

    async def handle(request: web.Request) -> web.Response:
        nonlocal hits
        hits += 1
        n = hits
        if n % 5 == 0:
            await asyncio.sleep(0.03)
        if n % 7 == 0:
            return web.json_response({"error": "boom"}, status=500)
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/item", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def engine_run(repeat: int = 60, rounds: int = 3, gap_s: float = 0.0) -> RunResult:
    """A run whose numbers come from the real engine against ``flaky_server``: ``rounds``
    bursts of ``repeat`` concurrent requests, ``gap_s`` apart."""
    async with flaky_server() as url, ConcurrentTester(url, timeout=10.0) as tester:
        results = [await tester.run_concurrent_requests("GET", "/item", repeat=repeat)]
        for _ in range(rounds - 1):
            await asyncio.sleep(gap_s)
            results.append(await tester.run_concurrent_requests("GET", "/item", repeat=repeat))
    merged = results[0]
    for res in results[1:]:
        merged = merged.merge(res)
    timeline, histogram = observations_from(results)
    no_errors = CheckResult(
        "no server errors",
        merged.error_count == 0,
        expected="0 errors",
        observed=f"{merged.error_count} errors",
        evidence=merged.errors,
    )
    scenario = ScenarioResult.from_checks(
        "Flaky reads",
        "engine",
        [no_errors],
        duration_s=1.0,
        requests=requests_from(merged),
        timeline=timeline,
        histogram=histogram,
    )
    return RunResult(url, "2026-11-24T14:00:00Z", 1.0, [SuiteResult("engine", [scenario])])
