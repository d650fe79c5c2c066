"""Traces: a span per request under the scenario's span, ``traceparent`` reaches the target,
and spans are exported over real OTLP/HTTP (protobuf) to a collector endpoint on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from monitor.engine import ConcurrentTester, RequestHooks
from monitor.engine.tracing import RequestTracer, setup_tracing, trace_id_of
from monitor.engine.tracing_config import resource_from_env


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[str], list[ExportTraceServiceRequest]]]:
    """A target that records the traceparent it receives, and an OTLP/HTTP traces endpoint."""
    seen_parents: list[str] = []
    exports: list[ExportTraceServiceRequest] = []

    async def target(request: web.Request) -> web.Response:
        seen_parents.append(request.headers.get("traceparent", ""))
        status = 500 if request.path == "/boom" else 200
        return web.json_response({"ok": status == 200}, status=status)

    async def otlp(request: web.Request) -> web.Response:
        assert request.content_type == "application/x-protobuf"
        msg = ExportTraceServiceRequest()
        msg.ParseFromString(await request.read())
        exports.append(msg)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_get("/ok", target)
    app.router.add_get("/boom", target)
    app.router.add_post("/v1/traces", otlp)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", seen_parents, exports
    await runner.cleanup()


async def test_request_spans_are_children_of_the_scenario_and_exported_over_otlp(
    server: tuple[str, list[str], list[ExportTraceServiceRequest]],
) -> None:
    url, seen_parents, exports = server
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": url, "POD_NAME": "soakmon-0", "POD_NAMESPACE": "qa"}
    provider = setup_tracing(env)
    tracer = RequestTracer(provider)
    hooks = RequestHooks()
    tracer.attach(hooks)
    scenario_tracer = provider.get_tracer("test")
    async with ConcurrentTester(url, hooks=hooks) as tester:
        with scenario_tracer.start_as_current_span("scenario points/deduct") as scenario:
            ok = await tester.run_concurrent_requests("GET", "/ok", repeat=3)
            boom = await tester.run_concurrent_requests("GET", "/boom", repeat=1)
    assert ok.success_count == 3
    assert boom.error_count == 1
    scenario_trace = f"{scenario.get_span_context().trace_id:032x}"
    assert len(seen_parents) == 4
    assert {trace_id_of({"traceparent": p}) for p in seen_parents} == {scenario_trace}
    assert tracer.open_spans == 0

    await asyncio.to_thread(provider.force_flush)
    provider.shutdown()
    spans = [
        span
        for export in exports
        for rs in export.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]
    attrs = {
        kv.key: kv.value.string_value
        for export in exports
        for rs in export.resource_spans
        for kv in rs.resource.attributes
    }
    assert attrs["service.name"] == "soakmon"
    assert attrs["k8s.pod.name"] == "soakmon-0"
    assert attrs["k8s.namespace.name"] == "qa"
    requests = [s for s in spans if s.name.startswith("GET ")]
    assert len(requests) == 4
    parent_id = scenario.get_span_context().span_id.to_bytes(8, "big")
    assert all(s.parent_span_id == parent_id for s in requests)
    errors = [s for s in requests if s.status.code == 2]  # STATUS_CODE_ERROR
    assert len(errors) == 1
    assert errors[0].name == "GET /boom"
    assert any(s.name == "scenario points/deduct" for s in spans)


def test_no_endpoint_means_no_exporter_but_spans_still_have_ids() -> None:
    provider = setup_tracing({})
    assert provider._active_span_processor._span_processors == ()  # type: ignore[attr-defined]
    resource = resource_from_env({"OTEL_SERVICE_NAME": "soak", "OTEL_RESOURCE_ATTRIBUTES": "a=b"})
    assert resource.attributes["service.name"] == "soak"
    assert resource.attributes["a"] == "b"
    assert trace_id_of({"traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"}) == "ab" * 16
    assert trace_id_of({"traceparent": "garbage"}) is None
