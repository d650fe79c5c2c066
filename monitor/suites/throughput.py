"""Per-window throughput of a sustained phase (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean
from typing import Any


def window_rates(
    completed_at: Sequence[float], start: float, duration_s: float, window_s: float
) -> dict[str, Any]:
    """Completions per second in consecutive windows, plus the first/last-third means and their
    ratio (``last / first``; 1.0 when stable, < 1 when throughput degrades)."""
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
    return {
        "windows": rates,
        "window_s": window_s,
        "first": first,
        "last": last,
        "ratio": ratio,
        "total": len(completed_at),
    }
