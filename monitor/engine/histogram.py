"""Mergeable latency histogram (HdrHistogram, microsecond resolution, 3 significant digits)."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import accumulate

from hdrh.histogram import HdrHistogram

from monitor.engine.histofold import HIGHEST_US, SUB_BUCKET_BITS, fold_seconds

_LOWEST_US = 1
_HIGHEST_US = HIGHEST_US
_SIGNIFICANT = 3

RELATIVE_ERROR = 10.0**-_SIGNIFICANT
"""Bound on the relative error of any reported percentile (plus 1 µs of quantisation)."""

_SUB_BUCKET_BITS = SUB_BUCKET_BITS


class LatencyHistogram:
    """Latencies in milliseconds, stored as microseconds in an HdrHistogram.

    Percentiles are within :data:`RELATIVE_ERROR` of the exact value; ``max`` is exact.
    Two histograms merge exactly (counts add), so results of separate runners combine.
    """

    __slots__ = ("_hdr_", "_max_ms", "_pending", "_sum_ms", "seconds")

    def __init__(self) -> None:
        self._hdr_ = HdrHistogram(_LOWEST_US, _HIGHEST_US, _SIGNIFICANT)
        self._max_ms = 0.0
        self._sum_ms = 0.0
        self._pending: defaultdict[int, int] = defaultdict(int)
        """Recorded but not yet added to the HdrHistogram: bucket (lowest equivalent µs) ->
        count. Recording is a dict increment; the buckets go in at the next read, so the
        histogram is exactly the one recording each value would give, at a fraction of the
        cost of ``record_value`` per request (the hot path of ``soakmon load``)."""
        self.seconds: list[float] = []
        """Latencies in *seconds* appended by the fast loop's hot path (a list append instead
        of a call to :meth:`record`); every read folds them in first (:meth:`fold`), exactly
        as ``record(s * 1000.0)`` for each, in order, would."""

    def fold(self) -> None:
        """Add what was appended to :attr:`seconds` (see :mod:`monitor.engine.histofold`)."""
        seconds = self.seconds
        if seconds:
            self.seconds = []
            self._max_ms, self._sum_ms = fold_seconds(
                seconds, self._pending, self._max_ms, self._sum_ms
            )

    @property
    def _hdr(self) -> HdrHistogram:
        if self.seconds:
            self.fold()
        pending = self._pending
        if pending:
            record = self._hdr_.record_value
            for us, count in pending.items():
                record(us, count)
            pending.clear()
        return self._hdr_

    def record(self, ms: float) -> None:
        """Add one latency in milliseconds (negative values count as 0, huge ones are capped)."""
        # plain comparisons, not max()/min(): this runs once per request
        if ms < 0.0:  # noqa: PLR1730
            ms = 0.0
        us = int(ms * 1000.0 + 0.5)
        if us > _HIGHEST_US:  # noqa: PLR1730
            us = _HIGHEST_US
        shift = us.bit_length() - _SUB_BUCKET_BITS
        if shift > 0:
            us = us >> shift << shift
        self._pending[us] += 1
        if ms > self._max_ms:  # noqa: PLR1730
            self._max_ms = ms
        self._sum_ms += ms

    def record_many(self, values_ms: Iterable[float]) -> None:
        """Add several latencies in milliseconds."""
        for value in values_ms:
            self.record(value)

    @property
    def count(self) -> int:
        """Number of recorded values."""
        return int(self._hdr.get_total_count())

    @property
    def max(self) -> float:
        """Exact largest value in ms (0.0 when empty)."""
        if self.seconds:
            self.fold()
        return self._max_ms

    @property
    def mean(self) -> float:
        """Exact mean in ms (0.0 when empty)."""
        n = self.count
        return self._sum_ms / n if n else 0.0

    def percentile(self, p: float) -> float:
        """Value at percentile ``p`` (0–100) in ms; 0.0 when empty."""
        return self.percentiles([p])[p]

    def percentiles(self, ps: Sequence[float]) -> dict[float, float]:
        """Several percentiles in one pass over the buckets."""
        if self.count == 0:
            return dict.fromkeys(ps, 0.0)
        values = self._values_at(ps)
        return {p: min(float(values[p]) / 1000.0, self._max_ms) for p in ps}

    def _values_at(self, ps: Sequence[float]) -> dict[float, int]:
        """HdrHistogram's value (µs) at each percentile, as its ``get_value_at_percentile``
        gives it: the first bucket where the running count reaches the percentile's target
        count, found by bisecting the running counts (summed in C) instead of hdrh's Python
        loop over every bucket (~6 ms per call for a 1 s interval of ``soakmon load``)."""
        hdr = self._hdr
        n = min(hdr.counts_len, hdr.encoder.payload.counts_len)
        running = list(accumulate(hdr.counts[:n]))
        values: dict[float, int] = {}
        for p in ps:
            index = bisect_left(running, hdr.get_target_count_at_percentile(p))
            if index >= n:  # no bucket reaches it (cannot happen for p <= 100)
                values[p] = 0
                continue
            value = hdr.get_value_from_index(index)
            values[p] = int(
                hdr.get_highest_equivalent_value(value)
                if p
                else hdr.get_lowest_equivalent_value(value)
            )
        return values

    def add(self, other: LatencyHistogram) -> None:
        """Add ``other``'s counts into this histogram (exact)."""
        if other.count == 0:
            return
        self._hdr.add(other._hdr)
        self._max_ms = max(self._max_ms, other._max_ms)
        self._sum_ms += other._sum_ms

    def copy(self) -> LatencyHistogram:
        """An independent copy."""
        new = LatencyHistogram()
        new.add(self)
        return new

    def encode(self) -> bytes:
        """Compressed HdrHistogram V2 encoding (base64), for shipping between processes."""
        if self.count == 0:
            return b""
        return bytes(self._hdr.encode())

    def add_encoded(self, data: bytes, *, max_ms: float, sum_ms: float) -> None:
        """Add a histogram kept as :meth:`encode` bytes (exact); ``max_ms``/``sum_ms`` are not
        part of the encoding, so the caller keeps them beside it."""
        if not data:
            return
        self._hdr.decode_and_add(data)
        self._max_ms = max(self._max_ms, max_ms)
        self._sum_ms += sum_ms

    @property
    def total_ms(self) -> float:
        """Exact sum of the recorded latencies, ms."""
        if self.seconds:
            self.fold()
        return self._sum_ms

    def bucket_counts(self) -> list[tuple[float, int]]:
        """Non-empty buckets as ``(upper value in ms, count)``, ascending (for comparisons)."""
        return [
            (item.value_iterated_to / 1000.0, int(item.count_at_value_iterated_to))
            for item in self._hdr.get_recorded_iterator()
        ]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LatencyHistogram):
            return NotImplemented
        return self.bucket_counts() == other.bucket_counts() and self.max == other.max

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LatencyHistogram(count={self.count}, max={self.max:.3f} ms)"
