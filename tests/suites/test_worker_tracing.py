"""A traced sustained load in worker processes is one trace: the workers export their request
spans to the parent's OTLP endpoint (the plan's config, not their environment) as children of
the load's span, every one before they report, and the parent's request metrics get their
trace ids as exemplars (reference target and an OTLP/HTTP endpoint on loopback)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from monitor.daemon.soak import metrics_listener
from monitor.engine import RequestHooks
from monitor.engine.tracing import RequestTracer, setup_tracing
from monitor.observe.metrics import MonitorMetrics
from monitor.reference import ReferenceServer
from monitor.suites.loading.loader import load_suite
from monitor.suites.results.history import History
from monitor.suites.run.runner import RunOptions, run_suites
from tests.plugins.otlp import Receiver, attributes
from tests.suites.test_sustained_processes import PROFILE, suite_file

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
LOADED = ("points.balance", "points.deduct")


def exemplar_traces(metrics: MonitorMetrics) -> set[str]:
    found = set()
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.exemplar is not None and sample.labels.get("operation") in LOADED:
                found.add(sample.exemplar.labels["trace_id"])
    return found


@pytest.mark.parametrize("processes", [1, 2], ids=["in-process", "workers"])
async def test_a_load_s_request_spans_are_children_of_its_span_wherever_it_ran(
    tmp_path: Path, otlp: Receiver, processes: int
) -> None:
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in os.environ  # the workers learn it from the plan
    provider = setup_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url, "OTEL_SERVICE_NAME": "t"})
    hooks = RequestHooks()
    RequestTracer(provider).attach(hooks)
    metrics = MonitorMetrics(CollectorRegistry())
    hooks.add_request_done(metrics_listener(metrics, "split", "loop"))
    seen: list[History] = []
    options = RunOptions(
        seed=5, hooks=hooks, tracer=provider.get_tracer("test"),
        on_history=lambda _s, _n, history, _st: seen.append(history),
    )  # fmt: skip
    async with ReferenceServer() as server:
        suite = load_suite(suite_file(tmp_path, processes=processes, duration=0.5))
        run = await run_suites(server.url, PROFILE, [suite], options)
    await asyncio.to_thread(provider.shutdown)  # the parent's own spans (the workers flushed)
    (scenario,) = run.scenarios
    assert scenario.status == "passed", scenario.checks
    (history,) = seen
    calls = [op for op in history.ops if op.kind in LOADED]

    spans = otlp.spans()
    (scenario_span,) = [s for _, s in spans if s.name == "scenario split/loop"]
    (load,) = [s for _, s in spans if s.name.startswith("load ")]
    assert load.parent_span_id == scenario_span.span_id
    assert load.trace_id == scenario_span.trace_id
    assert attributes(load)["soakmon.load.processes"] == processes
    requests = [(r, s) for r, s in spans if s.name in LOADED]
    # every request of the load is a span under the load's, exported before the run went on
    assert len(requests) == len(calls) > 0
    assert all(s.parent_span_id == load.span_id for _, s in requests)
    assert all(s.trace_id == load.trace_id for _, s in requests)
    assert {r["service.name"] for r, _ in requests} == {"t"}
    if processes > 1:  # sent by the two workers, each named in its resource
        assert {r["soakmon.worker"] for r, _ in requests} == {0, 1}
        assert os.getpid() not in {r["process.pid"] for r, _ in requests}
    # the request metrics' exemplars name the load's trace
    assert exemplar_traces(metrics) == {load.trace_id.hex()}


async def test_a_collector_that_does_not_answer_costs_spans_never_the_load(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listens at the endpoint: each worker gives up exporting after its bound and
    reports; every call of the load is in the history."""
    provider = setup_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"})
    hooks = RequestHooks()
    RequestTracer(provider).attach(hooks)
    seen: list[History] = []
    options = RunOptions(seed=5, hooks=hooks,
                         on_history=lambda _s, _n, history, _st: seen.append(history))  # fmt: skip
    async with ReferenceServer() as server:
        suite = load_suite(suite_file(tmp_path, processes=2, duration=0.5))
        started = time.monotonic()
        run = await run_suites(server.url, PROFILE, [suite], options)
        took = time.monotonic() - started
    threading.Thread(target=provider.shutdown, daemon=True).start()  # it would retry 30 s
    (scenario,) = run.scenarios
    assert scenario.status == "passed", scenario.checks
    (history,) = seen
    assert scenario.requests["total"] == sum(op.kind in LOADED for op in history.ops) > 0
    # a hang guard: each worker waits at most 5 s for the exporter (measured: the run ends
    # 1.5 s after the load with a 1 s bound, 8.5-12 s with 5 s, at load 5-6)
    assert took < 30.0, took
