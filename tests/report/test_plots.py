"""Plot geometry: dots and bars land inside the plot area, ticks are readable and distinct."""

from __future__ import annotations

import pytest

from monitor.report.plots import histogram_plot, nice_max, timeline_plot
from monitor.suites.results import HistogramBucket, TimelineSample


def _sample(offset_s: float, latency_ms: float, ok: bool = True) -> TimelineSample:
    return TimelineSample(offset_s, latency_ms, ok, "op", 200 if ok else 503)


def test_points_inside_area_failures_on_top_and_distinct_ticks() -> None:
    samples = [_sample(i * 0.05, 10 + i, ok=i % 4 != 0) for i in range(40)]
    plot = timeline_plot(samples, p95_ms=45.0)
    assert len(plot.points) == 40
    assert plot.failures == 10
    assert all(plot.left <= p.x <= plot.right for p in plot.points)
    assert all(plot.top <= p.y <= plot.bottom for p in plot.points)
    assert [p.ok for p in plot.points] == [True] * 30 + [False] * 10  # red drawn last
    assert "HTTP 503" in plot.points[-1].title
    slowest = max(plot.points, key=lambda p: p.x)
    assert slowest.x > plot.left + plot.inner_w * 0.9  # the x axis is not wasted
    labels = [t.label for t in plot.x_ticks]
    assert len(set(labels)) == len(labels)
    assert plot.x_label == "time since first request (s)"
    (p95,) = plot.lines
    assert plot.top <= p95.y <= plot.bottom


def test_a_two_millisecond_burst_is_plotted_in_milliseconds() -> None:
    plot = timeline_plot([_sample(i * 0.0002, 5.0) for i in range(11)])
    assert plot.x_label == "time since first request (ms)"
    labels = [t.label for t in plot.x_ticks]
    assert len(set(labels)) == len(labels) > 2
    assert labels[-1] == "2.0"


def test_histogram_bars_scale_with_counts() -> None:
    plot = histogram_plot(
        [HistogramBucket(0, 10, 5), HistogramBucket(10, 20, 0), HistogramBucket(20, 30, 10)]
    )
    assert len(plot.bars) == 2  # empty buckets draw nothing
    small, big = plot.bars
    assert abs(big.h - 2 * small.h) < 0.05
    assert big.x > small.x + small.w
    assert all(b.y + b.h <= plot.bottom + 0.01 for b in plot.bars)
    assert all(t.label.isdigit() for t in plot.y_ticks)


def test_empty_inputs_and_nice_max() -> None:
    assert timeline_plot([]).points == []
    assert histogram_plot([]).bars == []
    values = [nice_max(v) for v in (0, 7, 42, 180, 0.0017)]
    assert values == pytest.approx([1.0, 8.0, 50.0, 200.0, 0.002])  # round axis ends
