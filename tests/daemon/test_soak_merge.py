"""How a soak in worker processes is split and how the workers' windows are merged (the
parent's books, fed the messages workers send; the processes themselves are tested in
test_soak_processes)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry

from monitor.daemon.config.targets import Target
from monitor.daemon.config.traffic import Soak
from monitor.daemon.soak_processes import SoakProcesses
from monitor.engine import ConcurrentResult, LatencyHistogram
from monitor.engine.wire import result_to_wire
from monitor.engine.workers import Worker
from monitor.events import EventBus, SoakInterval
from monitor.observe.metrics import LATENCY_BUCKETS, MonitorMetrics, RequestCounts

TARGET = Target(url="http://127.0.0.1:9")


def soak(**fields: Any) -> Soak:
    return Soak.model_validate({"name": "s", "target": "t", "requests": [{"path": "/"}], **fields})


def books(processes: int, **fields: Any) -> tuple[SoakProcesses, list[SoakInterval]]:
    bus = EventBus()
    seen: list[SoakInterval] = []
    bus.on(SoakInterval, seen.append)
    metrics = MonitorMetrics(CollectorRegistry())
    return SoakProcesses(soak(**fields), TARGET, bus=bus, metrics=metrics,
                         processes=processes), seen  # fmt: skip


def test_vus_and_rate_are_split_exactly() -> None:
    assert books(2, vus=5)[0].shares == [{"vus": 3}, {"vus": 2}]
    assert books(4, vus=2)[0].shares == [{"vus": 1}, {"vus": 1}]  # never more workers than VUs
    assert books(3)[0].shares == [{"vus": 2}, {"vus": 2}, {"vus": 1}]  # the default 5 VUs
    rated = books(2, rate=101, max_vus=7)[0].shares
    assert rated == [{"rate": 50.5, "max_vus": 4}, {"rate": 50.5, "max_vus": 3}]


def window(index: int, latencies: list[float], errors: int = 0) -> dict[str, Any]:
    result = ConcurrentResult(sample_limit=0)
    result.histogram.record_many(latencies)
    result.success_count = len(latencies) - errors
    result.error_count = errors
    counts = RequestCounts()
    for ms in latencies:
        counts.observe(ms / 1000)
    entry = {"operation": "GET /", "outcome": "ok", "count": counts.count, "sum_s": counts.sum_s,
             "buckets": counts.buckets}  # fmt: skip
    return {"interval": {"index": index, "start_s": index * 1.0, "end_s": index + 1.0,
                         "result": result_to_wire(result), "requests": [entry]}}  # fmt: skip


def test_a_window_is_published_once_every_live_worker_sent_it_and_merges_exactly() -> None:
    proc, seen = books(2, vus=2)
    w0, w1 = Worker(0, {"vus": 1}), Worker(1, {"vus": 1})
    proc._live = {0, 1}
    proc._on_message(w0, window(0, [1.0, 2.0, 3.0]))
    assert seen == []  # worker 1's part of window 0 is still to come
    proc._on_message(w1, window(0, [4.0, 500.0], errors=1))
    (merged,) = seen
    one = LatencyHistogram()
    one.record_many([1.0, 2.0, 3.0, 4.0, 500.0])
    assert (merged.requests, merged.errors, merged.workers) == (5, 1, 2)
    assert merged.histogram.percentiles([50, 95, 100]) == one.percentiles([50, 95, 100])
    registry = proc.metrics.registry
    labels = {"suite": "soak", "scenario": "s", "operation": "GET /", "outcome": "ok",
              "target": "t"}  # fmt: skip
    assert registry.get_sample_value("soakmon_requests_total", labels) == 5
    count = registry.get_sample_value("soakmon_request_duration_seconds_count", labels)
    assert count == 5
    total = registry.get_sample_value("soakmon_request_duration_seconds_sum", labels)
    assert total is not None
    assert abs(total - 0.51) < 1e-9
    le = {**labels, "le": str(LATENCY_BUCKETS[0])}  # 1 ms: one request
    assert registry.get_sample_value("soakmon_request_duration_seconds_bucket", le) == 1
    le = {**labels, "le": "0.5"}
    assert registry.get_sample_value("soakmon_request_duration_seconds_bucket", le) == 5


def test_a_lagging_worker_is_not_waited_for_forever() -> None:
    proc, seen = books(2, vus=2)
    w0, w1 = Worker(0, {"vus": 1}), Worker(1, {"vus": 1})
    proc._live = {0, 1}
    for index in range(3):
        proc._on_message(w0, window(index, [1.0]))
    assert [s.workers for s in seen] == [1]  # window 0, two behind the newest: published
    proc._on_message(w1, window(1, [1.0]))
    assert [s.workers for s in seen] == [1, 2]


def test_a_worker_that_started_later_joins_the_window_of_its_start_and_order_holds() -> None:
    """Workers send the slot of each window on the daemon's grid: one that got going after
    the first edge has no part in window 0, which is published (alone) once that worker's
    first window, 1, arrives, and before window 1; each window ends where the grid says."""
    proc, seen = books(2, vus=2)
    w0, w1 = Worker(0, {"vus": 1}), Worker(1, {"vus": 1})
    proc._live = {0, 1}
    proc._on_message(w0, window(0, [1.0]))
    proc._on_message(w0, window(1, [1.0, 2.0]))
    assert seen == []  # worker 1 has said nothing yet: it may still send window 0
    proc._on_message(w1, window(1, [3.0]))
    assert [(s.requests, s.workers) for s in seen] == [(1, 1), (3, 2)]
    assert [s.monotonic - proc._origin for s in seen] == [1.0, 2.0]  # the grid's edges
    assert [s.seconds for s in seen] == [1.0, 1.0]
