"""retried_on_failure: failed ops must come with retries the target counted; none needed when
every op succeeded; a counter that went backwards cannot be judged (error)."""

from __future__ import annotations

from typing import Any

from tests.suites.checks.builders import Ops, mentions

ARGS: dict[str, Any] = {
    "kind": "points.transfer",
    "before": "state.before.retries",
    "after": "state.after.retries",
}


def _state(before: float, after: float) -> dict[str, Any]:
    return {"before": {"retries": before}, "after": {"retries": after}}


def test_no_retry_is_fine_when_every_transfer_succeeded() -> None:
    ops = Ops()
    ops.many(4, "points.transfer")
    r = ops.check("retried_on_failure", _state(7, 7), **ARGS)
    assert r.passed, r
    assert r.observed == (
        "the target counted 0 retries during the phase; 0 of 4 points.transfer ops did not succeed"
    )


def test_failed_transfers_without_any_retry_fail_with_the_failed_ops() -> None:
    ops = Ops()
    ops.many(3, "points.transfer")
    lost = ops.add("points.transfer", outcome="failed", code="server_error", status=500)
    r = ops.check("retried_on_failure", _state(2, 2), **ARGS)
    assert not r.passed
    assert r.status == "failed"
    assert "1 op failed and the target retried nothing" in r.message
    assert mentions(r, lost)


def test_failures_that_were_retried_pass_and_say_how_many_retries() -> None:
    ops = Ops()
    ops.many(3, "points.transfer")
    ops.add("points.transfer", outcome="failed", code="retry_later", status=503)
    r = ops.check("retried_on_failure", _state(2, 9), **ARGS)
    assert r.passed, r
    assert r.observed.startswith("the target counted 7 retries during the phase")


def test_a_counter_that_went_backwards_is_an_error_not_a_violation() -> None:
    ops = Ops()
    ops.add("points.transfer", outcome="failed", code="server_error", status=500)
    r = ops.check("retried_on_failure", _state(5, 1), **ARGS)
    assert r.status == "error"
    assert "restarted" in r.message
