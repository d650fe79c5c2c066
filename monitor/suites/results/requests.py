"""The ``requests`` object of a scenario (design.md): counts, status codes, latency quantiles."""

from __future__ import annotations

from typing import Any

from monitor.suites.results.json_fields import ReportFormatError, get_field
from monitor.suites.results.latency import ConcurrentResultLike


def empty_requests() -> dict[str, Any]:
    """The design.md ``requests`` object of a scenario that sent nothing."""
    return {
        "total": 0,
        "success_count": 0,
        "error_count": 0,
        "status_codes": {},
        "errors": [],
        "latency_ms": {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0},
    }


def requests_from(result: ConcurrentResultLike | None) -> dict[str, Any]:
    """The design.md ``requests`` object (``ConcurrentResult.to_dict()``), normalised."""
    if result is None:
        return empty_requests()
    return requests_from_json(result.to_dict(), "requests")


def requests_from_json(obj: Any, path: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ReportFormatError(f"{path}: expected an object")
    lat = get_field(obj, "latency_ms", dict, path, default={})
    codes = get_field(obj, "status_codes", dict, path, default={})
    return {
        **obj,
        "total": get_field(obj, "total", int, path, default=0),
        "success_count": get_field(obj, "success_count", int, path, default=0),
        "error_count": get_field(obj, "error_count", int, path, default=0),
        "status_codes": {str(k): int(v) for k, v in codes.items()},
        "errors": [str(e) for e in get_field(obj, "errors", list, path, default=[])],
        "latency_ms": {
            q: get_field(lat, q, float, f"{path}.latency_ms", default=0.0)
            for q in ("p50", "p95", "p99", "max")
        },
    }
