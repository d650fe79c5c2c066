"""conflict_detected, all_succeed, eventually_succeed, expected_outcomes."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from monitor.suites.checks import get_checker
from tests.suites.checks.builders import Ops, mentions

CONFLICT = {
    "kind": "tasks.update",
    "key": "args.if_match",
    "final": "state.task.title",
    "written": "args.title",
}


def updates(*outcomes: str) -> Ops:
    ops = Ops()
    for i, outcome in enumerate(outcomes):
        code = {"ok": "ok", "conflict": "version_conflict", "unknown": "transport"}.get(outcome)
        ops.add(
            "tasks.update",
            args={"task_id": "t1", "if_match": '"1"', "title": f"title-{i}"},
            outcome="failed" if outcome in ("conflict", "error") else outcome,
            code=code or "server_error",
            status={"ok": 200, "conflict": 412, "error": 500}.get(outcome),
        )
    return ops


def test_one_winner_the_rest_conflict() -> None:
    r = updates("conflict", "ok", "conflict").check(
        "conflict_detected", {"task": {"title": "title-1"}}, **CONFLICT
    )
    assert r.passed, r
    assert r.observed == 'winners per version: [1]; state.task.title = "title-1"'


def test_ignore_if_match_fails_with_both_winners() -> None:
    ops = updates("ok", "ok", "conflict")
    r = ops.check("conflict_detected", {"task": {"title": "title-1"}}, **CONFLICT)
    assert not r.passed
    assert "2 of 3 conditional updates succeeded" in r.message
    assert mentions(r, ops.ops[0], ops.ops[1])


def test_final_state_must_be_the_winners_write() -> None:
    ops = updates("ok", "conflict", "unknown")
    r = ops.check("conflict_detected", {"task": {"title": "title-2"}}, **CONFLICT)
    assert not r.passed  # the unknown op cannot have won as well
    assert "which no winning op wrote" in r.message


def test_unknown_op_may_be_the_winner() -> None:
    ops = updates("conflict", "unknown", "conflict")
    assert ops.check("conflict_detected", {"task": {"title": "title-1"}}, **CONFLICT).passed
    r = ops.check("conflict_detected", {"task": {"title": "title-0"}}, **CONFLICT)
    assert not r.passed


def test_other_failures_are_not_conflicts() -> None:
    r = updates("ok", "error").check("conflict_detected", kind="tasks.update", server_errors="fit")
    assert not r.passed
    assert "failed with another code than version_conflict" in r.message
    r = updates("ok", "error").check("conflict_detected", kind="tasks.update")
    assert not r.passed
    assert "1 server error (HTTP 500: 1) instead of a win or version_conflict" in r.message


def test_an_unknown_500_is_never_a_conflict_loser_or_winner_by_default() -> None:
    ops = updates("conflict", "ok", "conflict")
    ops.add(
        "tasks.update",
        args={"task_id": "t1", "if_match": '"1"', "title": "title-3"},
        outcome="unknown",
        code="server_error",
        status=500,
    )
    state = {"task": {"title": "title-1"}}
    r = ops.check("conflict_detected", state, **CONFLICT)
    assert not r.passed
    assert mentions(r, ops.ops[3])
    assert ops.check("conflict_detected", state, **CONFLICT, server_errors="fit").passed


def test_all_succeed_and_unknown_is_not_proven() -> None:
    ops = Ops()
    ops.many(5, "tasks.complete")
    assert ops.check("all_succeed", kind="tasks.complete").passed
    unknown = ops.add("tasks.complete", outcome="unknown")
    r = ops.check("all_succeed", kind=["tasks.complete"])
    assert not r.passed
    assert r.observed == "5 ok; transport: 1"
    assert mentions(r, unknown)


def test_eventually_succeed_groups_retries() -> None:
    ops = Ops()
    ops.add("points.transfer", args={"n": 1}, outcome="failed", code="retry_later", at=0.0)
    ops.add("points.transfer", args={"n": 1}, at=0.5)
    ops.add("points.transfer", args={"n": 2}, at=0.1)
    assert ops.check("eventually_succeed", kind="points.transfer", key="args.n").passed
    r = ops.check("eventually_succeed", kind="points.transfer", key="args.n", within_s=0.2)
    assert not r.passed
    assert "1 operation never succeeded within 0.2 s" in r.message
    lost = ops.add("points.transfer", args={"n": 3}, outcome="failed", code="retry_later")
    r = ops.check("eventually_succeed", kind="points.transfer", key="args.n")
    assert not r.passed
    assert mentions(r, lost)


def gift_claims(ok: int, already: int, unknown: int = 0) -> Ops:
    ops = Ops()
    ops.many(ok, "gift.claim")
    ops.many(already, "gift.claim", outcome="failed", code="already_claimed", status=409)
    ops.many(unknown, "gift.claim", outcome="unknown")
    return ops


EXPECTED = {"kind": "gift.claim", "counts": {"ok": 1, "already_claimed": 4}}


def test_expected_outcomes_exact_counts() -> None:
    r = gift_claims(1, 4).check("expected_outcomes", **EXPECTED)
    assert r.passed, r
    assert r.expected == "ok: 1, already_claimed: 4"
    assert r.observed == "already_claimed: 4, ok: 1"


def test_double_gift_breaks_expected_outcomes() -> None:
    ops = gift_claims(3, 2)
    r = ops.check("expected_outcomes", **EXPECTED)
    assert not r.passed
    assert "3 ok (at most 1)" in r.message
    assert mentions(r, *ops.ops[:3])


def test_unknown_ops_fill_the_expected_counts() -> None:
    assert gift_claims(1, 3, unknown=1).check("expected_outcomes", **EXPECTED).passed
    assert gift_claims(0, 4, unknown=1).check("expected_outcomes", **EXPECTED).passed
    r = gift_claims(0, 2, unknown=1).check("expected_outcomes", **EXPECTED)
    assert not r.passed
    assert "0 ok (at least 1), 2 already_claimed (at least 4)" in r.message


def test_ranges_and_other_codes() -> None:
    ops = Ops()
    ops.many(10, "points.deduct")
    ops.many(2, "points.deduct", outcome="failed", code="insufficient_points")
    ranged = {"kind": "points.deduct", "counts": {"ok": {"max": 10}, "insufficient_points": {}}}
    assert ops.check("expected_outcomes", **ranged).passed
    ops.add("points.deduct", outcome="failed", code="server_error", status=500)
    r = ops.check("expected_outcomes", **ranged, server_errors="fit")
    assert not r.passed
    assert "unexpected codes: server_error: 1" in r.message
    assert ops.check("expected_outcomes", **ranged, exact=False, server_errors="fit").passed
    # by default a 500 fails the check even when other codes are allowed
    r = ops.check("expected_outcomes", **ranged, exact=False)
    assert not r.passed
    assert "1 server error (HTTP 500: 1) cannot count as expected outcomes" in r.message


def test_unknown_server_errors_never_stand_in_for_expected_outcomes() -> None:
    # the case: a profile marks 5xx unknown; 1 ok + 9 unknown 500s "fitted" 1 ok, 9 taken
    ops = Ops()
    ops.add("users.register")
    five_hundreds = ops.many(
        9, "users.register", outcome="unknown", code="server_error", status=500
    )
    counts = {"ok": 1, "already_exists": 9}
    r = ops.check("expected_outcomes", kind="users.register", counts=counts)
    assert not r.passed
    assert r.observed == "ok: 1; server errors: 9"
    assert "9 server errors (HTTP 500: 9) cannot count as expected outcomes" in r.message
    assert mentions(r, *five_hundreds)
    # the old, Jepsen-only reading stays available on request; a timeout still fits by default
    assert ops.check("expected_outcomes", kind="users.register", counts=counts,
                     server_errors="fit").passed  # fmt: skip
    timeouts = Ops()
    timeouts.add("users.register")
    timeouts.many(9, "users.register", outcome="unknown", error_kind="timeout")
    assert timeouts.check("expected_outcomes", kind="users.register", counts=counts).passed


def test_no_server_errors() -> None:
    ops = Ops()
    ops.many(3, "follows.create")
    assert ops.check("no_server_errors").passed
    bad = ops.add("follows.create", outcome="unknown", code="server_error", status=500)
    ops.add("follows.create", outcome="failed", code="retry_later", status=503)
    r = ops.check("no_server_errors")
    assert not r.passed
    assert r.observed == "2 server errors (HTTP 500: 1, HTTP 503: 1)"
    assert mentions(r, bad)
    assert not ops.check("no_server_errors", allow=["retry_later"]).passed
    assert ops.check("no_server_errors", allow=["retry_later"], max=1).passed
    assert ops.check("no_server_errors", kind="other.op").passed


def test_bounds_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match=r"max \(1\) is below min \(2\)"):
        get_checker("expected_outcomes").parse_args({"counts": {"ok": {"min": 2, "max": 1}}})


def test_a_generic_refusal_stands_for_any_expected_refusal() -> None:
    """A service whose refusals all look alike (`refused`) satisfies the refusal counts, never
    the ok count, and refusals beyond them are still unexpected."""
    ops = Ops()
    ops.many(1, "gift.claim")
    ops.many(4, "gift.claim", outcome="failed", code="refused", status=200)
    r = ops.check("expected_outcomes", **EXPECTED)
    assert r.passed, r
    assert r.observed == "refused: 4, ok: 1"
    double = Ops()
    double.many(2, "gift.claim")
    double.many(3, "gift.claim", outcome="failed", code="refused", status=200)
    assert not double.check("expected_outcomes", **EXPECTED).passed  # 2 ok is still 2 ok
    extra = Ops()
    extra.many(1, "gift.claim")
    extra.many(6, "gift.claim", outcome="failed", code="refused", status=200)
    r = extra.check("expected_outcomes", **EXPECTED)
    assert not r.passed
    assert "unexpected codes: refused: 2" in r.message


def test_exercised_is_an_error_naming_the_operation_nothing_succeeded_for() -> None:
    ops = Ops()
    ops.add("clubs.create", outcome="ok", status=201)
    for status, code in ((403, "forbidden"), (422, "invalid_request"), (403, "forbidden")):
        ops.add("clubs.join", outcome="failed", code=code, status=status)
    assert ops.check("exercised", kind="clubs.create").passed
    r = ops.check("exercised")  # every kind of the phases, each judged alone
    assert r.status == "error"  # not a violation: the suite may have sent what it must refuse
    assert r.message.startswith("clubs.join: 0 of 3 requests succeeded (at least 1 needed); "
                                "the target answered forbidden (HTTP 403): 2, "
                                "invalid_request (HTTP 422): 1")  # fmt: skip
    assert "clubs.create" not in r.message
    assert len(r.evidence) == 3
    assert ops.check("exercised", kind="clubs.create", min=2).status == "error"
    r = ops.check("exercised", kind="tasks.create")
    assert r.status == "error"
    assert "tasks.create: no requests were sent" in r.message
