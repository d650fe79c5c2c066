"""Rolling request statistics for SLOs and burst recovery: per-interval buckets, merged on read.

Each bucket keeps counters and its latency histogram in HdrHistogram's compressed encoding
(about a kilobyte instead of the ~90 KiB of a live histogram), merged on read: a window's P95
is exact to the histogram's precision, and memory stays small and bounded by the bucket count.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from monitor.analysis.slo import WindowStats
from monitor.engine import ConcurrentResult, LatencyHistogram


@dataclass(slots=True)
class Bucket:
    end_t: float
    total: int
    errors: int
    encoded: bytes
    max_ms: float
    sum_ms: float

    @classmethod
    def of(cls, end_t: float, total: int, errors: int, hist: LatencyHistogram) -> Bucket:
        return cls(end_t, total, errors, hist.encode(), hist.max, hist.total_ms)

    def add_to(self, hist: LatencyHistogram) -> None:
        hist.add_encoded(self.encoded, max_ms=self.max_ms, sum_ms=self.sum_ms)


class RollingRequests:
    """Buckets of the last ``window_s`` seconds (at most ``max_buckets`` of them)."""

    def __init__(self, window_s: float, max_buckets: int = 600) -> None:
        self.window_s = window_s
        self._buckets: deque[Bucket] = deque(maxlen=max_buckets)

    def add(self, end_t: float, result: ConcurrentResult) -> None:
        """Add one interval's requests, finished at ``end_t`` (monotonic seconds)."""
        self._buckets.append(Bucket.of(end_t, result.total, result.error_count, result.histogram))
        self._expire(end_t)

    def add_histogram(self, end_t: float, total: int, errors: int, hist: LatencyHistogram) -> None:
        """Add one interval given as counts and its latency histogram."""
        self._buckets.append(Bucket.of(end_t, total, errors, hist))
        self._expire(end_t)

    def add_counts(self, end_t: float, latencies_ms: list[float], errors: int) -> None:
        """Add an interval from raw latencies (for loops that do not use the engine runner)."""
        hist = LatencyHistogram()
        hist.record_many(latencies_ms)
        self._buckets.append(Bucket.of(end_t, len(latencies_ms), errors, hist))
        self._expire(end_t)

    def _expire(self, now: float) -> None:
        cutoff = now - self.window_s
        while self._buckets and self._buckets[0].end_t <= cutoff:
            self._buckets.popleft()

    def stats(self, now: float, since: float | None = None) -> WindowStats:
        """Totals and P95 over the window (or since ``since``, if later)."""
        self._expire(now)
        start = now - self.window_s if since is None else max(since, now - self.window_s)
        hist = LatencyHistogram()
        total = errors = 0
        for b in self._buckets:
            if b.end_t > start:
                total += b.total
                errors += b.errors
                b.add_to(hist)
        p95 = hist.percentile(95.0) if hist.count else 0.0
        return WindowStats(total=total, errors=errors, p95_ms=p95)

    def percentile(self, now: float, p: float, since: float) -> float | None:
        """Latency percentile (ms) of the requests finished after ``since``; None when none."""
        hist = LatencyHistogram()
        for b in self._buckets:
            if since < b.end_t <= now:
                b.add_to(hist)
        return hist.percentile(p) if hist.count else None
