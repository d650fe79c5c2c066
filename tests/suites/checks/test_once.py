"""exactly_once / at_most_once / at_most: effects read back vs the ops behind them."""

from __future__ import annotations

from typing import Any

from tests.suites.checks.builders import Ops, mentions

GIFT = {
    "kind": "gift.claim",
    "key": "user",
    "observed": 'state.ledger.filter(r, r.reason == "welcome_gift")',
}


def rows(n: int, reason: str = "welcome_gift", **extra: Any) -> list[dict[str, Any]]:
    return [{"amount": 1000, "reason": reason, **extra} for _ in range(n)]


def claims(ok: int, already: int, unknown: int = 0) -> Ops:
    ops = Ops()
    ops.many(ok, "gift.claim")
    ops.many(already, "gift.claim", outcome="failed", code="already_claimed", status=409)
    ops.many(unknown, "gift.claim", outcome="unknown")
    return ops


def test_exactly_once_holds_for_one_gift() -> None:
    ledger = rows(1) + rows(1, reason="setup")
    r = claims(1, 4).check("exactly_once", {"ledger": ledger}, **GIFT)
    assert r.passed, r
    assert r.observed == "1 effect in " + GIFT["observed"]


def test_double_gift_fails_naming_the_ok_claims() -> None:
    ops = claims(3, 2)  # double-gift fault: check-then-insert lets 3 claims through
    r = ops.check("exactly_once", {"ledger": rows(3)}, **GIFT)
    assert not r.passed
    assert "3 effects observed, expected 1" in r.message
    assert mentions(r, *ops.ops[:3])
    assert not mentions(r, ops.ops[3])  # the already_claimed ones are not evidence
    assert not ops.check("at_most_once", {"ledger": rows(3)}, **GIFT).passed


def test_unknown_claim_may_or_may_not_have_taken_effect() -> None:
    ops = claims(0, 4, unknown=1)
    assert ops.check("exactly_once", {"ledger": rows(1)}, **GIFT).passed
    assert ops.check("exactly_once", {"ledger": []}, **GIFT).passed
    assert ops.check("at_most_once", {"ledger": rows(1)}, **GIFT).passed


def test_unknown_claims_cannot_explain_two_gifts_for_one_user() -> None:
    ops = claims(0, 3, unknown=2)  # both unknown are the same logical op (same user)
    r = ops.check("exactly_once", {"ledger": rows(2)}, **GIFT)
    assert not r.passed
    assert "2 effects observed, expected 0..1" in r.message


def test_missing_effect_of_an_ok_op_fails() -> None:
    r = claims(1, 0).check("exactly_once", {"ledger": []}, **GIFT)
    assert not r.passed
    assert "0 effects observed, expected 1" in r.message
    assert claims(1, 0).check("at_most_once", {"ledger": []}, **GIFT).passed


BONUS = {
    "kind": "tasks.complete",
    "key": "args.task_id",
    "where": "args.task_id in state.top3.task_ids",
    "observed": 'state.ledger.filter(r, r.reason == "top3_completion")',
}


def completes(*task_ids: str) -> Ops:
    ops = Ops()
    for t in task_ids:
        ops.add("tasks.complete", args={"task_id": t})
    return ops


def test_completion_bonus_once_per_top3_task() -> None:
    ops = completes("t1", "t1", "t2", "t3", "t3")  # t3 is not in the Top3
    state = {"top3": {"task_ids": ["t1", "t2"]}, "ledger": rows(2, reason="top3_completion")}
    assert ops.check("exactly_once", state, **BONUS).passed


def test_double_completion_bonus_fails() -> None:
    ops = completes("t1", "t1", "t2")
    state = {"top3": {"task_ids": ["t1", "t2"]}, "ledger": rows(3, reason="top3_completion")}
    r = ops.check("exactly_once", state, **BONUS)
    assert not r.passed
    assert "3 effects observed, expected 2" in r.message


def test_per_key_counts_with_observed_key() -> None:
    ops = completes("t1", "t2")
    ops.add("tasks.complete", args={"task_id": "t3"}, outcome="unknown")
    args = {**BONUS, "where": None, "observed": "state.bonus", "observed_key": "item.task_id"}
    ok = {"bonus": [{"task_id": "t1"}, {"task_id": "t2"}, {"task_id": "t3"}]}
    assert ops.check("exactly_once", ok, **args).passed
    dup = {"bonus": [{"task_id": "t1"}, {"task_id": "t1"}, {"task_id": "t2"}]}
    r = ops.check("exactly_once", dup, **args)
    assert not r.passed
    assert r.message == 'key "t1" has 2 effects (at most 1)'
    assert mentions(r, ops.ops[0])
    phantom = {"bonus": [{"task_id": "t1"}, {"task_id": "t2"}, {"task_id": "t9"}]}
    r = ops.check("exactly_once", phantom, **args)
    assert not r.passed
    assert 'key "t9" has 1 effects but no op' in r.message


def test_at_most_n_with_a_count() -> None:
    ops = Ops()
    ops.many(12, "points.deduct", args={"amount": 300})
    args = {"kind": "points.deduct", "observed": "state.final.transaction_count", "n": 10}
    assert ops.check("at_most", {"final": {"transaction_count": 10}}, **args).passed
    r = ops.check("at_most", {"final": {"transaction_count": 11}}, **args)
    assert not r.passed
    assert "11 effects observed, expected 0..10" in r.message


def test_at_most_once_with_unknown_ops() -> None:
    ops = Ops()
    ops.add("gift.claim", user="a", outcome="unknown")
    ops.add("gift.claim", user="b", outcome="unknown")
    args = {"kind": "gift.claim", "key": "user", "observed": "state.rows"}
    assert ops.check("at_most_once", {"rows": [{}, {}]}, **args).passed  # both took effect
    r = ops.check("at_most_once", {"rows": [{}, {}, {}]}, **args)
    assert not r.passed  # 2 logical ops cannot leave 3 effects
    assert "3 effects observed, expected 0..2" in r.message
