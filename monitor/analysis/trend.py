"""Robust trends: Theil–Sen slopes and Kendall's tau, for memory growth and throughput drift."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Slope:
    """A Theil–Sen slope with its confidence interval, in value units per second."""

    per_s: float
    low: float
    high: float
    n: int

    @property
    def per_hour(self) -> float:
        return self.per_s * 3600.0


def robust_slope(
    times: Sequence[float], values: Sequence[float], confidence: float = 0.95
) -> Slope:
    """Theil–Sen slope of ``values`` over ``times``: the median of all pairwise slopes.

    Insensitive to outliers (a GC pause, one slow scrape) in a way least squares is not.
    """
    if len(times) != len(values):
        raise ValueError("times and values differ in length")
    if len(times) < 3:
        raise ValueError("a slope needs at least 3 samples")
    from scipy import stats  # slow to import; only the daemon's analyses need it

    res = stats.theilslopes(values, times, alpha=confidence)
    return Slope(float(res.slope), float(res.low_slope), float(res.high_slope), len(times))


def monotonic_trend(values: Sequence[float]) -> tuple[float, float]:
    """Kendall's tau of ``values`` against their order, and its two-sided p-value.

    tau near -1 with a small p-value is a steady decline (throughput degrading over the soak).
    """
    if len(values) < 4:
        return 0.0, 1.0
    if len(set(values)) == 1:
        return 0.0, 1.0
    from scipy import stats

    res = stats.kendalltau(range(len(values)), values)
    tau = float(res.statistic)
    p = float(res.pvalue)
    if math.isnan(tau):
        return 0.0, 1.0
    return tau, p
