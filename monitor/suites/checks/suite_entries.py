"""A suite's ``checks:`` entries against the checks registry: load-time validation, the JSON
Schema of checker arguments, and evaluating the entries after a phase."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from monitor.suites.checks import CHECKERS, CheckContext, get_checker, run_check
from monitor.suites.errors import ExpressionError
from monitor.suites.expressions.cel import compile_cel
from monitor.suites.expressions.names import CEL_CHECK_NAMES
from monitor.suites.expressions.templates import compile_expr
from monitor.suites.results import CheckResult
from monitor.suites.suite.models import CheckSpec

_WHOLE = re.compile(r"^\$\{(.+)\}$", re.DOTALL)
_STATE = re.compile(r"(?<![\w.])state\b")


def render_args(
    value: Any, params: Mapping[str, Any], state: Mapping[str, Any] | None = None
) -> Any:
    """Render whole-string ``"${expr}"`` values of checker arguments over ``params`` (so counts
    follow ``--param``) and ``state`` (what setup and read-back saved, e.g. the stock a setup
    reached); every other string is left for the checker (its own expressions). Without
    ``state`` (load-time validation) a value that refers to it renders as 0, for the shape."""
    if isinstance(value, str):
        match = _WHOLE.match(value)
        if not match:
            return value
        if state is None and _STATE.search(match.group(1)):
            return 0
        return compile_expr(match.group(1))({"params": params, "state": state or {}})
    if isinstance(value, Mapping):
        return {k: render_args(v, params, state) for k, v in value.items()}
    if isinstance(value, list):
        return [render_args(v, params, state) for v in value]
    return value


def check_problems(
    check: CheckSpec, params: Mapping[str, Any]
) -> list[tuple[tuple[str | int, ...], str]]:
    """(field path, message) for every problem of one check spec (args rendered with the
    default ``params``)."""
    if check.cel is not None:
        try:
            compile_cel(check.cel, variables=CEL_CHECK_NAMES)
        except ExpressionError as exc:
            return [(("cel",), str(exc).splitlines()[0])]
        return []
    name = check.check or ""
    if name not in CHECKERS:
        return [(("check",), f"unknown checker {name!r} (built-in: {', '.join(sorted(CHECKERS))})")]
    try:
        rendered = render_args(check.args, params)
        get_checker(name).parse_args(rendered)
    except ValidationError as exc:
        return _arg_problems(exc, rendered)
    except ExpressionError as exc:
        return [(("args",), str(exc).splitlines()[0])]
    return []


_TYPE_ERRORS = frozenset({"string_type", "int_type", "float_type", "bool_type", "dict_type",
                          "list_type", "model_type", "int_parsing", "float_parsing"})  # fmt: skip


def _arg_path(loc: tuple[int | str, ...], data: Any, kind: str) -> tuple[int | str, ...]:
    """The part of a pydantic ``loc`` that exists in the arguments as written (union member
    names such as ``function-before[parse(), any]`` dropped), plus a missing key."""
    out: list[int | str] = []
    node = data
    for part in loc:
        if isinstance(node, list):
            if not isinstance(part, int) or not 0 <= part < len(node):
                continue
            node = node[part]
        elif isinstance(node, Mapping) and part in node:
            node = node[part]
        elif kind in ("missing", "extra_forbidden") and isinstance(node, Mapping):
            node = None  # the missing or unknown key (any other name is a union member's)
        else:
            continue
        out.append(part)
    return tuple(out)


def _arg_message(err: Mapping[str, Any]) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown argument"
    if err["type"] == "missing":
        return "required"
    if err["type"] == "value_error":
        return str((err.get("ctx") or {}).get("error", err["msg"]))
    return str(err["msg"]).rstrip(".")


def _arg_problems(exc: ValidationError, data: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """One message per argument: a union's members each complain, the most specific wins."""
    by_path: dict[tuple[int | str, ...], list[Mapping[str, Any]]] = {}
    for err in exc.errors():
        path = _arg_path(tuple(err["loc"]), data, err["type"])
        by_path.setdefault(path, []).append(err)
    out: list[tuple[tuple[str | int, ...], str]] = []
    for path, errs in by_path.items():
        specific = [e for e in errs if e["type"] not in _TYPE_ERRORS] or errs
        out.append((("args", *path), _arg_message(specific[0])))
    return out


def checker_schemas() -> dict[str, Any]:
    """JSON Schemas of the built-in checkers' argument models, keyed ``check:<name>``."""
    out: dict[str, Any] = {}
    for name, chk in sorted(CHECKERS.items()):
        schema = chk.args_model.model_json_schema()
        schema["description"] = chk.description
        out[f"check:{name}"] = schema
    return out


_NAME_PART = re.compile(r"\$\{([^{}]+)\}")


def shown(value: Any) -> str:
    """A parameter as a check name shows it: a range ``10–50``, a count per kind
    ``front_row ×2, backstage ×2``, a whole float without its ``.0``."""
    if isinstance(value, Mapping):
        if set(value) == {"min", "max"}:
            return f"{shown(value['min'])}–{shown(value['max'])}"
        return ", ".join(f"{k} ×{shown(v)}" for k, v in value.items())
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_name(check: CheckSpec, params: Mapping[str, Any]) -> str:
    """The check's name with its ``${params…}`` parts rendered (``exactly ${params.gift_points}
    points`` -> ``exactly 1000 points``), so names never hard-code a number the profile may
    change; a part that cannot be rendered is left as written."""
    name = check.display_name

    def render(match: re.Match[str]) -> str:
        try:
            return shown(compile_expr(match.group(1))({"params": params}))
        except (ExpressionError, KeyError, TypeError, ValueError):
            return match.group(0)

    return _NAME_PART.sub(render, name) if "${" in name else name


def evaluate(check: CheckSpec, ctx: CheckContext) -> CheckResult:
    """Run one check entry of a suite against a context."""
    label = check_name(check, ctx.params)
    if check.cel is not None:
        args: dict[str, Any] = {"expr": check.cel}
        if check.description:
            args["description"] = check.description
        return run_check("cel", ctx, args, label=label)
    args = render_args(check.args, ctx.params, ctx.state)
    return run_check(check.check or "", ctx, args, label=label)
