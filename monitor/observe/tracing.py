"""OpenTelemetry tracing: a span per run, scenario and request; W3C ``traceparent`` to the target.

Spans are exported over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the traces-specific
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set, and nowhere when it is not (spans still exist, so
request metrics get trace-id exemplars and the target still receives ``traceparent``).
Resource attributes come from the environment: ``OTEL_SERVICE_NAME`` (default ``soakmon``),
``OTEL_RESOURCE_ATTRIBUTES``, and the pod's ``POD_NAME`` / ``POD_NAMESPACE`` (downward API).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from monitor import __version__

if TYPE_CHECKING:
    from monitor.engine import RequestHooks, RequestRecord, RequestSpec

_PROPAGATOR = TraceContextTextMapPropagator()
#: Spans of requests still in flight; bounded so a listener that is never called cannot leak.
MAX_OPEN_SPANS = 100_000


def resource_from_env(env: Mapping[str, str]) -> Resource:
    """Service name, version and Kubernetes pod attributes taken from ``env``."""
    attrs: dict[str, str] = {
        "service.name": env.get("OTEL_SERVICE_NAME", "soakmon"),
        "service.version": __version__,
    }
    for key, attr in (("POD_NAME", "k8s.pod.name"), ("POD_NAMESPACE", "k8s.namespace.name")):
        if env.get(key):
            attrs[attr] = env[key]
    for pair in env.get("OTEL_RESOURCE_ATTRIBUTES", "").split(","):
        if "=" in pair:
            k, v = pair.split("=", 1)
            attrs.setdefault(k.strip(), v.strip())
    return Resource.create(attrs)


def setup_tracing(env: Mapping[str, str] | None = None) -> TracerProvider:
    """A tracer provider for this process; exports only when an OTLP endpoint is configured."""
    env = os.environ if env is None else env
    provider = TracerProvider(resource=resource_from_env(env))
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        if not env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
            endpoint = endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def trace_id_of(headers: Mapping[str, str] | None) -> str | None:
    """The trace id in a ``traceparent`` header (``00-<trace id>-<span id>-<flags>``)."""
    if not headers:
        return None
    value = headers.get("traceparent")
    if not value:
        return None
    parts = value.split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None


class RequestTracer:
    """Engine hook listeners: open a client span before a request, close it when it is done.

    The span is a child of whatever span is current in the task that sends the request (the
    scenario's), and its context travels to the target as ``traceparent``.
    """

    def __init__(self, provider: trace.TracerProvider) -> None:
        self._tracer = provider.get_tracer("soakmon.engine", __version__)
        self._open: dict[str, Span] = {}

    def attach(self, hooks: RequestHooks) -> None:
        hooks.add_before_send(self.before_send)
        hooks.add_request_done(self.request_done)

    def before_send(self, spec: RequestSpec) -> dict[str, str]:
        if len(self._open) >= MAX_OPEN_SPANS:
            return {}
        span = self._tracer.start_span(spec.label, kind=SpanKind.CLIENT)
        span.set_attribute("http.request.method", spec.method)
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
        self._open[carrier["traceparent"]] = span
        return carrier

    def request_done(self, record: RequestRecord) -> None:
        key = (record.sent_headers or {}).get("traceparent")
        span = self._open.pop(key, None) if key else None
        if span is None:
            return
        span.set_attribute("url.full", record.url)
        if record.status is not None:
            span.set_attribute("http.response.status_code", record.status)
        if record.error is not None:
            span.set_attribute("error.type", record.error_kind or "other")
            span.set_status(Status(StatusCode.ERROR, record.error))
        elif record.status is not None and record.status >= 500:
            span.set_status(Status(StatusCode.ERROR, f"HTTP {record.status}"))
        end_ns = int((record.started_at + record.duration_ms / 1000.0) * 1e9)
        span.end(end_time=end_ns)

    @property
    def open_spans(self) -> int:
        return len(self._open)
