"""``conflict_detected``: of concurrent conditional updates on one version exactly one wins.

The others must get ``conflict_code`` (``version_conflict``); an unknown op may be the winner
only when no op is known to have won. With ``final`` + ``written``, the state read back must be
the winner's write.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Literal

from pydantic import Field, model_validator

from monitor.suites.checks.builtin.server_errors import status_summary
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
    hashable,
    select,
)
from monitor.suites.results import CheckResult
from monitor.suites.results.history import Op


class ConflictArgs(CheckArgs):
    kind: KindsArg = Field(description="the conditional update ops")
    key: OpExprArg | None = Field(None, description="groups ops racing on one version")
    conflict_code: str = "version_conflict"
    where: OpExprArg | None = Field(None, description="only ops for which this is true")
    final: ExprArg | None = Field(None, description="the value read back after the phase")
    written: OpExprArg | None = Field(None, description="what one op wrote (expression over op)")
    server_errors: Literal["refuse", "fit"] = Field(
        "refuse",
        description="refuse: a 5xx answer fails the check (it is neither a win nor a conflict); "
        "fit: an unknown 5xx may have been the winner. Default: refuse",
    )

    @model_validator(mode="after")
    def _pair(self) -> ConflictArgs:
        if (self.final is None) != (self.written is None):
            raise ValueError("'final' and 'written' go together")
        return self


@checker("conflict_detected", args=ConflictArgs)
def conflict_detected(ctx: CheckContext, args: ConflictArgs) -> CheckResult:
    """Exactly one conditional update per version succeeds, the rest conflict; final == winner."""
    scope = Scope.of(ctx)
    groups: dict[Hashable, list[Op]] = {}
    for op in select(ctx, args.kind, args.where, scope):
        key = hashable(args.key.eval(scope.for_op(op))) if args.key else None
        groups.setdefault(key, []).append(op)
    if not groups:
        raise CheckDataError(f"no {', '.join(args.kind)} ops in the phase")
    if args.final is not None and len(groups) > 1:
        raise CheckDataError("'final' needs all ops in one group (one object, one version)")
    problems: list[str] = []
    culprits: list[Op] = []
    winners: list[Op] = []
    for key, ops in groups.items():
        label = "" if key is None else f" (key {show(key)})"
        oks = [op for op in ops if op.ok]
        unknown = [op for op in ops if op.unknown]
        odd = [op for op in ops if op.failed and op.code != args.conflict_code]
        if args.server_errors == "refuse":
            fivexx = [op for op in ops if op.server_error]
            if fivexx:
                problems.append(
                    f"{plural(len(fivexx), 'server error')} ({status_summary(fivexx)}) instead "
                    f"of a win or {args.conflict_code}{label}"
                )
                culprits += fivexx
            odd = [op for op in odd if not op.server_error]
        if len(oks) > 1:
            problems.append(f"{len(oks)} of {len(ops)} conditional updates succeeded{label}")
            culprits += oks
        elif not oks and not unknown:
            problems.append(f"none of {len(ops)} conditional updates succeeded{label}")
            culprits += ops
        if odd:
            problems.append(
                f"{plural(len(odd), 'op')} failed with another code than "
                f"{args.conflict_code}{label}"
            )
            culprits += odd
        winners += oks or unknown
    observed_final = ""
    if args.final is not None and args.written is not None and not problems:
        final = args.final.eval(scope)
        candidates = {hashable(args.written.eval(scope.for_op(op))): op for op in winners}
        observed_final = f"; {args.final} = {show(final)}"
        if hashable(final) not in candidates:
            problems.append(f"{args.final} is {show(final)}, which no winning op wrote")
            culprits += winners
    counts = [sum(op.ok for op in ops) for ops in groups.values()]
    return verdict(
        "conflict_detected",
        not problems,
        f"exactly 1 winner per version, the rest {args.conflict_code}"
        + (", final state = the winner's write" if args.final else ""),
        f"winners per version: {counts}{observed_final}",
        "; ".join(problems) or "conflicts detected",
        ops_evidence(culprits),
    )
