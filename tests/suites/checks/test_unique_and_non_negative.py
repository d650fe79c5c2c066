"""unique_per_key and non_negative."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from monitor.suites.checks import get_checker
from tests.suites.checks.builders import Ops, mentions


def test_created_task_ids_are_unique() -> None:
    ops = Ops()
    for i in range(10):
        ops.add("tasks.create", args={"title": f"t{i}"}, value={"id": f"id-{i}"})
    r = ops.check("unique_per_key", kind="tasks.create", key="item.id")
    assert r.passed, r
    assert r.observed == "10 records, 10 distinct keys"


def test_task_id_collision_fails_with_the_colliding_ops() -> None:
    ops = Ops()
    for i in range(10):  # task-id-collision: a coarse clock gives ids in pairs
        ops.add("tasks.create", args={"title": f"t{i}"}, value={"id": f"id-{i // 2}"})
    r = ops.check("unique_per_key", kind="tasks.create", key="item.id")
    assert not r.passed
    assert "5 duplicated keys" in r.observed
    assert mentions(r, ops.ops[0], ops.ops[1])


def test_records_read_back_grouped_by_key() -> None:
    state = {"top3": [{"date": "2025-01-01"}, {"date": "2025-01-02"}, {"date": "2025-01-01"}]}
    r = Ops().check("unique_per_key", state, items="state.top3", key="item.date")
    assert not r.passed
    assert '"2025-01-01" ×2' in r.message
    assert any("state.top3[2]" in e for e in r.evidence)
    assert Ops().check("unique_per_key", state, items="state.top3", key="item.date", max=2).passed


def test_unique_needs_exactly_one_source() -> None:
    with pytest.raises(ValidationError, match="exactly one of 'items'"):
        get_checker("unique_per_key").parse_args({"key": "item.id"})


NON_NEG = {
    "ops": [
        {"kind": "points.balance", "value": "value.balance"},
        {"kind": "points.deduct", "value": "value.balance"},
    ],
    "state": ["state.final.balance"],
}


def test_non_negative_holds() -> None:
    ops = Ops()
    for b in (2700, 2400, 2100):
        ops.add("points.deduct", args={"amount": 300}, value={"balance": b})
    ops.add("points.balance", value={"balance": 2400, "transaction_count": 2})
    r = ops.check("non_negative", {"final": {"balance": 2100}}, **NON_NEG)
    assert r.passed, r
    assert r.observed == "lowest of 5 values: 2100"


def test_overdraft_fails_with_the_negative_reads() -> None:
    ops = Ops()
    for b in (300, 0, -300):  # overdraft: check-then-act lets a third deduct through
        ops.add("points.deduct", args={"amount": 300}, value={"balance": b})
    ops.add("points.deduct", outcome="failed", code="insufficient_points", value=None)
    r = ops.check("non_negative", {"final": {"balance": -300}}, **NON_NEG)
    assert not r.passed
    assert mentions(r, ops.ops[2])
    assert "read back state.final.balance = -300" in r.evidence


def test_non_negative_over_lists_of_quantities() -> None:
    ops = Ops()
    ops.add("rewards.list", value={"items": [{"reward": "time_freeze", "quantity": -1}]})
    args = {"ops": [{"kind": "rewards.list", "value": "value.items.map(i, i.quantity)"}]}
    r = ops.check("non_negative", **args)
    assert not r.passed
    assert mentions(r, ops.ops[0])


def test_non_negative_without_values_is_not_a_pass() -> None:
    r = Ops().check("non_negative", ops=[{"kind": "points.balance", "value": "value.balance"}])
    assert not r.passed
    assert "no values to check" in r.message
