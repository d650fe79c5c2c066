"""``cel``: a check written as a CEL expression over the phase and the state read back.

Variables: ``params``, ``state``, ``duration_s``; ``ops[kind]`` → ``{ok, failed, unknown, total,
codes}`` (codes pre-filled with 0 for every canonical code); ``requests[kind]`` → ``{count, ok,
errors, timeouts, error_rate, error_percent, p50, p95, p99, max}``; both also under
``"overall"``; ``history`` → list of ops as maps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainSerializer, WithJsonSchema

from monitor.suites.checks.context import OVERALL, CheckContext
from monitor.suites.checks.registry import CheckArgs, checker
from monitor.suites.checks.verdict import verdict
from monitor.suites.expressions.cel import CelError, CelProgram, compile_cel, show
from monitor.suites.expressions.names import CEL_CHECK_NAMES
from monitor.suites.profile.operations import OPERATIONS, OUTCOMES
from monitor.suites.results import CheckResult
from monitor.suites.results.history import OutcomeCounts


def _compile(value: Any) -> CelProgram:
    if isinstance(value, CelProgram):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a CEL expression (a string)")
    try:
        return compile_cel(value, variables=CEL_CHECK_NAMES)
    except CelError as exc:
        raise ValueError(str(exc)) from None


CelExprArg = Annotated[
    CelProgram,
    BeforeValidator(_compile),
    PlainSerializer(lambda program: program.source),
    WithJsonSchema({"type": "string", "description": "CEL expression (must be true)"}),
]


class CelArgs(CheckArgs):
    expr: CelExprArg = Field(description="a CEL expression that must be true")
    description: str | None = Field(None, description="what it checks, for people")


def _counts(counts: OutcomeCounts, outcomes: tuple[str, ...] = ()) -> dict[str, Any]:
    codes = dict.fromkeys([*OUTCOMES, *outcomes], 0)
    codes.update(counts.codes)
    return {
        "ok": counts.ok,
        "failed": counts.failed,
        "unknown": counts.unknown,
        "total": counts.total,
        "codes": codes,
    }


def _ops(ctx: CheckContext) -> dict[str, Any]:
    # every catalogue operation is there (zero counts when it did not run), plus any other kind
    kinds = dict.fromkeys([*OPERATIONS, *ctx.operations, *ctx.history.kinds()])
    ops = {kind: _counts(ctx.history.counts(kind), ctx.outcomes) for kind in kinds}
    ops[OVERALL] = _counts(ctx.history.counts(), ctx.outcomes)
    return ops


def _history(ctx: CheckContext) -> list[dict[str, Any]]:
    return [
        {
            "id": op.id,
            "user": op.process,
            "kind": op.kind,
            "args": dict(op.args),
            "outcome": op.outcome.value,
            "code": op.code,
            "value": op.value,
            "status": op.status,
            "invoked_at": op.invoked_at,
            "completed_at": op.completed_at,
            "latency_ms": op.duration_ms,
        }
        for op in ctx.history
    ]


_VARIABLES: dict[str, Callable[[CheckContext], Any]] = {
    "params": lambda ctx: dict(ctx.params),
    "state": lambda ctx: dict(ctx.state),
    "duration_s": lambda ctx: float(ctx.duration_s),
    "ops": _ops,
    "requests": lambda ctx: {kind: stats.as_dict() for kind, stats in ctx.requests.items()},
    "history": _history,
}


def activation(ctx: CheckContext, names: Iterable[str] = CEL_CHECK_NAMES) -> dict[str, Any]:
    """The variables a ``cel`` check sees (only ``names``: a big history costs time)."""
    return {name: _VARIABLES[name](ctx) for name in names if name in _VARIABLES}


@checker("cel", args=CelArgs)
def cel(ctx: CheckContext, args: CelArgs) -> CheckResult:
    """A CEL expression over params, state, ops, requests, duration_s and history is true."""
    act = activation(ctx, args.expr.names)
    result = args.expr.evaluate(act)
    if not isinstance(result, bool):
        raise CelError(f"CEL expression {args.expr.source!r} gave {show(result)}, not true/false")
    observed = "true" if result else args.expr.explain(act)
    return verdict(
        "cel",
        result,
        args.description or args.expr.source,
        observed,
        "" if result else f"{args.expr.source} is false",
    )
