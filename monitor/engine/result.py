"""``ConcurrentResult``: the aggregate of one call or run (counters, histogram, samples)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any

from monitor.engine.errorlog import ErrorLog
from monitor.engine.histogram import LatencyHistogram
from monitor.engine.spec import RequestRecord
from monitor.engine.sync.delivery import PhaseDelivery

SuccessRule = Callable[[RequestRecord], bool]
"""Decides whether a record counts as a success (default: response < 400, no error)."""


def default_success(record: RequestRecord) -> bool:
    """A response with status below 400 and no transport error."""
    return record.error is None and record.status is not None and record.status < 400


def failure_message(record: RequestRecord) -> str:
    """The error text for a failed record: the transport error, else ``HTTP <status>``."""
    if record.error is not None:
        return record.error
    return f"HTTP {record.status}"


class ConcurrentResult:
    """Counters, status codes, errors and a latency histogram over many requests.

    ``records`` keeps every record (``sample_limit=None``, the tester's calls) or a bounded
    random sample (long runs), so memory stays flat however many requests are made.
    Latency covers every attempt, failed ones included (the k6/Locust convention).
    """

    __slots__ = (
        "_errors",
        "_is_success",
        "_rng",
        "_sample_limit",
        "connect_failures",
        "delivery",
        "error_count",
        "histogram",
        "records",
        "status_codes",
        "success_count",
    )

    def __init__(
        self,
        records: Iterable[RequestRecord] = (),
        *,
        is_success: SuccessRule | None = None,
        sample_limit: int | None = None,
    ) -> None:
        self.records: list[RequestRecord] = []
        self.success_count = 0
        self.error_count = 0
        self.connect_failures = 0
        """Failed requests that never reached the server (``sent=False``)."""
        self.status_codes: dict[int, int] = {}
        self.delivery: PhaseDelivery | None = None
        """How a barrier batch was delivered (sync mode, send and arrival spread); ``None``
        for results that are not one batch (executor runs, aggregates)."""
        self.histogram = LatencyHistogram()
        self._errors = ErrorLog()
        self._is_success = is_success or default_success
        self._sample_limit = sample_limit
        self._rng = random.Random(0x50A4)
        for record in records:
            self.add(record)

    def add(self, record: RequestRecord) -> None:
        """Account for one finished request."""
        status = record.status
        if status is not None:
            codes = self.status_codes
            codes[status] = codes.get(status, 0) + 1
        is_success = self._is_success
        if (
            (record.error is None and status is not None and status < 400)
            if is_success is default_success  # inlined: the hot path of every run
            else is_success(record)
        ):
            self.success_count += 1
        else:
            self.error_count += 1
            self._errors.add(failure_message(record))
            if not record.sent:
                self.connect_failures += 1
        self.histogram.record(record.duration_ms)
        if self._sample_limit != 0:
            self._keep(record)

    def _keep(self, record: RequestRecord) -> None:
        limit = self._sample_limit
        if limit is None or len(self.records) < limit:
            self.records.append(record)
            return
        if limit == 0:
            return
        # Reservoir sampling (algorithm R) over everything seen so far.
        slot = self._rng.randrange(self.total)
        if slot < limit:
            self.records[slot] = record

    @property
    def total(self) -> int:
        """Requests accounted for."""
        return self.success_count + self.error_count

    @property
    def errors(self) -> list[str]:
        """De-duplicated error messages, most frequent first (``"... (x7)"``), bounded."""
        return self._errors.messages()

    @property
    def error_counts(self) -> dict[str, int]:
        """Error message -> occurrences."""
        return self._errors.counts

    @property
    def errors_overflow(self) -> int:
        """Errors not kept by message (more distinct messages than the log keeps)."""
        return self._errors.overflow

    def add_error_counts(self, counts: dict[str, int], *, overflow: int = 0) -> None:
        """Add error counts by message (another process's :attr:`error_counts`)."""
        for message, count in counts.items():
            self._errors.add(message, count)
        self._errors.add_overflow(overflow)

    @property
    def p50(self) -> float:
        """Median latency, ms."""
        return self.histogram.percentile(50.0)

    @property
    def p95(self) -> float:
        """95th percentile latency, ms."""
        return self.histogram.percentile(95.0)

    @property
    def p99(self) -> float:
        """99th percentile latency, ms."""
        return self.histogram.percentile(99.0)

    @property
    def max(self) -> float:
        """Largest latency, ms (exact)."""
        return self.histogram.max

    def absorb(self, other: ConcurrentResult) -> None:
        """Add ``other`` into this result in place (exact for counts and histogram)."""
        seen_self, seen_other = self.total, other.total
        self.success_count += other.success_count
        self.error_count += other.error_count
        self.connect_failures += other.connect_failures
        for status, count in other.status_codes.items():
            self.status_codes[status] = self.status_codes.get(status, 0) + count
        self._errors.merge(other._errors)
        self.histogram.add(other.histogram)
        limit = self._sample_limit
        combined = self.records + other.records
        if limit is None or len(combined) <= limit:
            self.records = combined
            return
        # Keep samples from each side in proportion to the requests each side saw.
        share = round(limit * seen_self / max(1, seen_self + seen_other))
        share = min(share, len(self.records))
        share = max(share, limit - len(other.records))
        mine = self._rng.sample(self.records, share)
        theirs = self._rng.sample(other.records, limit - share)
        self.records = mine + theirs

    def merge(self, other: ConcurrentResult) -> ConcurrentResult:
        """A new result holding both (records concatenated; counts and histograms added)."""
        merged = ConcurrentResult(is_success=self._is_success, sample_limit=self._sample_limit)
        merged.absorb(self)
        merged.absorb(other)
        return merged

    def latency_ms(self) -> dict[str, float]:
        """``{"p50", "p95", "p99", "max"}`` in milliseconds, rounded to µs."""
        pct = self.histogram.percentiles([50.0, 95.0, 99.0])
        return {
            "p50": round(pct[50.0], 3),
            "p95": round(pct[95.0], 3),
            "p99": round(pct[99.0], 3),
            "max": round(self.histogram.max, 3),
        }

    def to_dict(self) -> dict[str, Any]:
        """The ``requests`` object of the report JSON (design.md, schema_version 1)."""
        return {
            "total": self.total,
            "success_count": self.success_count,
            "error_count": self.error_count,
            "status_codes": {str(k): v for k, v in sorted(self.status_codes.items())},
            "errors": self.errors,
            "latency_ms": self.latency_ms(),
        }

    def __repr__(self) -> str:
        return (
            f"ConcurrentResult(total={self.total}, success={self.success_count}, "
            f"errors={self.error_count}, p50={self.p50:.1f} ms, max={self.max:.1f} ms)"
        )
