"""Folding a batch of raw latencies into the histogram's pending buckets, vectorised.

The fast loop appends each latency (seconds, a float) to
:attr:`~monitor.engine.histogram.LatencyHistogram.seconds` instead of calling ``record`` per
request; the histogram folds the batch in before any read. :func:`fold_seconds` gives exactly
what ``record(s * 1000.0)`` for each value in order gives: the same microsecond buckets
(rounded, clamped at 0 and at one hour, reduced to HdrHistogram's lowest equivalent value),
the same largest value and the same sum (added in order). Big batches go through numpy (a few
nanoseconds per value), small ones through the same arithmetic in Python.
"""

from __future__ import annotations

from collections.abc import MutableMapping

HIGHEST_US = 3_600_000_000
"""The histogram's largest value, µs (one hour): longer latencies are recorded as one hour."""

SUB_BUCKET_BITS = 11
"""HdrHistogram's sub-bucket count for 3 significant digits is 2048 (2**11): values below it
have a bucket each; above, a value shares its bucket with those equal after dropping its
``bit_length() - 11`` lowest bits (the histogram's "lowest equivalent value")."""

_VECTOR_FROM = 256
"""Batches at least this long go through numpy (below, its fixed cost is larger than the
Python loop's)."""


def fold_seconds(
    seconds: list[float], pending: MutableMapping[int, int], max_ms: float, sum_ms: float
) -> tuple[float, float]:
    """Count ``seconds`` (latencies in s) into ``pending`` (lowest equivalent µs -> count);
    the new ``(max_ms, sum_ms)``."""
    if len(seconds) < _VECTOR_FROM:
        for s in seconds:
            ms = s * 1000.0
            if ms < 0.0:  # noqa: PLR1730
                ms = 0.0
            us = int(ms * 1000.0 + 0.5)
            if us > HIGHEST_US:  # noqa: PLR1730
                us = HIGHEST_US
            bits = us.bit_length() - SUB_BUCKET_BITS
            if bits > 0:
                us = us >> bits << bits
            pending[us] += 1
            if ms > max_ms:  # noqa: PLR1730
                max_ms = ms
            sum_ms += ms
        return max_ms, sum_ms
    import numpy as np  # only runs that record this many per read need it

    sums = np.empty(len(seconds) + 1, dtype=np.float64)
    sums[0] = sum_ms
    values_ms = sums[1:]  # a view: sums is sum_ms and then every value, for the running sum
    values_ms[:] = seconds
    values_ms *= 1000.0
    np.maximum(values_ms, 0.0, out=values_ms)
    scaled = values_ms * 1000.0
    scaled += 0.5
    np.minimum(scaled, float(HIGHEST_US), out=scaled)  # exact: an integer below 2**53
    us_all = scaled.astype(np.int64)  # truncation, as int() (every value is positive)
    shift = np.frexp(us_all.astype(np.float64))[1].astype(np.int64)  # == int.bit_length()
    shift -= SUB_BUCKET_BITS
    np.maximum(shift, 0, out=shift)
    # one bin per bucket: (shift, the value's top bits), then back to the bucket's value
    counts = np.bincount((shift << SUB_BUCKET_BITS) | (us_all >> shift))
    bins = np.flatnonzero(counts)
    lowest = (bins & ((1 << SUB_BUCKET_BITS) - 1)) << (bins >> SUB_BUCKET_BITS)
    for value, count in zip(lowest.tolist(), counts[bins].tolist(), strict=True):
        pending[value] += count
    top = float(values_ms.max())
    total = float(np.add.accumulate(sums)[-1])  # in order, from sum_ms: as ``+=`` for each
    return (top if top > max_ms else max_ms), total
