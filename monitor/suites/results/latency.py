"""Latency samples of a scenario for the reports' plots: the timeline and the histogram.

Built from the engine's request records and histograms through structural types (no import of
``monitor.engine``): a bounded, deterministic sample of requests over time (failures first) and
equal-width buckets with a round width.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

T = TypeVar("T")

MAX_TIMELINE_POINTS = 2_000
MAX_HISTOGRAM_BUCKETS = 30


@dataclass(frozen=True, slots=True)
class TimelineSample:
    """One request on the latency-over-time plot."""

    offset_s: float  # seconds since the first request of the scenario
    latency_ms: float
    ok: bool
    operation: str
    status: int | None = None  # HTTP status; None when no response arrived


@dataclass(frozen=True, slots=True)
class HistogramBucket:
    """Requests whose latency lies in ``[lower_ms, upper_ms)``."""

    lower_ms: float
    upper_ms: float
    count: int


# --- helpers from the engine's results (structural types: no import of monitor.engine) ---------


class RecordLike(Protocol):
    """The fields of ``monitor.engine.RequestRecord`` used here."""

    @property
    def name(self) -> str: ...
    @property
    def start(self) -> float: ...
    @property
    def duration_ms(self) -> float: ...
    @property
    def status(self) -> int | None: ...
    @property
    def error(self) -> str | None: ...


class HistogramLike(Protocol):
    """The part of ``monitor.engine.LatencyHistogram`` used here."""

    def bucket_counts(self) -> list[tuple[float, int]]: ...


class ConcurrentResultLike(Protocol):
    """The parts of ``monitor.engine.ConcurrentResult`` used here."""

    @property
    def records(self) -> Sequence[Any]: ...
    @property
    def histogram(self) -> HistogramLike: ...
    def to_dict(self) -> dict[str, Any]: ...


def record_ok(record: RecordLike) -> bool:
    """Default success rule for plots: an HTTP answer below 400 and no transport error."""
    return record.error is None and record.status is not None and record.status < 400


def timeline_from(
    records: Iterable[RecordLike],
    *,
    origin: float | None = None,
    max_points: int = MAX_TIMELINE_POINTS,
    is_ok: Callable[[RecordLike], bool] = record_ok,
) -> list[TimelineSample]:
    """Samples for the latency-over-time plot, at most ``max_points``, sorted by offset.

    Deterministic down-sampling: failures get up to half of the budget (they are what a reader
    looks for), the rest is spread evenly over the successful requests.
    """
    ordered = sorted(records, key=lambda r: r.start)
    if not ordered or max_points <= 0:
        return []
    t0 = ordered[0].start if origin is None else origin
    bad = [r for r in ordered if not is_ok(r)]
    good = [r for r in ordered if is_ok(r)]
    if len(ordered) > max_points:
        bad = _spread(bad, max_points // 2)
        good = _spread(good, max_points - len(bad))
    chosen = sorted([*bad, *good], key=lambda r: r.start)
    bad_ids = {id(r) for r in bad}
    return [
        TimelineSample(
            offset_s=round(r.start - t0, 6),
            latency_ms=round(r.duration_ms, 3),
            ok=id(r) not in bad_ids,
            operation=r.name,
            status=r.status,
        )
        for r in chosen
    ]


def _spread(items: list[T], n: int) -> list[T]:
    if len(items) <= n:
        return items
    if n <= 0:
        return []
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def _nice_width(span: float, buckets: int) -> float:
    raw = max(span / buckets, 1e-3)
    mag = 10.0 ** math.floor(math.log10(raw))
    return next(float(m * mag) for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def histogram_from_counts(
    counts: Iterable[tuple[float, int]], *, max_buckets: int = MAX_HISTOGRAM_BUCKETS
) -> list[HistogramBucket]:
    """Equal-width latency buckets with a round width from ``(latency_ms, count)`` pairs.

    About ``2·∛n`` buckets (Rice rule), at least 5 and at most ``max_buckets`` (+1 for rounding).
    """
    pairs = [(v, n) for v, n in counts if math.isfinite(v) and n > 0]
    if not pairs:
        return []
    lo = min(v for v, _ in pairs)
    hi = max(v for v, _ in pairs)
    total = sum(n for _, n in pairs)
    target = max(1, min(max_buckets, max(5, round(2 * total ** (1 / 3)))))  # Rice rule
    width = _nice_width(hi - lo, target)
    start = math.floor(lo / width) * width
    n = max(1, min(max_buckets + 1, math.floor((hi - start) / width) + 1))
    buckets = [0] * n
    for v, c in pairs:
        buckets[min(n - 1, int((v - start) // width))] += c
    return [
        HistogramBucket(round(start + i * width, 6), round(start + (i + 1) * width, 6), c)
        for i, c in enumerate(buckets)
    ]


def histogram_from(
    latencies_ms: Iterable[float], *, max_buckets: int = MAX_HISTOGRAM_BUCKETS
) -> list[HistogramBucket]:
    """Equal-width latency buckets with a round width, from the lowest to the highest value."""
    return histogram_from_counts(((v, 1) for v in latencies_ms), max_buckets=max_buckets)


def observations_from(
    results: Sequence[ConcurrentResultLike],
    *,
    is_ok: Callable[[RecordLike], bool] = record_ok,
) -> tuple[list[TimelineSample], list[HistogramBucket]]:
    """Timeline (from the kept records) and histogram (from the engine's latency histograms,
    so it covers every request even when only a sample of records was kept)."""
    records: list[RecordLike] = [r for res in results for r in res.records]
    counts = [pair for res in results for pair in res.histogram.bucket_counts()]
    return timeline_from(records, is_ok=is_ok), histogram_from_counts(counts)
