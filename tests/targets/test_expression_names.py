"""What docs/expressions.md promises about the names and functions expressions see."""

from __future__ import annotations

import pytest

from monitor.suites.checks.suite_entries import check_name
from monitor.suites.errors import ExpressionError
from monitor.suites.expressions.cel import compile_cel
from monitor.suites.expressions.templates import compile_template
from monitor.suites.suite.models import CheckSpec

RANGE = {"min": 10, "max": 50}


@pytest.mark.parametrize(
    ("expr", "want"),
    [
        ("within(30, params.bonus)", True),
        ("within(51, params.bonus)", False),
        ("within(100, params.fixed)", True),
        ("3 * low(params.bonus) == 30 && 3 * high(params.bonus) == 150", True),
        ("type(params.gift) == map && params.gift['front_row'] == 2", True),
        ("type(params.fixed) == map", False),
    ],
)
def test_range_and_per_kind_parameters_in_cel(expr: str, want: bool) -> None:
    params = {"bonus": RANGE, "fixed": 100, "gift": {"front_row": 2, "backstage": 2}}
    assert compile_cel(expr, variables=("params",)).evaluate({"params": params}) is want


def test_base64_builds_a_basic_auth_header_in_a_template() -> None:
    template = compile_template('Basic ${base64(session.username + ":" + session.password)}')
    value = template.render({"session": {"username": "alice", "password": "s3cret"}})
    assert value == "Basic YWxpY2U6czNjcmV0"  # what curl -u alice:s3cret sends
    with pytest.raises(ExpressionError, match="base64"):
        compile_cel("base64(3)", variables=()).evaluate({})


def test_check_names_render_parameters_as_people_read_them() -> None:
    spec = CheckSpec.model_validate(
        {"name": "bonus ${params.bonus}, gift ${params.gift}, ${params.n * 2} ops", "cel": "true"}
    )
    params = {"bonus": RANGE, "gift": {"front_row": 2, "backstage": 3}, "n": 5}
    assert check_name(spec, params) == "bonus 10–50, gift front_row ×2, backstage ×3, 10 ops"
    assert check_name(spec, {}) == spec.name  # what cannot be rendered stays as written


def test_a_null_condition_says_how_to_write_it() -> None:
    template = compile_template("${args.include_deleted ? 'cancelled' : null}")
    with pytest.raises(ExpressionError, match=r"condition of `\?:` is null"):
        template.render({"args": {"include_deleted": None}})
    fixed = compile_template("${args.include_deleted == true ? 'cancelled' : null}")
    assert fixed.render({"args": {"include_deleted": None}}) is None
    assert fixed.render({"args": {"include_deleted": True}}) == "cancelled"


def test_a_cel_map_literal_and_a_reshaped_map_in_templates() -> None:
    body = compile_template({"body": "${ {'items': [args.reward], 'qty': 1} }"})
    assert body.render({"args": {"reward": "x"}}) == {"body": {"items": ["x"], "qty": 1}}
    reshape = compile_template("${steps.bag.map(k, {'reward': k, 'quantity': steps.bag[k]})}")
    assert reshape.render({"steps": {"bag": {"coupon": 2}}}) == [
        {"reward": "coupon", "quantity": 2}
    ]
