"""Burst recovery: after a spike, does latency come back to its baseline quickly?"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.analysis.verdict import Verdict, inconclusive


def burst_recovery(
    baseline_p99_ms: float | None,
    after: Sequence[tuple[float, float]],
    *,
    within_s: float,
    tolerance: float = 1.5,
    floor_ms: float = 50.0,
    name: str = "burst_recovered",
) -> Verdict:
    """``after`` holds (seconds since the burst ended, p99 ms of that window) pairs.

    Passes when some window that starts within ``within_s`` seconds has its p99 back at or
    below ``max(baseline * tolerance, floor_ms)`` and every later window stays there.
    The floor keeps a 2 ms baseline from making 4 ms look like a failure to recover.
    """
    if baseline_p99_ms is None:
        return inconclusive(name, f"p99 back to baseline within {within_s:g} s", "no baseline yet")
    limit = max(baseline_p99_ms * tolerance, floor_ms)
    expected = f"p99 <= {limit:.0f} ms within {within_s:g} s after the burst"
    windows = sorted(after)
    if not windows or windows[-1][0] < within_s:
        return inconclusive(name, expected, "recovery window not over yet")
    recovered_at: float | None = None
    for i, (t, _) in enumerate(windows):
        if all(p99 <= limit for _, p99 in windows[i:]):
            recovered_at = t
            break
    worst = max(p99 for _, p99 in windows)
    if recovered_at is not None and recovered_at <= within_s:
        observed = f"recovered after {recovered_at:.1f} s (peak p99 {worst:.0f} ms)"
        return Verdict(name, True, expected, observed, "latency recovered after the burst")
    tail = windows[-1][1]
    observed = f"p99 still {tail:.0f} ms at {windows[-1][0]:.1f} s (baseline {baseline_p99_ms:.0f})"
    if recovered_at is not None:
        observed = f"recovered only after {recovered_at:.1f} s (peak p99 {worst:.0f} ms)"
    return Verdict(name, False, expected, observed, "latency did not recover after the burst")
