"""Span export that a dead collector cannot hold up, and that says what it lost.

:class:`GuardedExporter` wraps the SDK's ``OTLPSpanExporter`` (its retries, backoff and timeout
unchanged while the process runs) and watches every HTTP attempt through the ``requests``
session the exporter takes: the first failure (connection refused, a timeout, an HTTP error
status) is logged once, naming the endpoint and the cause, instead of the SDK's line per
attempt and per batch. At shutdown (:func:`close_bounded`) a collector already seen failing
is not tried again (the SDK would back off 1 + 2 + 4 s per batch), and one that does not
answer is waited for at most the bound once; then the spans not exported are counted
(:class:`ExportStats`): those the batch processor's full queue dropped, those whose export
failed, those still queued.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

log = logging.getLogger("monitor.engine.tracing")

#: The SDK's messages said once by :class:`GuardedExporter` instead (per attempt / batch there).
_SDK_NOISE = (
    "Transient error",
    "Failed to export",
    "Shutdown in progress",
    "Exporter already shutdown",
    "OTLP client already shutdown",
)
_SDK_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.common.http",
)


class _QuietSdk(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_SDK_NOISE)


_QUIET = _QuietSdk()


def quiet_sdk_export_logs() -> None:
    """Drop the SDK exporter's per-attempt and per-batch failure lines (idempotent)."""
    for name in _SDK_LOGGERS:
        logger = logging.getLogger(name)
        if _QUIET not in logger.filters:
            logger.addFilter(_QUIET)


class SpanCounter(SpanProcessor):
    """Counts the sampled spans that ended (what the batch processor was given)."""

    def __init__(self) -> None:
        self._ended = itertools.count()
        self._n = 0

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is not None and span.context.trace_flags.sampled:
            self._n = next(self._ended) + 1

    @property
    def ended(self) -> int:
        return self._n


class _WatchedSession(requests.Session):
    """The exporter's HTTP session: every failed attempt goes to ``on_error``."""

    def __init__(self, on_error: Callable[[str], None]) -> None:
        super().__init__()
        self._on_error = on_error

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        try:
            response = super().request(method, url, *args, **kwargs)  # type: ignore[arg-type]
        except requests.RequestException as exc:
            self._on_error(_cause(exc))
            raise
        if response.status_code >= 400:
            self._on_error(f"HTTP {response.status_code} {response.reason}")
        return response


def _cause(exc: BaseException) -> str:
    """``connection refused``, ``no answer within 2.0 s``, or the exception's last words."""
    if isinstance(exc, requests.Timeout):
        return "no answer (timed out)"
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "unknown host"
    return f"{type(exc).__name__}: {text[-200:]}"


@dataclass(frozen=True, slots=True)
class ExportStats:
    """What became of a provider's spans: ``ended`` (sampled, given to the batch processor),
    ``exported``, ``failed`` (their export failed), ``queued`` (not exported at shutdown) and
    ``reason`` (the last failure, None: none)."""

    endpoint: str
    ended: int
    exported: int
    failed: int
    reason: str | None = None

    @property
    def not_exported(self) -> int:
        return max(0, self.ended - self.exported)

    @property
    def dropped(self) -> int:
        """Spans that never reached an export: the full queue dropped them, or they were still
        queued when the shutdown gave up."""
        return max(0, self.ended - self.exported - self.failed)

    def to_wire(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "ended": self.ended, "exported": self.exported,
                "failed": self.failed, "reason": self.reason}  # fmt: skip

    @classmethod
    def from_wire(cls, doc: Mapping[str, Any]) -> ExportStats:
        return cls(str(doc["endpoint"]), int(doc["ended"]), int(doc["exported"]),
                   int(doc["failed"]), doc.get("reason"))  # fmt: skip

    def __add__(self, other: ExportStats) -> ExportStats:
        return ExportStats(self.endpoint, self.ended + other.ended,
                           self.exported + other.exported, self.failed + other.failed,
                           self.reason or other.reason)  # fmt: skip

    def describe(self, queue_size: int) -> str:
        """``120 of 4000 spans not exported to URL (connection refused): ...``."""
        parts = []
        if self.failed:
            parts.append(f"{self.failed} in failed exports")
        if self.dropped:
            parts.append(
                f"{self.dropped} never sent (dropped by the full batch queue of {queue_size} "
                f"spans, or still queued when the export was given up; for high request rates "
                f"raise OTEL_BSP_MAX_QUEUE_SIZE or sample with "
                f"OTEL_TRACES_SAMPLER=parentbased_traceidratio)"
            )
        cause = f" ({self.reason})" if self.reason else ""
        return (f"{self.not_exported} of {self.ended} spans not exported to "
                f"{self.endpoint}{cause}: " + "; ".join(parts))  # fmt: skip


class GuardedExporter(SpanExporter):
    """The SDK's OTLP/HTTP span exporter, counted, its failures said once, and given up at
    shutdown when the collector is dead (:meth:`give_up`)."""

    def __init__(self, endpoint: str, timeout_s: float) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        quiet_sdk_export_logs()
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self.inner = OTLPSpanExporter(
            endpoint=endpoint, timeout=timeout_s, session=_WatchedSession(self.note_error)
        )
        self.exported = 0
        self.failed = 0
        self.reason: str | None = None
        self._warned = False
        self._closing = False
        self._dead = False
        self._inflight = 0
        self._lock = threading.Lock()

    def note_error(self, reason: str) -> None:
        """An attempt failed: said once (the first); at shutdown, no more attempts."""
        with self._lock:
            self.reason = reason
            warn, self._warned = not self._warned, True
            closing = self._closing
        if warn:
            log.warning("tracing: cannot export spans to %s: %s (measurements are unaffected; "
                        "the spans not exported are counted at the end)",
                        self.endpoint, reason)  # fmt: skip
        if closing:
            self.give_up()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._dead:
            self.failed += len(spans)
            return SpanExportResult.FAILURE
        self._inflight = len(spans)
        try:
            result = self.inner.export(spans)
        finally:
            self._inflight = 0
        if result is SpanExportResult.SUCCESS:
            self.exported += len(spans)
        else:
            self.failed += len(spans)
            if self.reason is None:
                self.note_error("export failed")
        return result

    def closing(self) -> None:
        """The process is shutting down: a collector already seen failing is not tried again,
        and the first failure from now on ends the export."""
        with self._lock:
            self._closing = True
            failed = self.reason is not None
        if failed:
            self.give_up()

    def give_up(self) -> None:
        """No more export attempts: a retry's backoff ends now (the SDK's shutdown event)."""
        with self._lock:
            if self._dead:
                return
            self._dead = True
        self.inner.shutdown()  # type: ignore[no-untyped-call]

    def shutdown(self) -> None:
        self.give_up()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def stats(self, ended: int) -> ExportStats:
        """The counts now; a batch still on its way after :meth:`give_up` counts as failed."""
        failed = self.failed + (self._inflight if self._dead else 0)
        return ExportStats(self.endpoint, ended, self.exported, failed, self.reason)


def close_bounded(shutdown: Callable[[], None], exporter: GuardedExporter, bound_s: float) -> None:
    """Run ``shutdown`` (the provider's: the batch processor exports what it holds) for at most
    ``bound_s``; past that, give the export up (a collector that accepts and never answers)."""
    exporter.closing()
    done = threading.Thread(target=shutdown, name="soakmon-span-flush", daemon=True)
    done.start()
    done.join(bound_s)
    if done.is_alive():
        exporter.note_error(f"no answer within {bound_s:g} s")
        exporter.give_up()


def report_worker_spans(
    where: str, docs: Sequence[Mapping[str, Any]], queue: int | None
) -> ExportStats | None:
    """One warning for the spans worker processes did not export (their :class:`ExportStats`
    as JSON, summed), naming the endpoint and the cause; the sum (None: no report)."""
    if not docs:
        return None
    stats = [ExportStats.from_wire(d) for d in docs]
    total = stats[0]
    for more in stats[1:]:
        total = total + more
    if total.not_exported:
        log.warning("%s: worker tracing: %s", where, total.describe(queue or 2048))
    return total
