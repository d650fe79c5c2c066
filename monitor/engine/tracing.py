"""OpenTelemetry tracing: a span per run, scenario and request; W3C ``traceparent`` to the target.

Spans are exported over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the traces-specific
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set, and nowhere when it is not (spans still exist, so
request metrics get trace-id exemplars and the target still receives ``traceparent``).
Resource attributes come from the environment: ``OTEL_SERVICE_NAME`` (default ``soakmon``),
``OTEL_RESOURCE_ATTRIBUTES``, and the pod's ``POD_NAME`` / ``POD_NAMESPACE`` (downward API).

Work in worker processes is traced as one trace: :meth:`RequestTracer.worker_plan` (in the
parent) gives the tracing config (:class:`TracingConfig`: the endpoint and resource of the
parent's provider) and the W3C ``traceparent`` of the span current there; a worker's
:class:`WorkerTracing` sets up its own provider with the same exporter (its resource adds
``soakmon.worker`` and ``process.pid``), makes its request spans children of that span, and
flushes them before the worker reports it is done.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
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
#: How long a worker process waits for its spans to be exported before it reports done.
WORKER_FLUSH_S = 5.0

log = logging.getLogger(__name__)


def resource_attributes(env: Mapping[str, str]) -> dict[str, str]:
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
    return attrs


def resource_from_env(env: Mapping[str, str]) -> Resource:
    """The resource of :func:`resource_attributes`."""
    return Resource.create(resource_attributes(env))


@dataclass(frozen=True, slots=True)
class TracingConfig:
    """How a process traces: the OTLP/HTTP traces URL (None: spans are made, not exported)
    and the resource attributes. The exporter's other settings (``OTEL_EXPORTER_OTLP_HEADERS``,
    ``..._TIMEOUT``, ``..._CERTIFICATE``) it reads from the environment, which worker
    processes inherit."""

    endpoint: str | None
    attributes: Mapping[str, str | int] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> TracingConfig:
        traces = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        endpoint = traces or (base.rstrip("/") + "/v1/traces" if base else None)
        return cls(endpoint, resource_attributes(env))

    def to_wire(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "attributes": dict(self.attributes)}

    @classmethod
    def from_wire(cls, doc: Mapping[str, Any]) -> TracingConfig:
        return cls(doc.get("endpoint"), dict(doc.get("attributes") or {}))

    def provider(self, **extra: str | int) -> ConfiguredTracerProvider:
        """A tracer provider set up as this says (``extra``: more resource attributes)."""
        return ConfiguredTracerProvider(self, extra)


class ConfiguredTracerProvider(TracerProvider):
    """A tracer provider that knows its :class:`TracingConfig`, so worker processes can set
    up the same."""

    def __init__(self, config: TracingConfig, extra: Mapping[str, str | int] | None = None):
        super().__init__(resource=Resource.create({**config.attributes, **(extra or {})}))
        self.config = config
        if config.endpoint:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=config.endpoint)
            self.add_span_processor(BatchSpanProcessor(exporter))


def setup_tracing(env: Mapping[str, str] | None = None) -> ConfiguredTracerProvider:
    """A tracer provider for this process; exports only when an OTLP endpoint is configured."""
    return TracingConfig.from_env(os.environ if env is None else env).provider()


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
        self.config = provider.config if isinstance(provider, ConfiguredTracerProvider) else None
        """How the provider was set up (None: a provider of the caller's own)."""

    def attach(self, hooks: RequestHooks) -> None:
        """Trace the requests of ``hooks`` (which then name this tracer: ``hooks.tracer``)."""
        hooks.add_before_send(self.before_send)
        hooks.add_request_done(self.request_done)
        hooks.tracer = self

    @contextlib.contextmanager
    def span(self, name: str, attributes: Mapping[str, str | int]) -> Iterator[Span]:
        """A span around work that sends requests (a sustained load): current while it runs,
        so its requests' spans, here and in worker processes, are its children."""
        with self._tracer.start_as_current_span(name, attributes=dict(attributes)) as span:
            yield span

    def worker_plan(self) -> dict[str, Any]:
        """What a worker process needs to trace its requests as this tracer does, as JSON
        types: the tracing config (None: a provider of the caller's own; the worker then sets
        one up from its environment) and the ``traceparent`` of the current span (None:
        none; the workers' request spans are roots, as this tracer's are then)."""
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier)
        return {
            "config": self.config.to_wire() if self.config is not None else None,
            "traceparent": carrier.get("traceparent"),
        }

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


class WorkerTracing:
    """Tracing in a worker process, set up from its parent's :meth:`RequestTracer.worker_plan`:
    its own provider with the parent's exporter, a :class:`RequestTracer` on ``hooks``, and
    the parent's span as the parent of what runs :meth:`under_parent`."""

    def __init__(self, plan: Mapping[str, Any], hooks: RequestHooks, *, worker: int) -> None:
        wire = plan.get("config")
        config = TracingConfig.from_wire(wire) if wire else TracingConfig.from_env(os.environ)
        self.provider = config.provider(**{"soakmon.worker": worker, "process.pid": os.getpid()})
        RequestTracer(self.provider).attach(hooks)
        parent = plan.get("traceparent")
        self._parent = _PROPAGATOR.extract({"traceparent": parent}) if parent else None

    @contextlib.contextmanager
    def under_parent(self) -> Iterator[None]:
        """The parent's span is current (tasks started here inherit it)."""
        if self._parent is None:
            yield
            return
        token = otel_context.attach(self._parent)
        try:
            yield
        finally:
            otel_context.detach(token)

    def flush(self, timeout_s: float = WORKER_FLUSH_S) -> bool:
        """Export every span still queued and shut the provider down, waiting at most
        ``timeout_s``: an exporter that does not answer does not hold up the worker's results
        (its spans are lost, and said so)."""
        flusher = threading.Thread(target=self.provider.shutdown, name="soakmon-span-flush",
                                   daemon=True)  # fmt: skip
        flusher.start()
        flusher.join(timeout_s)
        if flusher.is_alive():
            log.warning("spans not exported to %s within %.0f s: the rest are dropped",
                        self.provider.config.endpoint, timeout_s)  # fmt: skip
            return False
        return True
