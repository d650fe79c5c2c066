"""What a checker sees: the phase's history, the state read back, params and request stats."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from monitor.suites.results.history import History, Op

OVERALL = "overall"  # key of the all-operations entry in ``CheckContext.requests``


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of an ascending sequence; 0.0 when empty."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


@dataclass(frozen=True, slots=True)
class RequestStats:
    """Latency and error numbers of one operation kind (or of all ops)."""

    count: int = 0
    ok: int = 0
    errors: int = 0  # ops that did not end ok (failed + unknown)
    timeouts: int = 0
    p50: float = 0.0  # milliseconds
    p95: float = 0.0
    p99: float = 0.0
    max: float = 0.0
    status_codes: Mapping[str, int] = field(default_factory=dict)  # "200" -> n; "none": no reply

    @property
    def error_rate(self) -> float:
        """Fraction of ops that did not end ok (0..1)."""
        return self.errors / self.count if self.count else 0.0

    @classmethod
    def from_ops(cls, ops: Iterable[Op]) -> RequestStats:
        ops = list(ops)
        latencies = sorted(d for op in ops if (d := op.duration_ms) is not None)
        ok = sum(1 for op in ops if op.ok)
        codes = Counter("none" if op.status is None else str(op.status) for op in ops)
        return cls(
            count=len(ops),
            ok=ok,
            errors=len(ops) - ok,
            timeouts=sum(1 for op in ops if op.timed_out),
            p50=percentile(latencies, 50),
            p95=percentile(latencies, 95),
            p99=percentile(latencies, 99),
            max=latencies[-1] if latencies else 0.0,
            status_codes=dict(sorted(codes.items())),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "ok": self.ok,
            "errors": self.errors,
            "timeouts": self.timeouts,
            "error_rate": self.error_rate,
            "error_percent": self.error_rate * 100.0,
            "p50": self.p50,
            "p95": self.p95,
            "p99": self.p99,
            "max": self.max,
            "status_codes": dict(self.status_codes),
        }


def stats_by_kind(history: History) -> dict[str, RequestStats]:
    """Request stats per operation kind plus ``"overall"``, computed from the ops."""
    stats = {kind: RequestStats.from_ops(history.by_kind(kind)) for kind in history.kinds()}
    stats[OVERALL] = RequestStats.from_ops(history.ops)
    return stats


@dataclass(frozen=True, slots=True)
class CheckContext:
    """Everything a checker may look at; checkers are pure functions of it."""

    history: History
    state: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    requests: Mapping[str, RequestStats] = field(default_factory=dict)
    duration_s: float = 0.0
    #: The profile's operation and outcome names: CEL's ``ops`` and ``codes`` list them with zero
    #: counts when none occurred (an expected refusal that never came is a failure, not an error).
    operations: tuple[str, ...] = ()
    outcomes: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        history: History | Iterable[Op],
        *,
        state: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        duration_s: float = 0.0,
        requests: Mapping[str, RequestStats] | None = None,
        operations: Iterable[str] = (),
        outcomes: Iterable[str] = (),
    ) -> CheckContext:
        """A context; request stats are computed from the history unless given."""
        hist = history if isinstance(history, History) else History(history)
        stats = dict(requests) if requests is not None else stats_by_kind(hist)
        stats.setdefault(OVERALL, RequestStats.from_ops(hist.ops))
        return cls(
            history=hist,
            state=MappingProxyType(dict(state or {})),
            params=MappingProxyType(dict(params or {})),
            requests=MappingProxyType(stats),
            duration_s=duration_s,
            operations=tuple(operations),
            outcomes=tuple(outcomes),
        )

    def stats(self, kind: str | None) -> RequestStats:
        """Stats of ``kind`` (overall when None); empty stats for a kind that never ran."""
        key = OVERALL if kind is None else kind
        if key in self.requests:
            return self.requests[key]
        return RequestStats.from_ops(self.history.by_kind(key))
