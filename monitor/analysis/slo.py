"""Service-level objectives over a rolling window: error rate and latency percentile."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.analysis.verdict import Verdict, inconclusive


@dataclass(frozen=True, slots=True)
class WindowStats:
    """Aggregates of one rolling window of requests."""

    total: int
    errors: int
    p95_ms: float

    @property
    def error_ratio(self) -> float:
        return self.errors / self.total if self.total else 0.0


def error_rate_slo(
    stats: WindowStats, *, max_ratio: float = 0.05, min_requests: int = 20, name: str = "error_rate"
) -> Verdict:
    """Fails when more than ``max_ratio`` of the window's requests failed."""
    expected = f"errors < {max_ratio:.1%}"
    if stats.total < min_requests:
        return inconclusive(name, expected, f"{stats.total} requests (needs {min_requests})")
    observed = f"{stats.error_ratio:.2%} ({stats.errors}/{stats.total})"
    ok = stats.error_ratio < max_ratio
    message = "error rate within objective" if ok else "error rate above objective"
    return Verdict(name, ok, expected, observed, message)


def latency_slo(
    stats: WindowStats, *, max_p95_ms: float = 500.0, min_requests: int = 20, name: str = "p95"
) -> Verdict:
    """Fails when the window's P95 latency is at or above ``max_p95_ms``."""
    expected = f"p95 < {max_p95_ms:g} ms"
    if stats.total < min_requests:
        return inconclusive(name, expected, f"{stats.total} requests (needs {min_requests})")
    observed = f"p95 {stats.p95_ms:.0f} ms over {stats.total} requests"
    ok = stats.p95_ms < max_p95_ms
    message = "latency within objective" if ok else "P95 latency above objective"
    return Verdict(name, ok, expected, observed, message)


def burn_rate(error_ratio: float, objective_ratio: float) -> float:
    """How fast the error budget burns: 1.0 spends it exactly over the SLO period."""
    if objective_ratio <= 0:
        raise ValueError("objective_ratio must be > 0")
    return error_ratio / objective_ratio
