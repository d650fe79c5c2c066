"""Results across processes: a JSON-ready, exact form of :class:`ConcurrentResult` and stats.

``soakmon load --processes N`` runs N worker processes; each sends its result in this form
(counters, status codes, error counts, the HdrHistogram V2 encoding with the exact sum and
max beside it) and the parent adds them up. Nothing is approximated: counts add, histogram
buckets add, so merged percentiles equal those of one histogram over every latency. Sampled
records stay in the worker (they are for scenario checks, not for plain load).
"""

from __future__ import annotations

from typing import Any

from monitor.engine.executors.outcome import ExecutorStats
from monitor.engine.result import ConcurrentResult


def result_to_wire(result: ConcurrentResult) -> dict[str, Any]:
    """``result`` as plain JSON types (exact; records are not included)."""
    hist = result.histogram
    return {
        "success_count": result.success_count,
        "error_count": result.error_count,
        "connect_failures": result.connect_failures,
        "status_codes": {str(k): v for k, v in result.status_codes.items()},
        "error_counts": result.error_counts,
        "errors_overflow": result.errors_overflow,
        "histogram": hist.encode().decode("ascii"),
        "max_ms": hist.max,
        "sum_ms": hist.total_ms,
    }


def absorb_wire(into: ConcurrentResult, doc: dict[str, Any]) -> None:
    """Add a :func:`result_to_wire` document into ``into`` (exact)."""
    into.success_count += int(doc["success_count"])
    into.error_count += int(doc["error_count"])
    into.connect_failures += int(doc["connect_failures"])
    codes = into.status_codes
    for status, count in doc["status_codes"].items():
        codes[int(status)] = codes.get(int(status), 0) + int(count)
    into.add_error_counts(doc["error_counts"], overflow=int(doc.get("errors_overflow", 0)))
    into.histogram.add_encoded(
        doc["histogram"].encode("ascii"), max_ms=float(doc["max_ms"]), sum_ms=float(doc["sum_ms"])
    )


def result_from_wire(doc: dict[str, Any]) -> ConcurrentResult:
    """A new result holding one :func:`result_to_wire` document."""
    result = ConcurrentResult(sample_limit=0)
    absorb_wire(result, doc)
    return result


def stats_to_wire(stats: ExecutorStats) -> dict[str, Any]:
    """Executor stats unrounded (so that sums are exact)."""
    return {name: getattr(stats, name) for name in ExecutorStats.__dataclass_fields__}


def merge_stats(parts: list[dict[str, Any]]) -> ExecutorStats:
    """The stats of N workers run side by side: counts and busy VUs add, times are the
    longest worker's, the achieved rate is the sum of the workers' rates."""
    if not parts:
        raise ValueError("no worker stats to merge")
    return ExecutorStats(
        executor=str(parts[0]["executor"]),
        iterations=sum(int(p["iterations"]) for p in parts),
        completed=sum(int(p["completed"]) for p in parts),
        dropped=sum(int(p["dropped"]) for p in parts),
        interrupted=sum(int(p["interrupted"]) for p in parts),
        duration_s=max(float(p["duration_s"]) for p in parts),
        active_s=max(float(p["active_s"]) for p in parts),
        achieved_rate=sum(float(p["achieved_rate"]) for p in parts),
        vus_max=sum(int(p["vus_max"]) for p in parts),
    )
