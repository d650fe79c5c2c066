"""``realtime_order``: values stamped by the target respect real-time order of the ops.

If op a completed before op b was invoked (``History.precedes``), a's stamp (e.g. the task's
``completed_at``) must not be later than b's. Only ok ops have stamps.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from monitor.suites.checks.context import CheckContext
from monitor.suites.checks.registry import CheckArgs, checker
from monitor.suites.checks.verdict import plural, verdict
from monitor.suites.expressions.cel import show
from monitor.suites.expressions.check_args import CheckDataError, KindsArg, OpExprArg, Scope, select
from monitor.suites.results import CheckResult
from monitor.suites.results.history import Op


class RealtimeArgs(CheckArgs):
    kind: KindsArg
    value: OpExprArg = Field(
        "value.completed_at", validate_default=True, description="stamp (RFC 3339 or number)"
    )
    where: OpExprArg | None = Field(None, description="only ops for which this is true")


def _stamp(value: Any, what: str) -> float:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    elif isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise CheckDataError(f"{what} must be an RFC 3339 time or a number, got {show(value)}")


@checker("realtime_order", args=RealtimeArgs)
def realtime_order(ctx: CheckContext, args: RealtimeArgs) -> CheckResult:
    """For ok ops a, b with a completed before b was invoked: stamp(a) ≤ stamp(b)."""
    scope = Scope.of(ctx)
    ops = [
        op
        for op in select(ctx, args.kind, args.where, scope)
        if op.ok and op.completed_at is not None
    ]
    if not ops:
        raise CheckDataError(f"no ok {', '.join(args.kind)} ops in the phase")
    stamps = {
        op.id: _stamp(args.value.eval(scope.for_op(op)), f"{args.value} of op#{op.id}")
        for op in ops
    }
    by_completion = sorted(ops, key=lambda op: op.completed_at or 0.0)
    evidence: list[str] = []
    pairs = 0
    latest: Op | None = None  # the op with the largest stamp among those completed so far
    done = 0
    for b in sorted(ops, key=lambda op: op.invoked_at):
        while (
            done < len(by_completion) and (by_completion[done].completed_at or 0.0) < b.invoked_at
        ):
            a = by_completion[done]
            if latest is None or stamps[a.id] > stamps[latest.id]:
                latest = a
            done += 1
        pairs += done
        if latest is not None and stamps[latest.id] > stamps[b.id]:
            evidence.append(
                f"{latest.describe()} finished before {b.describe()} started, yet its "
                f"{args.value} is later ({show(args.value.eval(scope.for_op(latest)))} > "
                f"{show(args.value.eval(scope.for_op(b)))})"
            )
    return verdict(
        "realtime_order",
        not evidence,
        f"{args.value} follows real-time order",
        f"{plural(pairs, 'ordered pair')} of {plural(len(ops), 'op')}, "
        f"{plural(len(evidence), 'inversion')}",
        f"{plural(len(evidence), 'op')} stamped before an op that preceded it" if evidence else "",
        evidence,
    )
