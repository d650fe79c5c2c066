"""A traced daemon soak in worker processes: the workers export a span per request to the
daemon's OTLP endpoint (its tracing config goes in their plan; their environment has none),
every one before they report, and the daemon's request metrics get their trace ids as
exemplars (loopback target and OTLP/HTTP endpoint, a bounded rate)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from monitor.daemon.config.targets import Target
from monitor.daemon.config.traffic import Soak
from monitor.daemon.soak_processes import SoakProcesses
from monitor.engine.tracing import RequestTracer, setup_tracing, trace_id_of
from monitor.events import EventBus, SoakInterval
from monitor.observe.metrics import MonitorMetrics
from monitor.observe.tracing_metrics import register_span_export
from tests.engine.servers import serve_app
from tests.plugins.otlp import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture
async def target() -> AsyncIterator[tuple[str, list[str]]]:
    """A loopback target keeping the ``traceparent`` of every request."""
    parents: list[str] = []

    async def ok(request: web.Request) -> web.Response:
        parents.append(request.headers.get("traceparent", ""))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", ok)
    async with serve_app(app) as url:
        yield url, parents


async def test_soak_workers_export_a_span_per_request_and_feed_exemplars(
    target: tuple[str, list[str]], otlp: Receiver
) -> None:
    url, parents = target
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in os.environ
    provider = setup_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url, "OTEL_SERVICE_NAME": "d"})
    bus = EventBus()
    windows: list[SoakInterval] = []
    bus.on(SoakInterval, windows.append)
    metrics = MonitorMetrics(CollectorRegistry())
    soak = Soak.model_validate({"name": "s", "target": "t", "rate": 30, "max_vus": 4,
                                "window": 0.5, "processes": 2,
                                "requests": [{"path": "/"}]})  # fmt: skip
    proc = SoakProcesses(soak, Target(url=url), bus=bus, metrics=metrics, processes=2,
                         tracer=RequestTracer(provider))  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.create_task(proc.run(stop))
    deadline = time.monotonic() + 60
    while sum(w.requests for w in windows) < 30:
        assert time.monotonic() < deadline, "no windows from the workers"
        assert not task.done(), [w.describe() for w in proc.workers]
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, 30)
    assert all(w.final is not None for w in proc.workers), [w.describe() for w in proc.workers]
    provider.shutdown()

    requests = [(r, s) for r, s in otlp.spans() if s.name == "GET /"]
    # one span per request the target answered, each a root as in the daemon's own soak
    assert len(requests) == len(parents) == sum(w.requests for w in windows)
    assert {r["soakmon.worker"] for r, _ in requests} == {0, 1}
    assert {r["service.name"] for r, _ in requests} == {"d"}
    assert all(not s.parent_span_id for _, s in requests)
    traces = {s.trace_id.hex() for _, s in requests}
    assert {trace_id_of({"traceparent": p}) for p in parents} == traces
    exemplars = {
        sample.exemplar.labels["trace_id"]
        for family in metrics.registry.collect()
        for sample in family.samples
        if sample.exemplar is not None
    }
    assert exemplars
    assert exemplars <= traces


def logged(caplog: pytest.LogCaptureFixture, *parts: str) -> list[str]:
    return [m for r in caplog.records if all(p in (m := r.getMessage()) for p in parts)]


async def test_a_refused_collector_does_not_hold_up_a_soak_s_stop(
    target: tuple[str, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listens at the endpoint: the workers stop without waiting on it (5 s each, and
    more, before), every window is published, and one warning says how many spans were lost
    and why."""
    url, parents = target
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
    # batches every 0.1 s (the SDK's OTEL_BSP_SCHEDULE_DELAY, through the workers' plan): the
    # workers try the collector while the soak runs
    provider = setup_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
                              "OTEL_BSP_SCHEDULE_DELAY": "100"})  # fmt: skip
    bus = EventBus()
    windows: list[SoakInterval] = []
    bus.on(SoakInterval, windows.append)
    soak = Soak.model_validate({"name": "s", "target": "t", "rate": 30, "max_vus": 4,
                                "window": 0.5, "processes": 2,
                                "requests": [{"path": "/"}]})  # fmt: skip
    metrics = MonitorMetrics(CollectorRegistry())
    register_span_export(metrics.registry, provider)  # as the daemon does
    proc = SoakProcesses(soak, Target(url=url), bus=bus, metrics=metrics, processes=2,
                         tracer=RequestTracer(provider))  # fmt: skip
    caplog.set_level(logging.WARNING, logger="monitor.engine.tracing")
    stop = asyncio.Event()
    task = asyncio.create_task(proc.run(stop))
    deadline = time.monotonic() + 60
    live = (
        f"soak s: worker tracing: cannot export spans to {endpoint}/v1/traces: connection refused"
    )
    while sum(w.requests for w in windows) < 30 or not logged(caplog, live):
        assert time.monotonic() < deadline, ("no windows from the workers, or no warning", windows)
        assert not task.done(), [w.describe() for w in proc.workers]
        await asyncio.sleep(0.1)
    # said while the soak runs, and counted on /metrics
    assert (metrics.registry.get_sample_value("soakmon_trace_spans_ended_total") or 0) > 0
    stop.set()
    stopping = time.monotonic()
    await asyncio.wait_for(task, 30)
    took = time.monotonic() - stopping
    assert took < 3.0, took
    assert all(w.final is not None for w in proc.workers), [w.describe() for w in proc.workers]
    await bus.drain()
    # every request the target answered is in a published window
    assert sum(w.requests for w in windows) == len(parents)
    assert len(logged(caplog, live)) == 1  # once, not per batch nor per worker
    (warning,) = logged(caplog, "soak s: worker tracing: ", "spans not exported to")
    n = len(parents)
    assert warning.startswith(f"soak s: worker tracing: {n} of {n} spans not exported to "
                              f"{endpoint}/v1/traces (connection refused)"), warning  # fmt: skip
    # and on /metrics: the workers' spans, none exported
    value = metrics.registry.get_sample_value
    assert value("soakmon_trace_spans_ended_total") == n
    assert value("soakmon_trace_spans_exported_total") == 0
    assert value("soakmon_trace_spans_export_failed_total") == n
    await asyncio.to_thread(provider.shutdown)
