"""The histogram's deferred recording gives exactly the histogram recording each value would."""

from __future__ import annotations

import random

import pytest
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


@pytest.mark.parametrize("batch", [1, 100, 5_000], ids=["one", "python-fold", "numpy-fold"])
def test_appended_seconds_equal_recording_each_value(batch: int) -> None:
    """The fast loop appends latencies in seconds and the histogram folds them at its next
    read (in Python for short batches, numpy for long ones): the same buckets, largest value
    and sum as ``record`` for each value in order, negatives, sub-µs and over-an-hour values
    included."""
    rng = random.Random(batch)
    direct, appended = LatencyHistogram(), LatencyHistogram()
    for _ in range(20_000 // batch + 1):
        for _ in range(batch):
            s = rng.choice((
                rng.lognormvariate(-7.0, 2.0), rng.random() * 0.003, rng.random() * 1e4,
                -1e-3, 0.0, 4e-7, 0.0004995, 7200.0,
            ))  # fmt: skip
            direct.record(s * 1000.0)
            appended.seconds.append(s)
        assert appended.count == direct.count  # a read folds
    assert appended.seconds == []
    assert appended == direct
    assert appended.total_ms == direct.total_ms
    assert appended.max == direct.max
    assert appended.percentiles([50.0, 99.0, 100.0]) == direct.percentiles([50.0, 99.0, 100.0])


def test_every_read_folds_what_was_appended() -> None:
    hist = LatencyHistogram()
    hist.seconds.extend([0.002, 0.001])
    assert hist.max == 2.0
    hist.seconds.append(0.004)
    assert hist.total_ms == 7.0
    hist.seconds.append(0.008)
    other = LatencyHistogram()
    other.add(hist)
    assert (other.count, other.max) == (4, 8.0)
    hist.seconds.append(0.016)
    copy = LatencyHistogram()
    copy.add_encoded(hist.encode(), max_ms=hist.max, sum_ms=hist.total_ms)
    assert (copy.count, copy.max, copy.total_ms) == (5, 16.0, 31.0)


@pytest.mark.parametrize("n", [1, 2, 7, 1000, 30_000])
def test_percentiles_are_hdrhistograms_own(n: int) -> None:
    """Percentiles are looked up by bisecting running counts, not by hdrh's Python loop over
    every bucket: the same values as hdrh's ``get_value_at_percentile`` and
    ``get_percentile_to_value_dict``, the lowest and highest percentiles included."""
    rng = random.Random(n)
    hist = LatencyHistogram()
    for _ in range(n):
        hist.record(rng.choice((rng.lognormvariate(0.0, 2.0), rng.random() * 3.0, 0.0, 5e6)))
    ps = [0.0, 0.1, 25.0, 50.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0]
    hdr = HdrHistogram(1, 3_600_000_000, 3)
    for value, count in hist.bucket_counts():
        hdr.record_value(round(value * 1000.0), count)
    by_dict = hdr.get_percentile_to_value_dict(ps)
    for p in ps:
        want = min(hdr.get_value_at_percentile(p) / 1000.0, hist.max)
        assert hist.percentile(p) == want == min(by_dict[p] / 1000.0, hist.max), p
    assert hist.percentiles(ps) == {p: hist.percentile(p) for p in ps}
