"""Cross-field checks of a suite that the models alone cannot express.

Known operations, declared parameters, users registered before use, compilable templates and
CEL expressions, and checker arguments valid for the named checker.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from monitor.suites import checkbridge
from monitor.suites.errors import ExpressionError, Problem
from monitor.suites.expr import compile_template, expression_roots, params_used
from monitor.suites.models import PhaseOp, Reader, Scenario, Step, Suite
from monitor.suites.operations import OPERATIONS
from monitor.suites.yamlsource import Locations, PathKey, format_path

#: Names a suite template may refer to.
TEMPLATE_ROOTS = frozenset({"params", "state", "session", "index", "vars"})


class _Collector:
    def __init__(self, locs: Locations) -> None:
        self.locs = locs
        self.problems: list[Problem] = []

    def add(self, path: PathKey, message: str) -> None:
        self.problems.append(
            Problem(self.locs.file, self.locs.line_of(path), format_path(path), message)
        )


def _suggest(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_template(out: _Collector, path: PathKey, value: Any, params: set[str]) -> None:
    try:
        compile_template(value)
    except ExpressionError as exc:
        out.add(path, str(exc))
        return
    for root in sorted(expression_roots(value) - TEMPLATE_ROOTS):
        out.add(path, f"unknown name {root!r} in template (use one of {sorted(TEMPLATE_ROOTS)})")
    for name in sorted(params_used(value) - params):
        out.add(path, f"unknown parameter {name!r}{_suggest(name, params)}")


def _check_op(out: _Collector, path: PathKey, op: str) -> None:
    if op not in OPERATIONS:
        out.add((*path, "op"), f"unknown operation {op!r}{_suggest(op, OPERATIONS)}")


def _check_user(out: _Collector, path: PathKey, user: str | None, users: set[str]) -> None:
    if user is not None and user not in users:
        out.add((*path, "user"), f"user {user!r} is not registered by an earlier setup step")


def _check_steps(
    out: _Collector, base: PathKey, steps: list[Step], params: set[str], users: set[str]
) -> None:
    for i, step in enumerate(steps):
        path = (*base, i)
        _check_op(out, path, step.op)
        _check_user(out, path, step.user, users)
        _check_template(out, (*path, "args"), step.args, params)
        _check_template(out, (*path, "count"), step.count, params)
        if step.op == "register" and step.save:
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
            _check_op(out, path, item.op)
            _check_user(out, path, item.user, users)
            _check_template(out, (*path, "args"), item.args, params)
            count = getattr(item, "count", 1)
            _check_template(out, (*path, "count"), count, params)
    _check_steps(out, (*base, "readback"), scenario.readback, params, set(users))
    for c, check in enumerate(scenario.checks):
        path = (*base, "checks", c)
        for field, message in checkbridge.check_problems(
            check, {**suite.params, **scenario.params}
        ):
            out.add((*path, *field), message)


def suite_problems(suite: Suite, locs: Locations) -> list[Problem]:
    """Every cross-field problem of a validated suite model."""
    out = _Collector(locs)
    for s, scenario in enumerate(suite.scenarios):
        _check_scenario(out, ("scenarios", s), scenario, suite)
    return out.problems
