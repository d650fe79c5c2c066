"""Concurrent HTTP execution: testers, executors, results and percentiles.

Public API (used by ``monitor.suites`` and the ``soakmon load`` command)::

    from monitor.engine import (ConcurrentTester, ConcurrentResult, RequestSpec, RequestRecord,
                                LatencyHistogram, ConnectionMode, RequestHooks)
"""

from monitor.engine.client import EngineConfigError, HttpClient
from monitor.engine.histogram import LatencyHistogram
from monitor.engine.hooks import RequestHooks
from monitor.engine.result import ConcurrentResult, default_success
from monitor.engine.sessions import ConnectionMode
from monitor.engine.spec import ErrorKind, RequestRecord, RequestSpec
from monitor.engine.tester import ConcurrentTester

__all__ = [
    "ConcurrentResult",
    "ConcurrentTester",
    "ConnectionMode",
    "EngineConfigError",
    "ErrorKind",
    "HttpClient",
    "LatencyHistogram",
    "RequestHooks",
    "RequestRecord",
    "RequestSpec",
    "default_success",
]
