"""realtime_order and the thresholds (latency, error_rate, duration, no_timeouts)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from monitor.suites.checks import CheckContext, RequestStats, get_checker, run_check
from tests.suites.checks.builders import Ops, mentions


def completions(*stamps: str, gap: float = 0.1) -> Ops:
    """Sequential completes: each invoked after the previous one finished."""
    ops = Ops()
    for i, stamp in enumerate(stamps):
        ops.add(
            "tasks.complete",
            args={"task_id": f"t{i}"},
            value={"completed_at": stamp},
            at=i * gap,
            ms=20,
        )
    return ops


def test_stamps_follow_real_time_order() -> None:
    ops = completions(
        "2025-01-01T10:00:00.100Z", "2025-01-01T10:00:00.200Z", "2025-01-01T10:00:00.300+00:00"
    )
    r = ops.check("realtime_order", kind="tasks.complete")
    assert r.passed, r
    assert r.observed == "3 ordered pairs of 3 ops, 0 inversions"


def test_inverted_stamps_fail_with_the_pair() -> None:
    ops = completions("2025-01-01T10:00:00.300Z", "2025-01-01T10:00:00.200Z")
    r = ops.check("realtime_order", kind="tasks.complete")
    assert not r.passed
    assert mentions(r, *ops.ops)
    assert "finished before" in r.evidence[0]


def test_concurrent_ops_may_be_stamped_in_any_order() -> None:
    ops = completions("2025-01-01T10:00:00.300Z", "2025-01-01T10:00:00.200Z", gap=0.005)
    r = ops.check("realtime_order", kind="tasks.complete")
    assert r.passed  # overlapping: no real-time precedence between them
    assert r.observed.startswith("0 ordered pairs")


def test_bad_stamps_are_a_data_error() -> None:
    r = completions("yesterday").check("realtime_order", kind="tasks.complete")
    assert not r.passed
    assert "must be an RFC 3339 time or a number" in r.message


def load(n: int = 50, slow: int = 0, errors: int = 0, timeouts: int = 0) -> Ops:
    ops = Ops()
    for i in range(n):
        ops.add("tasks.create", ms=20 + i % 10)
    for _ in range(slow):
        ops.add("points.balance", ms=800)
    for _ in range(errors):
        ops.add("tasks.create", outcome="failed", code="server_error", status=500, ms=5)
    for _ in range(timeouts):
        ops.add("tasks.create", outcome="unknown", error_kind="timeout", ms=2000)
    return ops


def test_latency_thresholds() -> None:
    assert load().check("latency", p95=500, max=100).passed
    ops = load(slow=5)
    r = ops.check("latency", p95=500)
    assert not r.passed
    assert r.message == "p95 800.0 ms > 500 ms"
    assert mentions(r, ops.ops[-1])
    assert ops.check("latency", kind="tasks.create", p95=500).passed
    with pytest.raises(ValidationError, match="at least one of p50"):
        get_checker("latency").parse_args({"kind": "x"})


def test_latency_uses_engine_stats_when_given() -> None:
    ops = load()
    ctx = CheckContext.build(ops.ops, requests={"overall": RequestStats(count=50, p95=900.0)})
    assert not run_check("latency", ctx, {"p95": 500}).passed


def test_error_rate() -> None:
    assert load(n=96, errors=4).check("error_rate", max_percent=5).passed
    ops = load(n=90, errors=10)
    r = ops.check("error_rate", max_percent=5)
    assert not r.passed
    assert r.observed == "10.00 % (10 of 100); server_error: 10"
    assert mentions(r, ops.ops[90])


def test_duration() -> None:
    ops = load()
    assert run_check("duration", ops.ctx(duration_s=9.5), {"max_s": 10}).passed
    r = run_check("duration", ops.ctx(duration_s=12.0), {"max_s": 10})
    assert not r.passed
    assert r.message == "phase took 12.00 s > 10 s"


def test_no_timeouts() -> None:
    assert load(errors=3).check("no_timeouts").passed
    ops = load(timeouts=2)
    r = ops.check("no_timeouts")
    assert not r.passed
    assert mentions(r, ops.ops[-1], ops.ops[-2])
    assert "timeout after 2.0 s" in r.evidence[0]


def test_thresholds_without_requests_are_not_a_pass() -> None:
    r = Ops().check("latency", kind="tasks.create", p95=500)
    assert not r.passed
    assert "no requests of tasks.create" in r.message


def test_unknown_ops_have_no_stamp_to_order() -> None:
    ops = completions("2025-01-01T10:00:00.100Z", "2025-01-01T10:00:00.300Z")
    ops.add("tasks.complete", args={"task_id": "tx"}, outcome="unknown", at=0.5)
    assert ops.check("realtime_order", kind="tasks.complete").passed
    ops.add("tasks.complete", args={"task_id": "t9"}, value={"completed_at": 1.0}, at=0.6)
    r = ops.check("realtime_order", kind="tasks.complete")
    assert not r.passed  # mixing numbers and times is caught as an inversion, not ignored
