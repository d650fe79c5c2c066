"""The short fuzzing budget of ``make test`` (seconds; ``make fuzz`` runs the long one).

- property-based (hypothesis, derandomized so CI is reproducible): YAML text, ``${…}``
  templates, CEL, JMESPath, cron and durations each fail only with their own error type, never
  with a crash, whatever the input;
- mutation-based: a few dozen mutated shipped examples validated in limited children, as
  ``python -m tests.fuzz`` does, judged the same way.
"""

from __future__ import annotations

import contextlib
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jmespath.exceptions import JMESPathError

from monitor.daemon.schedule import Schedule, ScheduleError
from monitor.engine.durations import parse_duration
from monitor.suites.errors import ConfigError, ExpressionError
from monitor.suites.expressions.cel import compile_cel
from monitor.suites.expressions.templates import compile_template
from monitor.suites.loading.yamlsource import parse_yaml
from monitor.suites.profile.outcomes import jmes
from tests.fuzz import mutators
from tests.fuzz.harness import run_many
from tests.fuzz.seeds import seeds

QUICK = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def _generated(make: Any) -> st.SearchStrategy[str]:
    """Strings from one of the fuzzer's generators, driven by a hypothesis-drawn seed."""
    return st.integers(0, 2**32).map(lambda seed: make(random.Random(seed)))


_TEXT = st.one_of(
    st.text(max_size=200),
    st.text(alphabet="{}[]$'\"\\:,-&*!|> \n\tab0", max_size=300),
    _generated(lambda r: r.choice(mutators.ADVERSARIAL)(r)),
)


@QUICK
@given(st.one_of(_TEXT, _generated(lambda r: mutators.mutate(r.choice(seeds()).text, r))))
def test_yaml_text_is_data_or_a_config_error(text: str) -> None:
    problems = []
    try:
        parse_yaml(text, "fuzz.yaml")
    except ConfigError as exc:
        problems = exc.problems
    assert all("\n" not in str(p) for p in problems)
    assert all(p.field for p in problems if p.line is not None), problems  # the field is named


@QUICK
@given(st.one_of(_TEXT, _generated(mutators.template), _generated(mutators.cel_expr)))
def test_a_template_compiles_or_is_an_expression_error(text: str) -> None:
    with contextlib.suppress(ExpressionError):
        compile_template({"value": text, "list": [text]})


_DEEP = st.sampled_from(
    [
        "(" * 3000 + "1" + ")" * 3000,
        "-" * 3000 + "1",
        " + ".join(["1"] * 3000),
        "a" + ".a" * 3000,
        "[" * 3000 + "]" * 3000,
        "size(" * 500 + "x" + ")" * 500,
        "9223372036854775808",
        '"2024-02-30T00:00:00Z" == params.x',
        "x" * 5000,
    ]
)


@QUICK
@given(st.one_of(_TEXT, _DEEP, _generated(mutators.cel_expr)))
def test_cel_compiles_or_is_an_expression_error(text: str) -> None:
    try:
        program = compile_cel(text)
    except ExpressionError:
        return
    with contextlib.suppress(ExpressionError):
        program.evaluate({"params": {"x": 1}, "state": {}, "args": {}, "x": 2})


@QUICK
@given(st.one_of(_TEXT, _DEEP, _generated(mutators.jmespath_expr)))
def test_jmespath_compiles_or_is_a_jmespath_error(text: str) -> None:
    with contextlib.suppress(JMESPathError):
        jmes(text).search({"a": {"b": [1, 2]}, "code": 0})


@QUICK
@given(st.one_of(_TEXT, _generated(mutators.cron_expr), _generated(mutators.duration)))
def test_cron_and_durations_parse_or_say_why(text: str) -> None:
    with contextlib.suppress(ScheduleError):
        Schedule(cron=text)
    message = ""
    try:
        parse_duration(text)
    except ValueError as exc:
        message = str(exc)
    assert "\n" not in message


SHORT_INPUTS = 16


@pytest.mark.parametrize("seed", [20])
def test_mutated_examples_validate_cleanly(seed: int) -> None:
    """The long run's loop in miniature: fixed seed, so a failure here reproduces."""
    rng = random.Random(seed)
    pool = seeds()
    texts = [mutators.mutate(rng.choice(pool).text, rng) for _ in range(SHORT_INPUTS)]
    failures = [
        f"input {i}: {o.verdict}: {o.detail}" for i, o in run_many(texts, 2, 20) if o.failed
    ]
    assert not failures, failures
