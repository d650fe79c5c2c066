"""``exercised``: the phases did what the scenario is about — each operation kind got at least
``min`` successful answers.

A check such as ``no_server_errors`` holds vacuously when the target refused every request
(401, 403, 422 …): nothing ran, so nothing could break. A scenario that exercised nothing must
not pass, and its other checks cannot tell the service is correct, so this check is an
``error`` (not a violation: the service may be right to refuse what the suite sent) naming the
operation, how many of its requests succeeded and what the target answered instead — the
message a user needs to fix the setup or the arguments. ``soakmon init`` and ``probe --save``
put it in every scenario they draft.
"""

from __future__ import annotations

from collections import Counter

from pydantic import Field

from monitor.suites.checks.context import CheckContext
from monitor.suites.checks.registry import CheckArgs, checker
from monitor.suites.checks.verdict import cap, plural, verdict
from monitor.suites.expressions.check_args import KindsArg, OpExprArg, Scope, select
from monitor.suites.results import CheckResult
from monitor.suites.results.history import Op

SAMPLES = 3


class ExercisedArgs(CheckArgs):
    kind: KindsArg | None = Field(
        None, description="operation kind(s), each judged alone; default: every kind of the phases"
    )
    where: OpExprArg | None = Field(None, description="only ops for which this is true")
    min: int = Field(1, ge=1, description="fewest ok answers per kind. Default: 1")


def _answered(ops: list[Op]) -> str:
    counts = Counter(
        f"{op.code} (HTTP {op.status})" if op.status is not None else op.code for op in ops
    )
    return ", ".join(f"{key}: {n}" for key, n in counts.most_common())


@checker("exercised", args=ExercisedArgs)
def exercised(ctx: CheckContext, args: ExercisedArgs) -> CheckResult:
    """Each operation kind got at least ``min`` ok answers; else an error naming the kind."""
    pool = select(ctx, args.kind, args.where, Scope.of(ctx))
    kinds = list(args.kind or dict.fromkeys(op.kind for op in pool))
    per_kind = {k: [op for op in pool if op.kind == k] for k in kinds}
    short = {k: ops for k, ops in per_kind.items() if sum(op.ok for op in ops) < args.min}
    expected = f"at least {plural(args.min, 'ok answer')} per operation ({', '.join(kinds)})"
    seen = "; ".join(f"{k}: {sum(op.ok for op in ops)} ok" for k, ops in per_kind.items())
    if not kinds:
        return CheckResult.error(
            "exercised", expected, "no operations in the phases: the scenario exercised nothing"
        )
    if not short:
        return verdict("exercised", True, expected, seen)
    lines = []
    evidence: list[str] = []
    for kind, ops in short.items():
        oks = sum(op.ok for op in ops)
        if not ops:
            lines.append(f"{kind}: no requests were sent in the phases")
            continue
        lines.append(
            f"{kind}: {oks} of {plural(len(ops), 'request')} succeeded (at least {args.min} "
            f"needed); the target answered {_answered([op for op in ops if not op.ok])}"
        )
        evidence += [op.describe() for op in ops if not op.ok][:SAMPLES]  # with the bodies
    message = (
        "; ".join(lines) + " — the scenario did not exercise what its checks judge (give its "
        "setup and arguments what the target accepts: parents, balances, valid references)"
    )
    result = CheckResult.error("exercised", expected, message, observed=seen)
    result.evidence = cap(evidence)
    return result
