"""Span export at shutdown, in the process that made the spans (the daemon's own provider, the
CLI's): a collector that never answers holds the shutdown at most the export timeout once, a
full batch queue's drops are counted, and each is one warning naming the endpoint (real
OTLP/HTTP endpoint and a silent socket on loopback)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest

from monitor.engine.tracing import setup_tracing
from tests.plugins.otlp import Receiver

pytestmark = pytest.mark.timeout(60)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "monitor.engine.tracing"]


async def test_a_full_batch_queue_s_drops_are_counted_and_said(
    otlp: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    """A queue of 4 spans (OTEL_BSP_MAX_QUEUE_SIZE, as the SDK reads it) fills while the first
    batch is on its way: what it dropped is the count the warning gives, and the rest arrived."""
    provider = setup_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url,
                              "OTEL_BSP_MAX_QUEUE_SIZE": "4",
                              "OTEL_BSP_SCHEDULE_DELAY": "60000"})  # fmt: skip
    tracer = provider.get_tracer("t")
    for i in range(1000):
        tracer.start_span(f"s{i}").end()
    await asyncio.to_thread(provider.shutdown)
    received = len(otlp.spans())
    stats = provider.stats
    assert stats is not None
    assert (stats.ended, stats.exported) == (1000, received)
    assert 0 < received < 1000
    (warning,) = _warnings(caplog)
    assert warning.startswith(f"tracing: {1000 - received} of 1000 spans not exported to "
                              f"{otlp.url}/v1/traces"), warning  # fmt: skip
    assert "queue of 4 spans" in warning
    assert "OTEL_BSP_MAX_QUEUE_SIZE" in warning


async def test_a_silent_collector_holds_a_shutdown_one_export_timeout(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """It accepts connections and never answers: the shutdown gives the export up after the
    1 s export timeout (the SDK alone waits 30 s for its batch thread), and says so once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        provider = setup_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": url,
                                  "OTEL_EXPORTER_OTLP_TIMEOUT": "1"})  # fmt: skip
        tracer = provider.get_tracer("t")
        for i in range(600):  # more than a batch: the export starts before the shutdown
            tracer.start_span(f"s{i}").end()
        started = time.monotonic()
        await asyncio.to_thread(provider.shutdown)
        took = time.monotonic() - started
    assert took < 3.0, took
    (warning,) = [w for w in _warnings(caplog) if "spans not exported to" in w]
    assert warning.startswith(f"tracing: 600 of 600 spans not exported to {url}/v1/traces (no "
                              "answer"), warning  # fmt: skip
    # the batch on its way (512) is failed, the rest failed after it or never sent: either
    # way every span is counted, once
    assert provider.stats is not None
    assert provider.stats.failed >= 512, provider.stats
    assert provider.stats.failed + provider.stats.dropped == 600, provider.stats


async def test_a_refused_connection_costs_a_shutdown_no_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing listens: one attempt fails at once and the shutdown does not back off and retry
    (the SDK's 1 + 2 + 4 s per batch); one warning when it fails, one count at the end."""
    caplog.set_level(logging.WARNING)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    provider = setup_tracing({"OTEL_EXPORTER_OTLP_ENDPOINT": url})
    tracer = provider.get_tracer("t")
    for i in range(1200):  # two batches and more
        tracer.start_span(f"s{i}").end()
    started = time.monotonic()
    await asyncio.to_thread(provider.shutdown)
    took = time.monotonic() - started
    assert took < 2.0, took
    first, last = _warnings(caplog)
    assert first.startswith(f"tracing: cannot export spans to {url}/v1/traces: connection refused")
    assert last.startswith(f"tracing: 1200 of 1200 spans not exported to {url}/v1/traces "
                           "(connection refused)"), last  # fmt: skip
    # the SDK's own line per attempt and per batch is not repeated beside them
    assert not [r for r in caplog.records if r.name.startswith("opentelemetry.exporter")]
