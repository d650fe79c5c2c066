"""``no_server_errors``: the target answered no server error during the phase.

A server error is an HTTP 5xx, or an answer a profile rule declares one (``server_error: true``,
or the outcome ``server_error``: HTTP 200 with ``{"code": 500}``). It is a server error whatever
outcome the profile gives it: a rule that marks 5xx answers
``unknown: true`` rightly tells the state checks that the write may or may not have happened, but
the answer is still a failure of the service. This check (and the automatic verdict a scenario
gets when it saw server errors, see ``Scenario.server_errors``) makes such a service fail.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import Field

from monitor.suites.checks.context import CheckContext
from monitor.suites.checks.registry import CheckArgs, checker
from monitor.suites.checks.verdict import ops_evidence, plural, verdict
from monitor.suites.expressions.check_args import KindsArg, OpExprArg, Scope, select
from monitor.suites.results import CheckResult
from monitor.suites.results.history import Op


class NoServerErrorsArgs(CheckArgs):
    kind: KindsArg | None = Field(None, description="operation kind(s); default: every op")
    where: OpExprArg | None = Field(None, description="only ops for which this is true")
    max: int = Field(0, ge=0, description="most 5xx answers tolerated. Default: 0")
    allow: list[str] = Field(
        default_factory=list,
        description="outcome codes of 5xx answers that do not count (e.g. retry_later)",
    )


def status_summary(ops: Iterable[Op]) -> str:
    """``HTTP 500: 3, HTTP 503: 1`` (most frequent first); a server error in an HTTP 200
    envelope reads ``HTTP 200 server_error: 2``."""
    counts = Counter(
        f"HTTP {op.status}"
        if op.status is not None and op.status >= 500
        else f"HTTP {op.status} {op.code}"
        for op in ops
    )
    return ", ".join(f"{key}: {n}" for key, n in counts.most_common())


def server_error_ops(ops: Iterable[Op], allow: Iterable[str] = ()) -> list[Op]:
    """The ops the target answered with a server error (whose code is not in ``allow``)."""
    allowed = set(allow)
    return [op for op in ops if op.server_error and op.code not in allowed]


@checker("no_server_errors", args=NoServerErrorsArgs)
def no_server_errors(ctx: CheckContext, args: NoServerErrorsArgs) -> CheckResult:
    """No op got a server error (unknown or not): a server error is never a pass."""
    pool = select(ctx, args.kind, args.where, Scope.of(ctx))
    bad = server_error_ops(pool, args.allow)
    what = f"{', '.join(args.kind)} ops" if args.kind else "ops"
    limit = "no" if args.max == 0 else f"at most {args.max}"
    return verdict(
        "no_server_errors",
        len(bad) <= args.max,
        f"{limit} server errors (5xx) in {len(pool)} {what}",
        f"{plural(len(bad), 'server error')} ({status_summary(bad)})" if bad else "none",
        f"the target answered {plural(len(bad), 'request')} with a server error" if bad else "",
        ops_evidence(bad),
    )
