"""Rolling request windows: exact to the histogram, forgetful, and small in memory."""

from __future__ import annotations

import random

from monitor.daemon.rolling import RollingRequests
from monitor.engine import LatencyHistogram


def test_window_percentiles_equal_one_histogram_of_the_same_requests_and_old_ones_expire() -> None:
    rnd = random.Random(5)
    window = RollingRequests(window_s=30)
    kept = LatencyHistogram()
    for second in range(60):
        values = [rnd.lognormvariate(3, 0.8) for _ in range(200)]
        window.add_counts(float(second), values, errors=second % 2)
        if second > 29:  # only the last 30 s are in the window at t=59
            kept.record_many(values)
    stats = window.stats(59.0)
    assert stats.total == 30 * 200
    assert stats.errors == 15
    assert stats.p95_ms == kept.percentile(95)
    assert window.percentile(59.0, 99, since=29.0) == kept.percentile(99)
    assert window.percentile(59.0, 99, since=100.0) is None


def test_a_bucket_keeps_about_a_kilobyte_not_a_live_histogram() -> None:
    window = RollingRequests(window_s=300)
    rnd = random.Random(1)
    for second in range(300):
        window.add_counts(float(second), [rnd.uniform(1, 400) for _ in range(300)], errors=0)
    sizes = [len(b.encoded) for b in window._buckets]
    assert len(sizes) == 300
    assert max(sizes) < 8 * 1024, max(sizes)


def test_encoded_histograms_merge_exactly() -> None:
    a, b, both = LatencyHistogram(), LatencyHistogram(), LatencyHistogram()
    for i in range(1, 2000):
        (a if i % 3 else b).record(i * 0.37)
        both.record(i * 0.37)
    merged = LatencyHistogram()
    for part in (a, b):
        merged.add_encoded(part.encode(), max_ms=part.max, sum_ms=part.total_ms)
    assert merged == both
    assert abs(merged.mean - both.mean) < 1e-9
