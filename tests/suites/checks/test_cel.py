"""CEL: clear compile errors, evaluation over realistic contexts, readable results."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from monitor.suites.checks import get_checker
from monitor.suites.expressions.cel import CelError, compile_cel, to_cel, to_python
from monitor.suites.expressions.names import CEL_CHECK_NAMES
from tests.suites.checks.builders import Ops


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("state.final.balance ==", "line 1, column 23: unexpected end of expression"),
        ("(1 + 2", "line 1, column 7: unexpected end of expression (expected ')')"),
        ("a ++ b", "line 1, column 4: unexpected '+'"),
        ('"abc', "line 1, column 1: unexpected character"),
        ("a &&\n  b ==", "line 2, column 7: unexpected end of expression"),
    ],
)
def test_syntax_errors_name_expression_and_position(expr: str, message: str) -> None:
    with pytest.raises(CelError) as err:
        compile_cel(expr)
    text = str(err.value)
    assert repr(expr) in text
    assert message in text
    assert "^" in text  # a caret under the position


def test_unknown_names_are_compile_errors() -> None:
    with pytest.raises(CelError, match="unknown name 'stat' \\(available: duration_s, history"):
        compile_cel("stat.final.balance == 0", variables=CEL_CHECK_NAMES)
    # macro variables are bound, not free
    compile_cel("state.tasks.all(t, t.is_completed)", variables=CEL_CHECK_NAMES)
    compile_cel("history.exists(o, o.kind == 'x')", variables=CEL_CHECK_NAMES)


def test_empty_expression() -> None:
    with pytest.raises(CelError, match="empty"):
        compile_cel("  ")


def test_evaluation_errors_are_clear() -> None:
    prog = compile_cel("state.final.balance == 0")
    with pytest.raises(CelError, match="no such member"):
        prog.evaluate({"state": {"fin": {}}})
    with pytest.raises(CelError, match="divide by zero"):
        compile_cel("1 / 0 == 1").evaluate({})


def test_json_and_timestamps_convert() -> None:
    value = {
        "n": 3,
        "x": 1.5,
        "ok": True,
        "s": "hi",
        "none": None,
        "l": [1, "a"],
        "t": "2025-01-01T10:00:00.250Z",
    }
    back = to_python(to_cel(value))
    assert back["t"] == dt.datetime(2025, 1, 1, 10, 0, 0, 250000, tzinfo=dt.UTC)
    assert {k: v for k, v in back.items() if k != "t"} == {
        k: v for k, v in value.items() if k != "t"
    }
    prog = compile_cel('state.a.completed_at < state.b.completed_at && state.d == "2025-01-01"')
    state = {
        "a": {"completed_at": "2025-01-01T10:00:00.100+00:00"},
        "b": {"completed_at": "2025-01-01T10:00:00.200Z"},
        "d": "2025-01-01",  # dates stay strings
    }
    assert prog.evaluate({"state": state}) is True


def spec_context() -> Ops:
    ops = Ops()
    ops.many(10, "points.deduct", args={"amount": 300}, ms=40)
    ops.many(
        2,
        "points.deduct",
        args={"amount": 300},
        outcome="failed",
        code="insufficient_points",
        status=409,
    )
    ops.many(3, "points.balance", value={"balance": 900, "transaction_count": 8}, ms=15)
    return ops


SPEC = {"balance": 3000, "amount": 300}


def test_cel_check_over_a_realistic_context() -> None:
    ops = spec_context()
    state = {"final": {"balance": 0, "transaction_count": 11}, "tasks": [{"is_completed": True}]}
    exprs = [
        'state.final.balance == params.balance - params.amount * ops["points.deduct"].ok',
        'ops["points.deduct"].ok <= params.balance / params.amount',
        'ops["points.deduct"].codes["insufficient_points"] == 2',
        'ops["points.deduct"].codes["already_claimed"] == 0',  # canonical codes pre-filled
        'ops.overall.total == 15 && ops["points.balance"].unknown == 0',
        'requests["points.deduct"].p95 < 500.0 && requests.overall.error_percent < 20.0',
        "duration_s <= 10.0",
        'requests["points.deduct"].status_codes["409"] == 2',
        "state.tasks.all(t, t.is_completed)",
        'size(history.filter(o, o.kind == "points.balance" && o.value.balance >= 0)) == 3',
    ]
    for expr in exprs:
        r = ops.check("cel", state, SPEC, expr=expr)
        assert r.passed, (expr, r)
        assert r.observed == "true"


def test_failed_cel_check_shows_both_sides() -> None:
    ops = spec_context()
    state = {"final": {"balance": 600}}
    r = ops.check(
        "cel",
        state,
        SPEC,
        expr='ops["points.deduct"].ok >= 1 && '
        'state.final.balance == params.balance - params.amount * ops["points.deduct"].ok',
        description="final balance = 3000 - 300 × successes",
    )
    assert not r.passed
    assert r.expected == "final balance = 3000 - 300 × successes"
    assert r.observed == (
        "state.final.balance = 600, want == 0 "
        '(params.balance - params.amount * ops["points.deduct"].ok)'
    )


@pytest.mark.parametrize(
    ("expr", "observed"),
    [
        (
            'ops["points.deduct"].ok == params.balance / params.amount'
            ' || ops["points.deduct"].unknown > 0',
            '(ops["points.deduct"].ok = 10, want == 11 (params.balance / params.amount))'
            ' and (ops["points.deduct"].unknown = 0, want > 0)',
        ),
        (
            "state.rewards.all(r, r.quantity >= 0)",
            'state.rewards has r = {"reward": "time_freeze", "quantity": -2}: '
            "r.quantity = -2, want >= 0",
        ),
        (
            "state.rewards.exists(r, r.quantity > 5)",
            "no element of state.rewards matches (it has 2)",
        ),
        ("(duration_s < 0.5)", "duration_s = 1, want < 0.5"),
    ],
)
def test_explanations_show_the_failing_part(expr: str, observed: str) -> None:
    state = {
        "rewards": [
            {"reward": "streak_shield", "quantity": 1},
            {"reward": "time_freeze", "quantity": -2},
        ]
    }
    r = spec_context().check("cel", state, {"balance": 3300, "amount": 300}, expr=expr)
    assert not r.passed
    assert r.observed == observed


def test_missing_kinds_and_keys() -> None:
    # a catalogue operation that did not run counts 0; an unknown key is a clear failure
    assert Ops().check("cel", expr='ops["points.deduct"].total == 0').passed
    r = Ops().check("cel", expr='requests["points.deduct"].p95 < 500.0')
    assert not r.passed  # nothing measured proves nothing
    assert r.message == (
        'cel: CEL expression \'requests["points.deduct"].p95 < 500.0\': no such key "points.deduct"'
    )


def test_cel_check_errors() -> None:
    chk = get_checker("cel")
    with pytest.raises(ValidationError, match="unknown name 'sate'"):
        chk.parse_args({"expr": "sate.x == 1"})
    with pytest.raises(ValidationError, match="column 5"):
        chk.parse_args({"expr": "1 + "})
    r = Ops().check("cel", expr="state.final.balance + 1")
    assert not r.passed
    assert "no such member" in r.message or "state" in r.message
    r = Ops().check("cel", {"n": 2}, expr="state.n + 1")
    assert not r.passed
    assert "gave 3, not true/false" in r.message


def test_cel_args_round_trip_to_source() -> None:
    args = get_checker("cel").parse_args({"expr": "duration_s < 10.0"})
    assert args.model_dump() == {"expr": "duration_s < 10.0", "description": None}


def test_an_error_over_a_large_state_stays_small_and_names_the_missing_key() -> None:
    """celpy folded each failing item of all() into the next error's repr (doubling per item:
    60 metric samples of the sustained load reached 7-14 GB). The message stays bounded and
    the result is an error (not a violation) naming the key."""
    samples = [{f"series_{k}": float(k) for k in range(300)} for _ in range(200)]
    state = {"metrics": samples, "metrics_after": samples[-1]}
    r = Ops().check(
        "cel",
        state,
        expr="state.metrics.all(m, m.db_pool_waiting == 0.0) "
        "&& state.metrics_after.db_pool_in_use < state.metrics_after.db_pool_size",
    )
    assert r.status == "error"
    assert r.message.endswith(("no such key 'db_pool_waiting'", "no such key 'db_pool_in_use'"))
    assert len(r.message) < 400
    assert len(r.observed) < 400
