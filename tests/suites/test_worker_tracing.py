"""A traced sustained load in worker processes is one trace: the workers export their request
spans to the parent's OTLP endpoint (the plan's config, not their environment) as children of
the load's span, every one before they report, and the parent's request metrics get their
trace ids as exemplars (reference target and an OTLP/HTTP endpoint on loopback)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Iterator
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


@pytest.fixture(params=["refused", "silent"])
def dead_collector(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """An OTLP endpoint on loopback that is dead: a closed port (connection refused), or a
    socket that accepts connections and never answers. The URL and the cause the user is told."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    if request.param == "refused":
        sock.close()
        yield f"http://127.0.0.1:{port}", "connection refused"
        return
    sock.listen(64)  # the kernel completes the handshakes; nothing ever reads or answers
    try:
        yield f"http://127.0.0.1:{port}", "no answer"
    finally:
        sock.close()


async def test_a_dead_collector_costs_spans_never_the_load_nor_its_end(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, dead_collector: tuple[str, str]
) -> None:
    """The run goes on right after the load (not after retries and backoff per batch and per
    worker: 8.5-12 s before, at load 5), every call is in the history, and one warning names
    the endpoint, the cause and how many spans were not exported."""
    url, cause = dead_collector
    # a 1 s export timeout (in the parent's config only: the workers get it from the plan)
    provider = setup_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": url,
                              "OTEL_EXPORTER_OTLP_TIMEOUT": "1"})  # fmt: skip
    hooks = RequestHooks()
    RequestTracer(provider).attach(hooks)
    seen: list[History] = []
    options = RunOptions(seed=5, hooks=hooks,
                         on_history=lambda _s, _n, history, _st: seen.append(history))  # fmt: skip
    caplog.set_level(logging.WARNING, logger="monitor.engine.tracing")
    async with ReferenceServer() as server:
        suite = load_suite(suite_file(tmp_path, processes=2, duration=0.5))
        run = await run_suites(server.url, PROFILE, [suite], options)
        ended = time.monotonic()
    (scenario,) = run.scenarios
    assert scenario.status == "passed", scenario.checks
    (history,) = seen
    loaded = [op for op in history.ops if op.kind in LOADED]
    assert scenario.requests["total"] == len(loaded) > 0
    # what the user waits for after the load: a refused connection costs no wait, a silent
    # collector the 1 s export timeout once (the workers wait side by side)
    # the load is measured as long as it ran (its span export is not part of it): one 0.5 s
    # window of throughput, not one per second the export took
    assert len(scenario.state["throughput"]["windows"]) == 1, scenario.state["throughput"]
    after_load = ended - max(op.completed_at or 0.0 for op in loaded)
    assert after_load < (3.0 if cause == "connection refused" else 4.0), after_load
    (warning,) = [r.getMessage() for r in caplog.records if "worker tracing" in r.getMessage()]
    assert f"{url}/v1/traces" in warning, warning
    assert cause in warning, warning
    assert warning.startswith(f"phases[0]: worker tracing: {len(loaded)} of {len(loaded)} spans")
    started = time.monotonic()
    await asyncio.to_thread(provider.shutdown)  # the parent's own spans: bounded alike
    assert time.monotonic() - started < 3.0
    assert provider.stats is not None
    assert provider.stats.exported == 0


async def test_the_sampler_set_for_the_parent_is_the_workers_sampler(
    tmp_path: Path, otlp: Receiver
) -> None:
    """OTEL_TRACES_SAMPLER in the parent's tracing config (not the workers' environment)
    holds in the workers: a ratio of 0 exports no request span, and the load is whole."""
    provider = setup_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url,
                              "OTEL_TRACES_SAMPLER": "traceidratio",
                              "OTEL_TRACES_SAMPLER_ARG": "0"})  # fmt: skip
    hooks = RequestHooks()
    RequestTracer(provider).attach(hooks)
    async with ReferenceServer() as server:
        suite = load_suite(suite_file(tmp_path, processes=2, duration=0.5))
        run = await run_suites(server.url, PROFILE, [suite], RunOptions(seed=5, hooks=hooks))
    await asyncio.to_thread(provider.shutdown)
    (scenario,) = run.scenarios
    assert scenario.status == "passed", scenario.checks
    assert scenario.requests["total"] > 0
    assert [s.name for _, s in otlp.spans()] == []
