"""conservation: final balance == initial + ok effects ± a subset of unknown effects."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from monitor.suites.checks import get_checker, subsets
from tests.suites.checks.builders import Ops, mentions

DEDUCT = {
    "value": "state.final.balance",
    "initial": "params.balance",
    "effects": {"points.deduct": "-args.amount"},
    "ledger": "state.ledger",
    "ledger_baseline_rows": 1,
}


def ledger(initial: int, *amounts: int) -> list[dict[str, Any]]:
    """Newest first, like GET /points/transactions."""
    rows = [{"amount": initial, "reason": "setup"}] + [{"amount": a} for a in amounts]
    return list(reversed(rows))


def deducts(ok: int, failed: int = 0, unknown: int = 0) -> Ops:
    ops = Ops()
    ops.many(ok, "points.deduct", args={"amount": 300})
    ops.many(
        failed,
        "points.deduct",
        args={"amount": 300},
        outcome="failed",
        code="insufficient_points",
        status=409,
    )
    ops.many(unknown, "points.deduct", args={"amount": 300}, outcome="unknown")
    return ops


def test_holds_for_concurrent_deductions() -> None:
    ops = deducts(ok=10, failed=2)
    state = {"final": {"balance": 0}, "ledger": ledger(3000, *[-300] * 10)}
    r = ops.check("conservation", state, {"balance": 3000}, **DEDUCT)
    assert r.passed, r
    assert "= 0" in r.expected
    assert r.observed == "0"


def test_lost_update_fails_with_the_read_and_ledger_mismatch() -> None:
    # lost-update fault: 10 deducts answered ok, but two read-modify-writes overwrote each other
    ops = deducts(ok=10)
    state = {"final": {"balance": 300}, "ledger": ledger(3000, *[-300] * 10)}
    r = ops.check("conservation", state, {"balance": 3000}, **DEDUCT)
    assert not r.passed
    assert "300 more than" in r.message
    assert "ledger sums to 0 but state.final.balance is 300" in r.message
    assert any("read state.final.balance = 300" in e for e in r.evidence)
    assert any("ok points.deduct: 10 ops, total effect -3000" in e for e in r.evidence)


def test_lost_update_evidence_names_the_overwritten_ops() -> None:
    ops = Ops()
    for balance in (2700, 2400, 2400, 2100, 1800, 1800, 1800):  # read-modify-write races
        ops.add("points.deduct", args={"amount": 300}, value={"balance": balance})
    state = {"final": {"balance": 1800}, "ledger": ledger(3000, *[-300] * 7)}
    r = ops.check("conservation", state, {"balance": 3000}, **DEDUCT, returns="value.balance")
    assert not r.passed
    assert "op#1 and op#2 all reported value.balance = 2400: 1 update lost" in (r.evidence)
    assert any(e.startswith("op#4 and op#5 and op#6") for e in r.evidence)


def test_unknown_ops_explain_the_balance() -> None:
    # 8 ok, 2 timed out after sending: one of them took effect (9 rows, balance 300)
    ops = deducts(ok=8, unknown=2)
    state = {"final": {"balance": 300}, "ledger": ledger(3000, *[-300] * 9)}
    r = ops.check("conservation", state, {"balance": 3000}, **DEDUCT)
    assert r.passed, r
    assert "explained by unknown ops" in r.observed
    assert "± any subset of 2 unknown ops" in r.expected


def test_no_subset_of_unknown_ops_explains_it() -> None:
    ops = deducts(ok=8, unknown=2)
    # balance 3000-8*300-3*300 would need 3 unknown effects; only 2 exist
    state = {"final": {"balance": -300}, "ledger": ledger(3000, *[-300] * 11)}
    r = ops.check("conservation", state, {"balance": 3000}, **DEDUCT)
    assert not r.passed
    assert "no subset of the 2 unknown ops explains it" in r.message
    assert mentions(r, *ops.ops[8:])  # the unknown ops are the evidence


def test_row_count_must_match_the_subset_size() -> None:
    # mixed +100/-100 with 2 unknown: balance is explained by "none" or "both", but the ledger
    # has exactly one extra row -> one unknown op took effect, which cannot give this balance
    ops = Ops()
    ops.many(3, "points.add", args={"amount": 100})
    ops.add("points.add", args={"amount": 100}, outcome="unknown")
    ops.add("points.deduct", args={"amount": 100}, outcome="unknown")
    args = {
        "value": "state.final.balance",
        "initial": 2000,
        "effects": [
            {"kind": "points.add", "amount": "args.amount"},
            {"kind": "points.deduct", "amount": "-args.amount"},
        ],
        "ledger": "state.ledger",
        "ledger_baseline_rows": 1,
    }
    good = {"final": {"balance": 2300}, "ledger": ledger(2000, 100, 100, 100, 100, -100)}
    assert ops.check("conservation", good, **args).passed
    bad = {"final": {"balance": 2300}, "ledger": ledger(2000, 100, 100, 100, 0)}
    r = ops.check("conservation", bad, **args)
    assert not r.passed, r


def test_failed_ops_must_not_take_effect() -> None:
    # double-top3 style: only one Top3 was accepted but 600 points left
    ops = Ops()
    ops.add("top3.set", args={"date": "2025-01-01"})
    ops.many(2, "top3.set", args={"date": "2025-01-01"}, outcome="failed", code="already_set")
    r = ops.check(
        "conservation",
        {"final": {"balance": 400}},
        value="state.final.balance",
        initial=1000,
        effects={"top3.set": -300},
    )
    assert not r.passed
    assert "300 less than" in r.message


def test_where_selects_per_user_effects_of_transfers() -> None:
    ops = Ops()
    for i in range(4):
        ops.add("points.transfer", user="alice", args={"to_user_id": "B", "amount": 10 + i})
    ops.add("points.transfer", user="bob", args={"to_user_id": "A", "amount": 5})
    args = {
        "value": "state.alice.balance",
        "initial": 1000,
        "effects": [
            {"kind": "points.transfer", "amount": "-args.amount", "where": 'user == "alice"'},
            {"kind": "points.transfer", "amount": "args.amount", "where": 'args.to_user_id == "A"'},
        ],
    }
    assert ops.check("conservation", {"alice": {"balance": 1000 - 46 + 5}}, **args).passed
    assert not ops.check("conservation", {"alice": {"balance": 1000 - 46}}, **args).passed


def test_large_unknown_sets_use_a_sound_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    ops = Ops()
    for i in range(40):  # 40 distinct amounts: 2^40 subsets, more states than the DP bound
        ops.add("points.add", args={"amount": 1000 + i * 7919}, outcome="unknown")
    chk = get_checker("conservation")
    args = chk.parse_args(
        {"value": "state.b", "initial": 0, "effects": {"points.add": "args.amount"}}
    )
    monkeypatch.setattr(subsets, "DEFAULT_LIMIT", 1000)
    # the bounded fallback accepts any value within [0, Σ amounts] (no false alarm) ...
    r = chk.func(ops.ctx({"b": 5000}), args)
    assert r.passed
    assert "too many to enumerate" in r.observed
    # ... and still rejects values no subset can reach
    assert not chk.func(ops.ctx({"b": -1}), args).passed


def test_bad_args_are_rejected_at_load_time() -> None:
    chk = get_checker("conservation")
    with pytest.raises(ValidationError, match="unknown name 'stat'"):
        chk.parse_args({"value": "stat.final", "effects": {}})
    with pytest.raises(ValidationError, match="invalid at line 1, column"):
        chk.parse_args({"value": "state.final +", "effects": {}})
    with pytest.raises(
        ValidationError, match=r"unknown name 'args' here \(available: params, state"
    ):
        chk.parse_args({"value": "args.amount", "effects": {}})  # args only exist per op
    with pytest.raises(ValidationError, match="unknown name 'item'"):
        chk.parse_args({"value": "state.b", "effects": {"points.add": "item.amount"}})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        chk.parse_args({"value": "state.x", "effects": {}, "inital": 3})


def test_missing_state_is_a_failed_check_naming_the_key() -> None:
    r = deducts(ok=1).check("conservation", {"fin": {}}, {"balance": 3000}, **DEDUCT)
    assert not r.passed
    assert "state has no key 'final' (keys: fin)" in r.message
