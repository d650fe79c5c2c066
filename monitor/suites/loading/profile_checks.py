"""Cross-field checks of a profile: compilable JMESPath and templates, sound sequences."""

from __future__ import annotations

from collections.abc import Iterable

from jmespath.exceptions import JMESPathError

from monitor.suites.errors import ExpressionError, Problem
from monitor.suites.expressions.templates import compile_template, names_used
from monitor.suites.loading.yamlsource import Locations, format_path
from monitor.suites.loading.yamlwhere import PathKey
from monitor.suites.profile.models import HttpOperation, OutcomeRule, Profile, SequenceOperation
from monitor.suites.profile.operations import OPERATIONS
from monitor.suites.profile.outcomes import jmes
from monitor.suites.profile.vocabulary import suggest


def _jmes(out: list[Problem], locs: Locations, path: PathKey, expr: str | None) -> None:
    if expr is None:
        return
    try:
        jmes(expr)
    except JMESPathError as exc:
        detail = str(exc).splitlines()[0]
        out.append(
            Problem(locs.file, locs.line_of(path), format_path(path), f"bad JMESPath: {detail}")
        )


def _tmpl(out: list[Problem], locs: Locations, path: PathKey, value: object) -> None:
    try:
        compile_template(value)
    except ExpressionError as exc:
        out.append(Problem(locs.file, locs.line_of(path), format_path(path), str(exc)))


def _rules(
    out: list[Problem], locs: Locations, base: PathKey, rules: Iterable[OutcomeRule]
) -> None:
    for i, rule in enumerate(rules):
        _jmes(out, locs, (*base, i, "when"), rule.when)
        _jmes(out, locs, (*base, i, "outcome_from"), rule.outcome_from)


def _cycle(profile: Profile, start: str) -> bool:
    stack, seen = [start], set()
    while stack:
        name = stack.pop()
        op = profile.operations.get(name)
        if isinstance(op, SequenceOperation):
            for step in op.steps:
                if step.op == start:
                    return True
                if step.op not in seen:
                    seen.add(step.op)
                    stack.append(step.op)
    return False


def _placeholders(out: list[Problem], locs: Locations, name: str, op: HttpOperation) -> None:
    """``{x}`` and ``${args.x}`` in a catalogue operation's request must name an argument the
    operation receives (a typo there silently sends null)."""
    known = OPERATIONS[name].args if name in OPERATIONS else None
    if known is None:
        return  # an operation of your own: its arguments are whatever its scenarios pass
    for part in ("path", "query", "body", "headers"):
        value = getattr(op, part)
        used = names_used(value, "args") - {"args", "session", "vars", "params"}
        for arg in sorted(used - set(known)):
            receives = ", ".join(known) or "no arguments"
            path: PathKey = ("operations", name, part)
            if part == "query" and isinstance(value, dict):
                key = next((k for k, v in value.items() if arg in names_used(v, "args")), None)
                path = (*path, key) if key is not None else path
            out.append(
                Problem(
                    locs.file,
                    locs.line_of(path),
                    format_path(path),
                    f"{arg!r} is not an argument of {name} (it receives {receives})"
                    + suggest(arg, known),
                )
            )


def profile_problems(profile: Profile, locs: Locations) -> list[Problem]:
    """Every cross-field problem of a validated profile model."""
    out: list[Problem] = []
    _tmpl(out, locs, ("auth", "value"), profile.auth.value)
    _tmpl(out, locs, ("headers",), profile.headers)
    _rules(out, locs, ("outcomes",), profile.outcomes)
    for name, op in profile.operations.items():
        base: PathKey = ("operations", name)
        if isinstance(op, HttpOperation):
            for field in ("path", "query", "body", "headers"):
                _tmpl(out, locs, (*base, field), getattr(op, field))
            _placeholders(out, locs, name, op)
            _jmes(out, locs, (*base, "extract"), op.extract)
            _jmes(out, locs, (*base, "evidence"), op.evidence)
            for key, expr in op.session.items():
                _jmes(out, locs, (*base, "session", key), expr)
            _rules(out, locs, (*base, "outcomes"), op.outcomes)
            continue
        for i, step in enumerate(op.steps):
            path = (*base, "steps", i)
            if step.op not in profile.operations:
                msg = f"operation {step.op!r} is not defined in this profile"
                out.append(Problem(locs.file, locs.line_of(path), format_path((*path, "op")), msg))
            _tmpl(out, locs, (*path, "args"), step.args)
        _tmpl(out, locs, (*base, "result"), op.result)
        if _cycle(profile, name):
            msg = "sequence refers back to itself"
            out.append(Problem(locs.file, locs.line_of(base), format_path(base), msg))
    return out
