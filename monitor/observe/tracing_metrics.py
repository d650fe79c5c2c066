"""The daemon's span export as Prometheus counters, read from its tracer provider at scrape
time: spans that ended (sampled, given to the batch processor), were exported, or were in a
failed export, in the daemon's process and in its worker processes (counted when a load or a
soak in workers ends). ``ended - exported - export_failed`` are queued, or were dropped by the
full batch queue: growing, the collector does not keep up (``OTEL_BSP_MAX_QUEUE_SIZE``, a
sampler)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from monitor.engine.tracing import ConfiguredTracerProvider


class SpanExportCollector(Collector):
    """``soakmon_trace_spans_{ended,exported,export_failed}_total`` of ``provider``."""

    def __init__(self, provider: ConfiguredTracerProvider) -> None:
        self.provider = provider

    def collect(self) -> Iterator[CounterMetricFamily]:
        stats = self.provider.all_export_stats()
        if stats is None:  # not exporting: nothing to count
            return
        yield CounterMetricFamily(
            "soakmon_trace_spans_ended",
            "Spans that ended and were sampled (given to the batch processor for export).",
            value=stats.ended,
        )
        yield CounterMetricFamily(
            "soakmon_trace_spans_exported",
            "Spans the OTLP collector accepted.",
            value=stats.exported,
        )
        yield CounterMetricFamily(
            "soakmon_trace_spans_export_failed",
            "Spans in exports that failed (collector unreachable, not answering, an HTTP error).",
            value=stats.failed,
        )


def register_span_export(registry: CollectorRegistry, provider: object) -> None:
    """Export ``provider``'s span counts on ``registry`` (only soakmon's own provider)."""
    if isinstance(provider, ConfiguredTracerProvider):
        registry.register(SpanExportCollector(provider))
