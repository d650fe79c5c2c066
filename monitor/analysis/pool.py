"""Database pool saturation: connections all in use, or requests waiting for one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.analysis.verdict import Verdict, inconclusive


@dataclass(frozen=True, slots=True)
class PoolSample:
    """One scrape of the target's pool gauges."""

    size: float
    in_use: float
    waiting: float


def pool_saturation(
    samples: Sequence[PoolSample],
    *,
    max_saturated_ratio: float = 0.5,
    busy_fraction: float = 0.9,
    min_samples: int = 5,
    name: str = "pool_not_exhausted",
) -> Verdict:
    """Fails when more than ``max_saturated_ratio`` of the recent scrapes saw the pool saturated:
    in use at or above ``busy_fraction`` of its size, or anyone waiting for a connection.

    A busy moment during a burst is normal; a pool that stays saturated is exhausted (a leak
    of checked-out connections, or a pool too small for the load).
    """
    expected = (
        f"pool saturated (in_use >= {busy_fraction:.0%} of size, or waiters) in "
        f"<= {max_saturated_ratio:.0%} of scrapes"
    )
    if len(samples) < min_samples:
        return inconclusive(name, expected, f"{len(samples)} scrapes (needs {min_samples})")

    def saturated(s: PoolSample) -> bool:
        return s.waiting > 0 or (s.size > 0 and s.in_use >= busy_fraction * s.size)

    hits = sum(1 for s in samples if saturated(s))
    ratio = hits / len(samples)
    last = samples[-1]
    observed = (
        f"saturated in {hits}/{len(samples)} scrapes ({ratio:.0%}); last: "
        f"{last.in_use:g}/{last.size:g} in use, {last.waiting:g} waiting"
    )
    exhausted = ratio > max_saturated_ratio
    message = "the database pool is exhausted" if exhausted else "the database pool has headroom"
    return Verdict(name, not exhausted, expected, observed, message)
