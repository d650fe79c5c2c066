"""Concurrent HTTP execution: testers, executors, results and percentiles.

Public API (used by ``monitor.suites`` and the ``soakmon load`` command)::

    from monitor.engine import (ConcurrentTester, ConcurrentResult, RequestSpec, RequestRecord,
                                LatencyHistogram, ConnectionMode, RequestHooks)
"""

from monitor.engine.client import EngineConfigError, HttpClient
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
from monitor.engine.tester import ConcurrentTester

__all__ = [
    "EXECUTORS",
    "Burst",
    "ConcurrentResult",
    "ConcurrentTester",
    "ConnectionMode",
    "ConstantArrivalRate",
    "ConstantVUs",
    "EngineConfigError",
    "ErrorKind",
    "Executor",
    "ExecutorStats",
    "HttpClient",
    "IntervalReport",
    "LatencyHistogram",
    "Progress",
    "RampingArrivalRate",
    "RampingVUs",
    "RequestHooks",
    "RequestRecord",
    "RequestSpec",
    "RunOutcome",
    "Runner",
    "Stage",
    "build_executor",
    "default_success",
    "parse_duration",
]
