"""OpenTelemetry tracing: a span per run, scenario and request; W3C ``traceparent`` to the target.

Spans are exported over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or the traces-specific
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set, and nowhere when it is not (spans still exist, so
request metrics get trace-id exemplars and the target still receives ``traceparent``).
Resource attributes come from the environment: ``OTEL_SERVICE_NAME`` (default ``soakmon``),
``OTEL_RESOURCE_ATTRIBUTES``, and the pod's ``POD_NAME`` / ``POD_NAMESPACE`` (downward API).

Work in worker processes is traced as one trace: :meth:`RequestTracer.worker_plan` (in the
parent) gives the tracing config (:class:`~monitor.engine.tracing_config.TracingConfig`:
the endpoint, resource and SDK settings of the parent's provider) and the W3C
``traceparent`` of the span current there; a worker's :class:`WorkerTracing` sets up its own
provider with the same exporter (its resource adds ``soakmon.worker`` and ``process.pid``),
makes its request spans children of that span, and flushes them (within a bound) before the
worker reports it is done, with what became of them.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from monitor import __version__
from monitor.engine.tracing_config import TracingConfig
from monitor.engine.tracing_export import (
    ExportStats,
    GuardedExporter,
    SpanCounter,
    close_bounded,
    report_worker_spans,
)

if TYPE_CHECKING:
    from monitor.engine import RequestHooks, RequestRecord, RequestSpec

_PROPAGATOR = TraceContextTextMapPropagator()
#: Spans of requests still in flight; bounded so a listener that is never called cannot leak.
MAX_OPEN_SPANS = 100_000
#: The longest a shutdown waits for a collector that does not answer (at most the export
#: timeout); one refusing connections or already seen failing is not waited for.
WORKER_FLUSH_S = 5.0

log = logging.getLogger(__name__)


class ConfiguredTracerProvider(TracerProvider):
    """A tracer provider that knows its :class:`TracingConfig`, so worker processes can set
    up the same. Its :meth:`shutdown` is bounded: a collector that refuses connections costs
    no wait, one that does not answer at most :meth:`shutdown_bound_s` once; what was not
    exported is counted and said in one line."""

    def __init__(self, config: TracingConfig, extra: Mapping[str, str | int] | None = None):
        resource = Resource.create({**config.attributes, **(extra or {})})
        super().__init__(sampler=config.sampler(), resource=resource)
        self.config = config
        self.exporter: GuardedExporter | None = None
        self._counter = SpanCounter()
        self._finished: ExportStats | None = None  # workers that ended, summed
        self._running: dict[str, ExportStats] = {}  # running workers: their latest report
        self._closed = False
        self.stats: ExportStats | None = None
        """What became of the spans (set by :meth:`shutdown`; None: not exporting)."""
        if config.endpoint:
            self.exporter = GuardedExporter(config.endpoint, config.export_timeout_s)
            self.add_span_processor(self._counter)
            self.add_span_processor(BatchSpanProcessor(
                self.exporter, max_queue_size=config.queue_size,
                schedule_delay_millis=config.schedule_delay_ms,
                max_export_batch_size=config.batch_size,
            ))  # fmt: skip

    def shutdown_bound_s(self, most: float = WORKER_FLUSH_S) -> float:
        """The longest a shutdown waits for a collector that does not answer: the export
        timeout, at most ``most``."""
        return min(self.config.export_timeout_s, most)

    def shutdown(self, bound_s: float | None = None) -> None:
        """Export what is queued and stop, within the bound; log what was not exported."""
        if self._closed:
            return
        self._closed = True
        if self.exporter is None:
            super().shutdown()
            return
        bound = self.shutdown_bound_s() if bound_s is None else bound_s
        close_bounded(super().shutdown, self.exporter, bound)
        self.stats = self.exporter.stats(self._counter.ended)
        if self.stats.not_exported:
            log.warning("tracing: %s", self.stats.describe(self.config.queue_size))

    def export_stats(self) -> ExportStats | None:
        """What became of this process's spans so far (the final count after
        :meth:`shutdown`; None: not exporting)."""
        if self.stats is not None or self.exporter is None:
            return self.stats
        return self.exporter.stats(self._counter.ended)

    def worker_stats(self, key: str, stats: ExportStats | None, *, ended: bool) -> None:
        """Count the spans of worker ``key`` (traced with this provider's config): its latest
        report while it runs, its last one once it ``ended`` (None: no more of it)."""
        self._running.pop(key, None)
        if stats is None:
            return
        if not ended:
            self._running[key] = stats
            return
        self._finished = stats if self._finished is None else self._finished + stats

    def all_export_stats(self) -> ExportStats | None:
        """This process's spans and those its workers reported."""
        total = self.export_stats()
        for stats in [self._finished, *list(self._running.values())]:
            if stats is not None:
                total = stats if total is None else total + stats
        return total


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
        configured = provider if isinstance(provider, ConfiguredTracerProvider) else None
        self.provider = configured
        """The provider when it is soakmon's (None: a provider of the caller's own)."""
        self.config = configured.config if configured is not None else None
        """How the provider was set up (None: a provider of the caller's own)."""

    def worker_spans(self, where: str, docs: list[dict[str, Any]]) -> None:
        """What worker processes reported of their spans at their end (:class:`ExportStats` as
        JSON): one warning for those not exported, and counted with the provider's own."""
        stats = report_worker_spans(where, docs, self.config.queue_size if self.config else None)
        if stats is not None and self.provider is not None:
            self.provider.worker_stats(where, stats, ended=True)

    def running_worker_spans(self, key: str, doc: dict[str, Any]) -> ExportStats:
        """A running worker's report so far (counted live, e.g. on ``/metrics``)."""
        stats = ExportStats.from_wire(doc)
        if self.provider is not None:
            self.provider.worker_stats(key, stats, ended=False)
        return stats

    def worker_ended(self, key: str) -> None:
        """Worker ``key`` ended: its running report is superseded by :meth:`worker_spans`."""
        if self.provider is not None:
            self.provider.worker_stats(key, None, ended=True)

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

    def flush(self) -> dict[str, Any] | None:
        """Export every span still queued and shut the provider down, within its bound (a
        dead collector costs spans, never the worker's results); what became of the spans, as
        JSON types, for the parent to report (None: not exporting)."""
        self.provider.shutdown()
        stats = self.provider.export_stats()
        return stats.to_wire() if stats is not None else None
