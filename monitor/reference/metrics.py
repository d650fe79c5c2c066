"""Prometheus metrics of one service instance (own registry: several may share a process)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from monitor.reference.database import PoolStats
from monitor.reference.retry import CAUSES

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _PoolCollector(Collector):
    def __init__(self, stats: Callable[[], PoolStats]) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        s = self._stats()
        yield GaugeMetricFamily(
            "reference_db_pool_size", "Most database connections the pool hands out.", value=s.size
        )
        yield GaugeMetricFamily(
            "reference_db_pool_in_use", "Database connections checked out now.", value=s.in_use
        )
        yield GaugeMetricFamily(
            "reference_db_pool_waiting",
            "Requests waiting for a database connection now.",
            value=s.waiting,
        )


class ServiceMetrics:
    """Request latency, transaction retries, pool gauges and process memory."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        self.latency = Histogram(
            "reference_http_request_duration_seconds",
            "HTTP request latency by route template, method and status.",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.retries = Counter(
            "reference_tx_retries",
            "Transactions retried, by cause (deadlock, serialization, busy).",
            ["cause"],
            registry=self.registry,
        )
        for cause in CAUSES:
            self.retries.labels(cause=cause)

    def count_retry(self, cause: str) -> None:
        self.retries.labels(cause=cause).inc()

    def watch_pool(self, stats: Callable[[], PoolStats]) -> None:
        self.registry.register(_PoolCollector(stats))

    def render(self) -> bytes:
        return generate_latest(self.registry)
