"""Per-window throughput of a sustained phase (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean
from typing import Any

from monitor.analysis.throughput import throughput_stability


def window_rates(
    completed_at: Sequence[float], start: float, duration_s: float, window_s: float
) -> dict[str, Any]:
    """Completions per second in consecutive windows, the first/last-third means and their ratio
    (``last / first``), and ``stable``: false only for a significant downward trend that loses
    more than 20 % (``monitor.analysis.throughput_stability``; too few windows count as stable)."""
    n = max(1, int(duration_s // window_s))
    counts = [0] * n
    for t in completed_at:
        i = int((t - start) // window_s)
        if 0 <= i < n:
            counts[i] += 1
    rates = [c / window_s for c in counts]
    third = max(1, n // 3)
    first, last = fmean(rates[:third]), fmean(rates[-third:])
    ratio = (last / first) if first > 0 else (1.0 if last == 0 else float("inf"))
    verdict = throughput_stability(rates)
    return {
        "stable": verdict.passed,
        "trend": verdict.observed,
        "windows": rates,
        "window_s": window_s,
        "first": first,
        "last": last,
        "ratio": ratio,
        "total": len(completed_at),
    }
