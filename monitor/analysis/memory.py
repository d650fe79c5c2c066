"""Memory growth: does resident memory keep rising over the soak (a leak)?"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.analysis.trend import robust_slope
from monitor.analysis.verdict import Verdict, inconclusive

MIB = 1024.0 * 1024.0


def memory_growth(
    times: Sequence[float],
    rss_bytes: Sequence[float],
    *,
    max_mib_per_hour: float,
    min_span_s: float = 60.0,
    min_samples: int = 10,
    name: str = "memory_growth",
) -> Verdict:
    """Fails when the Theil–Sen slope of RSS exceeds ``max_mib_per_hour``.

    The lower bound of the slope's 95 % interval must exceed the limit too, so a noisy but flat
    series does not fire; a real leak (steady growth) clears it quickly.
    """
    expected = f"RSS growth <= {max_mib_per_hour:g} MiB/h"
    span = (times[-1] - times[0]) if len(times) >= 2 else 0.0
    if len(times) < min_samples or span < min_span_s:
        why = (
            f"{len(times)} samples over {span:.0f} s (needs {min_samples} over {min_span_s:.0f} s)"
        )
        return inconclusive(name, expected, why)
    slope = robust_slope(times, rss_bytes)
    rate = slope.per_hour / MIB
    low = slope.low * 3600.0 / MIB
    observed = f"{rate:+.1f} MiB/h (95% CI low {low:+.1f}) over {span:.0f} s, {slope.n} samples"
    leaking = rate > max_mib_per_hour and low > max_mib_per_hour
    message = (
        f"resident memory grows {rate:.1f} MiB/h, above {max_mib_per_hour:g} MiB/h: likely a leak"
        if leaking
        else "resident memory is flat"
    )
    return Verdict(name, not leaking, expected, observed, message)
