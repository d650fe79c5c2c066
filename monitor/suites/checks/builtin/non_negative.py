"""``non_negative``: every value read during the phase and after it stays ≥ ``min``."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from monitor.suites.checks.context import CheckContext
from monitor.suites.checks.registry import CheckArgs, checker
from monitor.suites.checks.verdict import plural, verdict
from monitor.suites.expressions.cel import show
from monitor.suites.expressions.check_args import (
    CheckDataError,
    ExprArg,
    KindsArg,
    OpExprArg,
    Scope,
    select,
)
from monitor.suites.results import CheckResult


class OpValues(CheckArgs):
    kind: KindsArg
    value: OpExprArg = Field(description="number or list of numbers read by one ok op")
    where: OpExprArg | None = Field(None, description="only ops for which this is true")


class NonNegativeArgs(CheckArgs):
    ops: list[OpValues] = Field([], description="reads during the phase: [{kind, value}]")
    state: list[ExprArg] = Field([], description="values read back after the phase")
    min: float = Field(0, description="smallest allowed value")


def _numbers(value: Any, what: str) -> list[int | float]:
    values = value if isinstance(value, list | tuple) else [value]
    out: list[int | float] = []
    for v in values:
        if v is None:
            continue  # nothing read (e.g. a reward kind the user has none of)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise CheckDataError(f"{what} must be a number or a list of numbers, got {show(v)}")
        out.append(v)
    return out


@checker("non_negative", args=NonNegativeArgs)
def non_negative(ctx: CheckContext, args: NonNegativeArgs) -> CheckResult:
    """Every observed value (reads during the phase + final state) is ≥ min (default 0)."""
    if not args.ops and not args.state:
        raise CheckDataError("non_negative needs 'ops' and/or 'state' to look at")
    scope = Scope.of(ctx)
    seen = 0
    lowest: float | None = None
    evidence: list[str] = []
    for spec in args.ops:
        for op in select(ctx, spec.kind, spec.where, scope):
            if not op.ok:
                continue
            for v in _numbers(spec.value.eval(scope.for_op(op)), f"{spec.value} of op#{op.id}"):
                seen += 1
                lowest = v if lowest is None else min(lowest, v)
                if v < args.min:
                    evidence.append(f"{op.describe()}: {spec.value} = {v}")
    for expr in args.state:
        for v in _numbers(expr.eval(scope), str(expr)):
            seen += 1
            lowest = v if lowest is None else min(lowest, v)
            if v < args.min:
                evidence.append(f"read back {expr} = {v}")
    if seen == 0:
        raise CheckDataError("non_negative found no values to check (no ok reads, empty state)")
    limit = int(args.min) if float(args.min).is_integer() else args.min
    return verdict(
        "non_negative",
        not evidence,
        f"every value ≥ {limit}",
        f"lowest of {plural(seen, 'value')}: {lowest}",
        f"{plural(len(evidence), 'value')} below {limit}" if evidence else "no value below min",
        evidence,
    )
