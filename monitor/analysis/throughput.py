"""Throughput stability: does the request rate hold over the soak, or degrade?"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean

from monitor.analysis.trend import monotonic_trend
from monitor.analysis.verdict import Verdict, inconclusive


def throughput_stability(
    window_rates: Sequence[float],
    *,
    max_drop_ratio: float = 0.2,
    min_windows: int = 6,
    significance: float = 0.01,
    name: str = "throughput_stable",
) -> Verdict:
    """Fails when per-window throughput shows a significant downward trend *and* the last third
    of the windows averages more than ``max_drop_ratio`` below the first third.

    Requiring both keeps jitter (no trend) and a statistically significant but tiny drift (no
    material drop) from firing.
    """
    expected = f"no downward trend losing more than {max_drop_ratio:.0%} of throughput"
    if len(window_rates) < min_windows:
        return inconclusive(name, expected, f"{len(window_rates)} windows (needs {min_windows})")
    third = max(1, len(window_rates) // 3)
    first = fmean(window_rates[:third])
    last = fmean(window_rates[-third:])
    tau, p = monotonic_trend(window_rates)
    drop = 0.0 if first <= 0 else (first - last) / first
    observed = (
        f"{first:.1f} -> {last:.1f} req/s ({drop:+.0%} drop), Kendall tau {tau:+.2f} p={p:.3g}"
    )
    degrading = tau < 0 and p < significance and drop > max_drop_ratio
    message = "throughput degrades steadily over the soak" if degrading else "throughput is stable"
    return Verdict(name, not degrading, expected, observed, message)
