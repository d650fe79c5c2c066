"""``retried_on_failure``: when ops of a kind did not succeed, the target's own retry counter
moved during the phase (its transient failures — deadlock or serialization victims — were
retried, not handed to the client at the first try).

The counter is a target metric read before and after the phase (a profile maps it under
``metrics``, e.g. ``tx_retries_total``; a scenario that needs it is not applicable without it).
No retry is no violation when every op succeeded: nothing may have deadlocked. The observed text
always says how many retries the target counted during the phase. Retries counted for other
traffic running at the same time are counted too: such a check can miss, never false-alarm.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from monitor.suites.checks.context import CheckContext
from monitor.suites.checks.registry import CheckArgs, checker
from monitor.suites.checks.verdict import ops_evidence, plural, verdict
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


class RetriedArgs(CheckArgs):
    kind: KindsArg
    before: ExprArg = Field(description="the target's retry counter before the phase")
    after: ExprArg = Field(description="the same counter after the phase")
    where: OpExprArg | None = Field(None, description="only ops for which this is true")


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CheckDataError(f"{what} must be a number, got {show(value)}")
    return float(value)


@checker("retried_on_failure", args=RetriedArgs)
def retried_on_failure(ctx: CheckContext, args: RetriedArgs) -> CheckResult:
    """Ops that did not succeed come with retries the target counted during the phase."""
    scope = Scope.of(ctx)
    before = _number(args.before.eval(scope), str(args.before))
    after = _number(args.after.eval(scope), str(args.after))
    retries = after - before
    if retries < 0:
        raise CheckDataError(
            f"{args.after} ({after:g}) is below {args.before} ({before:g}): the target restarted "
            "or the series is not a counter"
        )
    pool = select(ctx, args.kind, args.where, scope)
    failed = [op for op in pool if not op.ok]
    counted = f"the target counted {retries:g} retries during the phase"
    what = ", ".join(args.kind)
    observed = f"{counted}; {len(failed)} of {len(pool)} {what} ops did not succeed"
    passed = not failed or retries > 0
    return verdict(
        "retried_on_failure",
        passed,
        f"failed {what} ops come with target retries (none needed when all succeed)",
        observed,
        ""
        if passed
        else f"{plural(len(failed), 'op')} failed and the target retried nothing: its transient "
        "failures (deadlock victims) reach the client instead of being retried",
        ops_evidence(failed),
    )
