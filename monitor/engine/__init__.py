"""Concurrent HTTP execution: testers, executors, results and percentiles.

Barrier calls (all requests of one call in flight together; failures recorded, never raised)::

    async with ConcurrentTester("http://127.0.0.1:8000", timeout=5, mode="per-user") as t:
        setup = await t.send(RequestSpec("POST", "/users", json={"name": "a"}))
        result = await t.run_concurrent_requests("POST", "/points/deduct", json=..., repeat=10)
        batch = await t.run_batch([RequestSpec("GET", "/a"), RequestSpec("POST", "/b", json={})])
        result.success_count, result.status_codes, result.errors, result.p99, result.to_dict()

Synchronised batches (``monitor.engine.sync``): ``sync="auto"`` (or ``"last-byte"``,
``"single-packet"``; default ``"none"``, aiohttp) delivers each barrier batch together and
measures how tightly (``result.delivery``: send and arrival spread)::

    async with ConcurrentTester(url, mode="per-user", sync="auto") as t:
        result = await t.run_batch(specs)       # or run_batch(specs, sync="last-byte")
        result.delivery.send_spread_s, result.delivery.arrival_spread_s

Executors (pure schedules) applied by one runner, with streaming and bounded memory::

    out = await t.run_executor(ConstantArrivalRate(100, 30), RequestSpec("GET", "/"),
                               on_interval=print, on_progress=print)
    out.result.to_dict(), out.stats.dropped, out.stats.achieved_rate
"""

from monitor.engine.client import HttpClient
from monitor.engine.clock import SYSTEM_CLOCK, Clock, FakeClock
from monitor.engine.configerror import EngineConfigError
from monitor.engine.durations import parse_duration
from monitor.engine.executors import (
    EXECUTORS,
    Burst,
    ConstantArrivalRate,
    ConstantVUs,
    Executor,
    ExecutorStats,
    IntervalReport,
    Progress,
    RampingArrivalRate,
    RampingVUs,
    Runner,
    RunOutcome,
    Stage,
    build_executor,
)
from monitor.engine.histogram import LatencyHistogram
from monitor.engine.hooks import RequestHooks
from monitor.engine.result import ConcurrentResult, default_success
from monitor.engine.sessions import ConnectionMode
from monitor.engine.spec import ErrorKind, RequestRecord, RequestSpec
from monitor.engine.sync import ARRIVAL_HEADER, PhaseDelivery, SyncMode
from monitor.engine.tester import ConcurrentTester

__all__ = [
    "ARRIVAL_HEADER",
    "EXECUTORS",
    "SYSTEM_CLOCK",
    "Burst",
    "Clock",
    "ConcurrentResult",
    "ConcurrentTester",
    "ConnectionMode",
    "ConstantArrivalRate",
    "ConstantVUs",
    "EngineConfigError",
    "ErrorKind",
    "Executor",
    "ExecutorStats",
    "FakeClock",
    "HttpClient",
    "IntervalReport",
    "LatencyHistogram",
    "PhaseDelivery",
    "Progress",
    "RampingArrivalRate",
    "RampingVUs",
    "RequestHooks",
    "RequestRecord",
    "RequestSpec",
    "RunOutcome",
    "Runner",
    "Stage",
    "SyncMode",
    "build_executor",
    "default_success",
    "parse_duration",
]
