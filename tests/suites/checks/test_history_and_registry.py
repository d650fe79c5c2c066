"""The history model and the checker registry."""

from __future__ import annotations

import json

import jsonschema
import pytest
from pydantic import ValidationError

from monitor.suites.checks import (
    CHECKERS,
    CheckArgs,
    CheckContext,
    Checker,
    get_checker,
    run_check,
)
from monitor.suites.results import CheckResult
from monitor.suites.results.history import History, Op, Outcome
from tests.suites.checks.builders import Ops

FAMILIES = {
    "conservation",
    "exactly_once",
    "at_most_once",
    "at_most",
    "unique_per_key",
    "non_negative",
    "snapshot_consistent",
    "no_partial_read",
    "conflict_detected",
    "all_succeed",
    "eventually_succeed",
    "exercised",
    "expected_outcomes",
    "no_server_errors",
    "idempotent_effect",
    "last_write_wins",
    "realtime_order",
    "latency",
    "error_rate",
    "duration",
    "no_timeouts",
    "retried_on_failure",
    "cel",
}


def test_history_orders_counts_and_precedence() -> None:
    a = Op(
        1, "alice", "points.add", {"amount": 5}, Outcome.OK, "ok", invoked_at=0.2, completed_at=0.3
    )
    b = Op(0, "bob", "points.add", {"amount": 5}, Outcome.UNKNOWN, "transport", invoked_at=0.1)
    c = Op(
        2,
        "bob",
        "points.deduct",
        {},
        Outcome.FAILED,
        "insufficient_points",
        invoked_at=0.4,
        completed_at=0.41,
        status=409,
    )
    h = History([c, a, b])
    assert [op.id for op in h] == [0, 1, 2]  # invocation order
    assert h.kinds() == ["points.add", "points.deduct"]
    assert [op.id for op in h.by_process("bob")] == [0, 2]
    counts = h.counts("points.add")
    assert (counts.total, counts.ok, counts.failed, counts.unknown) == (2, 1, 0, 1)
    assert h.counts().codes == {"transport": 1, "ok": 1, "insufficient_points": 1}
    assert History.precedes(a, c)
    assert not History.precedes(c, a)
    assert not History.precedes(b, c)  # an unknown op never completed
    assert b.duration_ms is None
    assert c.duration_ms == pytest.approx(10.0)
    assert c.describe() == (
        "op#2 bob points.deduct() failed insufficient_points (HTTP 409) [t=0.400–0.410]"
    )
    assert "unknown transport" in b.describe()
    assert "–?]" in b.describe()
    with pytest.raises(ValueError, match="unique"):
        History([a, a])


def test_every_family_is_registered_with_a_json_schema() -> None:
    assert set(CHECKERS) == FAMILIES
    for name, chk in CHECKERS.items():
        schema = chk.args_model.model_json_schema()
        json.dumps(schema)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema.get("additionalProperties") is False, name
        assert chk.description, name


def test_unknown_check_lists_the_valid_ones() -> None:
    with pytest.raises(KeyError, match="unknown check 'conservaton'; valid checks: all_succeed"):
        get_checker("conservaton")


def test_unknown_keys_are_load_errors() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        get_checker("all_succeed").parse_args({"kinds": "x"})


def test_label_names_the_result() -> None:
    ops = Ops()
    ops.add("x")
    r = run_check("all_succeed", ops.ctx(), {"kind": "x"}, label="all claims answered")
    assert r.name == "all claims answered"
    assert r.passed
    assert r.evidence == []  # passing checks carry no evidence


def test_checker_is_a_pure_function_of_the_context() -> None:
    ops = Ops()
    ops.many(3, "points.add", args={"amount": 1})
    ctx = CheckContext.build(ops.history(), state={"b": 3})
    args = {"value": "state.b", "effects": {"points.add": "args.amount"}}
    first = run_check("conservation", ctx, args)
    assert first == run_check("conservation", ctx, args)
    assert first.passed


def test_request_stats_from_the_history() -> None:
    ops = Ops()
    for ms in range(1, 101):
        ops.add("points.add", ms=float(ms))
    ops.add("points.add", outcome="unknown", error_kind="timeout", ms=2000)
    stats = ops.ctx().requests
    s = stats["points.add"]
    assert (s.count, s.ok, s.errors, s.timeouts) == (101, 100, 1, 1)
    assert (s.p50, s.p95, s.max) == (51.0, 96.0, 2000.0)
    assert stats["overall"] == s


def test_schema_accepts_what_the_models_accept() -> None:
    schema = CHECKERS["conservation"].args_model.model_json_schema()
    validator = jsonschema.Draft202012Validator(schema)
    for effects in ({"points.add": "args.amount"}, [{"kind": "points.add", "amount": 5}]):
        doc = {"value": "state.b", "effects": effects}
        assert not list(validator.iter_errors(doc))
        CHECKERS["conservation"].parse_args(doc)
    assert list(validator.iter_errors({"value": "state.b", "effects": {}, "nope": 1}))


def test_a_crashing_checker_fails_its_check_instead_of_the_run() -> None:
    def boom(ctx: CheckContext, args: CheckArgs) -> CheckResult:
        raise ZeroDivisionError("oops")

    chk = Checker("boom", boom, CheckArgs, "always crashes")
    r = run_check(chk, Ops().ctx(), {}, label="crashy")
    assert not r.passed
    assert r.name == "crashy"
    assert r.message == "boom crashed: ZeroDivisionError('oops')"
