"""Cross-field checks of a suite that the models alone cannot express.

Known operations, declared parameters, users registered before use, compilable templates and
CEL expressions, and checker arguments valid for the named checker.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from monitor.suites.checks import suite_entries
from monitor.suites.errors import ExpressionError, Problem
from monitor.suites.expressions.cel_values import cel_problem
from monitor.suites.expressions.names import SUITE_TEMPLATE_NAMES
from monitor.suites.expressions.templates import compile_template, expression_roots, params_used
from monitor.suites.loading.yamlsource import Locations, format_path
from monitor.suites.loading.yamlwhere import PathKey
from monitor.suites.profile.models import Profile
from monitor.suites.profile.operations import OPERATIONS
from monitor.suites.profile.vocabulary import (
    check_kinds,
    check_outcome_names,
    known_operations,
    profile_outcomes,
    suggest,
)
from monitor.suites.suite.models import PhaseOp, Reader, Scenario, Step, Suite


class _Collector:
    def __init__(self, locs: Locations, suite: Suite, profile: Profile | None) -> None:
        self.locs = locs
        self.problems: list[Problem] = []
        self.suite = suite
        self.profile = profile
        self.operations = known_operations(suite, profile)
        self.outcomes = profile_outcomes(profile) if profile is not None else None
        self.bad_params = False

    def add(self, path: PathKey, message: str) -> None:
        self.problems.append(
            Problem(self.locs.file, self.locs.line_of(path), format_path(path), message)
        )


def _suggest(name: str, choices: Iterable[str]) -> str:
    return suggest(name, choices)


def _check_template(out: _Collector, path: PathKey, value: Any, params: set[str]) -> None:
    try:
        compile_template(value)
    except ExpressionError as exc:
        out.add(path, str(exc))
        return
    for root in sorted(expression_roots(value) - SUITE_TEMPLATE_NAMES):
        out.add(
            path, f"unknown name {root!r} in template (use one of {sorted(SUITE_TEMPLATE_NAMES)})"
        )
    for name in sorted(params_used(value) - params):
        out.add(path, f"unknown parameter {name!r}{_suggest(name, params)}")


def _unknown_op(out: _Collector, op: str) -> str:
    where = (
        f"neither defined by profile {out.profile.name!r} nor declared under `operations:`"
        if out.profile is not None
        else "declare it under the suite's `operations:` or validate with --profile"
    )
    return f"unknown operation {op!r}{_suggest(op, out.operations)}: {where}"


def _check_op(out: _Collector, path: PathKey, op: str, args: dict[str, Any] | None = None) -> None:
    if op not in out.operations:
        out.add((*path, "op"), _unknown_op(out, op))
        return
    decl = out.suite.operations.get(op)
    if decl is not None and args:
        for name in sorted(set(args) - set(decl.args)):
            hint = _suggest(name, decl.args)
            out.add((*path, "args", name), f"argument {name!r} is not declared for {op}{hint}")


def _check_outcome(out: _Collector, path: PathKey, name: str) -> None:
    if out.outcomes is None or name in out.outcomes:
        return
    assert out.profile is not None
    out.add(
        path,
        f"unknown outcome {name!r}{_suggest(name, out.outcomes)}: profile "
        f"{out.profile.name!r} cannot produce it (declare it under its `outcome_names`)",
    )


def _check_user(out: _Collector, path: PathKey, user: str | None, users: set[str]) -> None:
    if user is not None and user not in users:
        out.add((*path, "user"), f"user {user!r} is not registered by an earlier setup step")


def creates_session(op: str, profile: Profile | None) -> bool:
    """Whether a setup step of ``op`` makes a user: ``register``, or an operation the profile
    marks ``creates_session`` (without a profile, any operation outside the catalogue may)."""
    if profile is None:
        return op == "register" or op not in OPERATIONS
    mapped = profile.operations.get(op)
    if mapped is None or mapped.creates_session is None:
        return op == "register"
    return mapped.creates_session


def _check_steps(
    out: _Collector, base: PathKey, steps: list[Step], params: set[str], users: set[str]
) -> None:
    for i, step in enumerate(steps):
        path = (*base, i)
        _check_op(out, path, step.op, step.args)
        for e, name in enumerate(step.expect):
            _check_outcome(
                out, (*path, "expect", e) if len(step.expect) > 1 else (*path, "expect"), name
            )
        _check_user(out, path, step.user, users)
        _check_template(out, (*path, "args"), step.args, params)
        _check_template(out, (*path, "count"), step.count, params)
        if step.key is not None:
            _check_template(out, (*path, "key"), step.key, params)
        if step.save and creates_session(step.op, out.profile):
            users.add(step.save)


def _check_scenario(out: _Collector, base: PathKey, scenario: Scenario, suite: Suite) -> None:
    params = set(suite.params) | set(scenario.params)
    users: set[str] = set()
    _check_steps(out, (*base, "setup"), scenario.setup, params, users)
    for p, phase in enumerate(scenario.phases):
        ppath = (*base, "phases", p)
        _check_template(out, (*ppath, "idle_before_s"), phase.idle_before_s, params)
        if phase.load is not None:
            _check_template(out, (*ppath, "load"), phase.load.model_dump(), params)
        items: list[tuple[str, int, PhaseOp | Reader]] = [
            *(("ops", i, op) for i, op in enumerate(phase.ops)),
            *(("readers", i, r) for i, r in enumerate(phase.readers)),
        ]
        for kind, i, item in items:
            path = (*ppath, kind, i)
            _check_op(out, path, item.op, item.args)
            _check_user(out, path, item.user, users)
            _check_template(out, (*path, "args"), item.args, params)
            count = getattr(item, "count", 1)
            _check_template(out, (*path, "count"), count, params)
    _check_template(out, (*base, "settle_s"), scenario.settle_s, params)
    _check_steps(out, (*base, "readback"), scenario.readback, params, set(users))
    for c, check in enumerate(scenario.checks):
        path = (*base, "checks", c)
        for field, name in check_outcome_names(check):
            _check_outcome(out, (*path, *field), name)
        for field, name in check_kinds(check):
            if name not in out.operations:
                out.add((*path, *field), _unknown_op(out, name))
        if out.bad_params:
            continue  # rendering its arguments would only repeat the parameter's problem
        for field, message in suite_entries.check_problems(
            check, {**suite.params, **scenario.params}
        ):
            out.add((*path, *field), message)


def _check_params(out: _Collector, base: PathKey, params: dict[str, Any]) -> None:
    """Parameters feed CEL: a value it cannot hold (an integer beyond 64 bits) is refused here,
    at the parameter, instead of wherever an expression first uses it."""
    for name, value in params.items():
        problem = cel_problem(value)
        if problem is not None:
            out.add((*base, name), problem)
            out.bad_params = True


def suite_problems(suite: Suite, locs: Locations, profile: Profile | None = None) -> list[Problem]:
    """Every cross-field problem of a validated suite model (operation and outcome names also
    against ``profile`` when one is given)."""
    out = _Collector(locs, suite, profile)
    _check_params(out, ("params",), suite.params)
    for s, scenario in enumerate(suite.scenarios):
        _check_params(out, ("scenarios", s, "params"), scenario.params)
    for s, scenario in enumerate(suite.scenarios):
        _check_scenario(out, ("scenarios", s), scenario, suite)
    return out.problems
