"""The histogram's deferred recording gives exactly the histogram recording each value would."""

from __future__ import annotations

import random

from hdrh.histogram import HdrHistogram

from monitor.engine.histogram import LatencyHistogram


def _buckets(hist: HdrHistogram) -> list[tuple[int, int]]:
    items = hist.get_recorded_iterator()
    return [(i.value_iterated_to, i.count_at_value_iterated_to) for i in items]


def test_deferred_buckets_equal_recording_every_value_directly() -> None:
    rng = random.Random(23)
    ours = LatencyHistogram()
    direct = HdrHistogram(1, 3_600_000_000, 3)
    for _ in range(50_000):
        ms = rng.choice((
            rng.lognormvariate(0.0, 2.0), rng.random() * 3.0, rng.random() * 1e7, -1.0, 0.0,
        ))  # fmt: skip
        ours.record(ms)
        us = int(max(ms, 0.0) * 1000.0 + 0.5)
        direct.record_value(min(us, 3_600_000_000))
        if rng.random() < 0.001:  # reads in between flush what is pending
            assert ours.count == direct.get_total_count()
    assert ours.bucket_counts() == [(v / 1000.0, c) for v, c in _buckets(direct)]
    pcts = [0.0, 50.0, 90.0, 99.0, 99.99, 100.0]
    assert ours.percentiles(pcts) == {
        p: min(v / 1000.0, ours.max) for p, v in direct.get_percentile_to_value_dict(pcts).items()
    }
    copy = LatencyHistogram()
    copy.add_encoded(ours.encode(), max_ms=ours.max, sum_ms=ours.total_ms)
    assert copy == ours
